// SPDX-License-Identifier: MIT
// POSIX waits need nothing beside the shared words (futex, os_sync_wait_on_address or
// back-off): no object has companion handles here.

#include "common/fail.hpp"
#include "common/wait_backend.hpp"

namespace interproc::detail {

ScopedHandle create_companion(const std::string*, int) { return ScopedHandle(); }
ScopedHandle open_companion(const std::string&, int) { return ScopedHandle(); }
std::size_t companions_for(std::size_t) noexcept { return 0; }

std::vector<ScopedHandle> adopt_companions(const std::vector<native_handle>& handles, std::size_t) {
  if (!handles.empty()) fail(errc::bad_handle_argument, "a POSIX object has no companion handles");
  return {};
}

}  // namespace interproc::detail
