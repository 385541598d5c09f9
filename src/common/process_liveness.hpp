// SPDX-License-Identifier: MIT
#pragma once
// Whether another process still runs, by process id: what JoinableQueue::join asks of the
// consumers that hold items they never marked done, the barrier of its parties, and the
// POSIX owner word of a lock's owner.

#include <cstdint>

namespace interproc::detail {

// This process's id (POSIX getpid(2) / Windows GetCurrentProcessId), never 0.
std::uint64_t current_process_id() noexcept;

// True only if process `pid` has certainly ended (a zombie that its parent has not reaped
// yet counts as ended). A pid the OS has since given to a new process counts as running.
bool process_has_ended(std::uint64_t pid) noexcept;

}  // namespace interproc::detail
