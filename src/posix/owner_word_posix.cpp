// SPDX-License-Identifier: MIT
// The POSIX pieces of the owner-word mutex (macOS, the BSDs; the portable build on Linux).
// There is no process-shared wait primitive that survives its owner's death here, so a
// waiter sleeps in growing slices (50 us to 2 ms) and asks kill(pid, 0) whether the owner's
// process still exists.
//
// PID reuse: once the owner is dead, its pid may be given to an unrelated process, which
// would then look like a live owner. While someone waits that cannot happen unnoticed: the
// waiter looks at least every 2 ms, and a pid is reused only after the whole pid space
// (99999 on macOS, 4 million on Linux) has been handed out. A lock abandoned with nobody
// waiting, whose pid is then reused before anyone asks, stays held until that unrelated
// process ends; try_lock_for() bounds the wait. Only a kernel-tracked owner (Linux robust
// futexes, Windows thread handles) closes that hole, and macOS has none for shared memory.
// A thread that exits holding the lock while its process lives on is not detected here.

#include "common/owner_word.hpp"
#include "posix/process_self.hpp"

#include <cerrno>
#include <csignal>
#include <thread>

namespace interproc::detail {

bool owner_is_dead(std::uint64_t owner) noexcept {
  const auto pid = static_cast<pid_t>(owner >> 32);
  // EPERM means the process exists but belongs to another user: alive.
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  // kill() also succeeds on a zombie: a process that has exited but that its parent has not
  // reaped yet, maybe because the parent waits for us. Exited is dead, reaped or not.
  return process_is_zombie(pid);
}

void wait_for_owner(native_handle, std::uint64_t, std::chrono::microseconds timeout) noexcept {
  std::this_thread::sleep_for(timeout);
}

std::chrono::microseconds max_wait_slice() noexcept { return std::chrono::milliseconds(2); }

ScopedHandle create_wake_handle() { return ScopedHandle(); }

void wake_one(native_handle) noexcept {}

}  // namespace interproc::detail
