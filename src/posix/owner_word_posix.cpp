// SPDX-License-Identifier: MIT
// The POSIX pieces of the owner-word mutex (macOS, the BSDs; the portable build on Linux).
// A waiter sleeps through the wait seam (common/wait_backend.hpp: os_sync or __ulock on
// macOS, else a back-off) on a word that unlock() changes, in slices of at most 50 ms, and
// between slices asks kill(pid, 0) whether the owner's process still exists: no kernel wait
// here ends when its owner dies.
//
// PID reuse: once the owner is dead, its pid may be given to an unrelated process, which
// would then look like a live owner. While someone waits that cannot happen unnoticed: the
// waiter looks at least every 50 ms, and a pid is reused only after the whole pid space
// (99999 on macOS, 4 million on Linux) has been handed out. A lock abandoned with nobody
// waiting, whose pid is then reused before anyone asks, stays held until that unrelated
// process ends; try_lock_for() bounds the wait. Only a kernel-tracked owner (Linux robust
// futexes, Windows thread handles) closes that hole, and macOS has none for shared memory.
// A thread that exits holding the lock while its process lives on is not detected here.
//
// current_owner_id(): (pid << 32) | a per-process thread number, cached per thread because
// getpid(2) is a system call. fork(2) gives the child a new pid but a copy of the forking
// thread's cache, so a pthread_atfork(3) child handler clears it.

#include "common/fail.hpp"
#include "common/process_liveness.hpp"
#include "common/wait_backend.hpp"
#include "owner_word/owner_word.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <pthread.h>
#include <system_error>
#include <string>
#include <thread>
#include <unistd.h>

namespace interproc::detail {
namespace {

thread_local std::uint64_t cached_owner_id = 0;
std::atomic<std::uint32_t> next_thread_number{1};

void forget_identity_in_child() noexcept { cached_owner_id = 0; }

std::uint64_t new_owner_id() noexcept {
  static std::once_flag registered;
  std::call_once(registered, [] { ::pthread_atfork(nullptr, nullptr, &forget_identity_in_child); });
  const auto pid = static_cast<std::uint64_t>(::getpid());
  return (pid << 32) | next_thread_number.fetch_add(1, std::memory_order_relaxed);
}


}  // namespace

std::uint64_t current_owner_id() noexcept {
  if (cached_owner_id == 0) cached_owner_id = new_owner_id();
  return cached_owner_id;
}

bool owner_is_dead(std::uint64_t owner) noexcept {
  // A zombie counts as dead: its parent may be waiting for us before it reaps it.
  return process_has_ended(owner >> 32);
}

// A failed kernel wait (it has none it could meet) is one more slice: the caller looks again.
void wait_for_owner(native_handle, std::atomic<std::uint32_t>& released, std::uint32_t seen, std::uint64_t,
                    std::chrono::microseconds timeout) noexcept {
  try {
    sleep_on(released, invalid_handle, seen, Clock::now() + timeout);
  } catch (const std::system_error&) {
    std::this_thread::sleep_for(timeout);
  }
}

std::chrono::microseconds max_wait_slice() noexcept { return max_unwoken_sleep; }

ScopedHandle create_wake_handle(const std::string*) { return ScopedHandle(); }

ScopedHandle open_wake_handle(const std::string&) { return ScopedHandle(); }

ScopedHandle adopt_wake_handle(const std::vector<native_handle>& companions) {
  if (!companions.empty()) fail(errc::bad_handle_argument, "a POSIX owner-word mutex has no companion handle");
  return ScopedHandle();
}

void wake_one(native_handle, std::atomic<std::uint32_t>& released, std::uint32_t registered) noexcept {
  try {
    wake_sleepers(released, invalid_handle, 1, registered);
  } catch (const std::system_error&) {
    // A waiter looks again after its slice by itself.
  }
}

}  // namespace interproc::detail
