// SPDX-License-Identifier: MIT
// NameLifetime::creator on Windows: nothing to do. A named section, event or semaphore is
// a kernel object that exists exactly as long as a handle to it does (CloseHandle: "the
// object is deleted when its last handle has been closed"), and a process that ends, however
// it ends, has its handles closed by the system. So every name already goes with the last
// process that holds it; no watcher is needed.

#include "common/name_tracker.hpp"

namespace interproc::detail {

void track_segment_name(const std::string&) {}
void forget_segment_name(const std::string&) noexcept {}
void drop_inherited_name_watcher() noexcept {}
int watch_names() { return 64; }  // never started on Windows: exit_bad_child_argument

}  // namespace interproc::detail
