// SPDX-License-Identifier: MIT
// Waiting on a word in shared memory where there is no Linux futex. The kernel waits are
// found at run time, once, with dlsym(RTLD_DEFAULT, ...), so that one binary built for an
// old macOS uses the best wait the running system has:
//  - macOS 14.4 and later: os_sync_wait_on_address_with_timeout / os_sync_wake_by_address_*
//    with the SHARED flags (Apple's <os/os_sync_wait_on_address.h>), which work between
//    processes;
//  - macOS 10.12 to 14.3: __ulock_wait / __ulock_wake with UL_COMPARE_AND_WAIT_SHARED (XNU
//    bsd/sys/ulock.h; in libSystem since 10.12, where libc++'s std::atomic::wait uses it);
//  - anything else (the BSDs, the portable build on Linux without tests/macos_sim): a
//    bounded back-off, 50 us doubling to 2 ms, looking at the word between sleeps.
// The portable build on Linux probes the same way, so under the tests/macos_sim layer,
// which supplies these functions over a shared futex, the code macOS runs really runs.
// Each kernel sleep lasts at most 50 ms: a waiter whose waker died between changing the
// word and waking it looks again by itself, as every caller re-checks.

#include "common/fail.hpp"
#include "common/wait_backend.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <dlfcn.h>
#include <thread>

namespace interproc::detail {
namespace {

// Apple's <os/os_sync_wait_on_address.h> (macOS 14.4) and <os/clock.h>; declared here because
// older SDKs lack the header.
constexpr std::uint32_t os_sync_wait_on_address_shared = 0x1;  // OS_SYNC_WAIT_ON_ADDRESS_SHARED
constexpr std::uint32_t os_sync_wake_by_address_shared = 0x1;  // OS_SYNC_WAKE_BY_ADDRESS_SHARED
constexpr std::uint32_t os_clock_mach_absolute_time = 32;      // OS_CLOCK_MACH_ABSOLUTE_TIME
// The timeout is relative, in nanoseconds of that clock; 0 is refused (EINVAL).
using OsSyncWaitWithTimeout = int (*)(void* address, std::uint64_t value, std::size_t size, std::uint32_t flags,
                                      std::uint32_t clock, std::uint64_t timeout_ns);
using OsSyncWake = int (*)(void* address, std::size_t size, std::uint32_t flags);

// XNU bsd/sys/ulock.h: the operation is UL_COMPARE_AND_WAIT_SHARED (3) plus flags; the wait's
// timeout is in microseconds, 0 meaning none; ULF_WAKE_ALL (0x100) wakes every waiter. Both
// return -1 with errno: ETIMEDOUT, EINTR; a wake with nobody waiting is ENOENT.
constexpr std::uint32_t ul_compare_and_wait_shared = 3;
constexpr std::uint32_t ulf_wake_all = 0x100;
using UlockWait = int (*)(std::uint32_t operation, void* address, std::uint64_t value, std::uint32_t timeout_us);
using UlockWake = int (*)(std::uint32_t operation, void* address, std::uint64_t wake_value);

struct KernelWait {
  OsSyncWaitWithTimeout os_sync_wait = nullptr;
  OsSyncWake os_sync_wake_any = nullptr;
  OsSyncWake os_sync_wake_all = nullptr;
  UlockWait ulock_wait = nullptr;
  UlockWake ulock_wake = nullptr;

  bool os_sync() const noexcept { return os_sync_wait && os_sync_wake_any && os_sync_wake_all; }
  bool ulock() const noexcept { return ulock_wait && ulock_wake; }
};

template <typename Function>
Function find_function(const char* name) noexcept {
  static_assert(sizeof(Function) == sizeof(void*));
  void* symbol = ::dlsym(RTLD_DEFAULT, name);
  Function function = nullptr;
  std::memcpy(&function, &symbol, sizeof function);
  return function;
}

const KernelWait& kernel_wait() noexcept {
  static const KernelWait found = [] {
    KernelWait k;
    k.os_sync_wait = find_function<OsSyncWaitWithTimeout>("os_sync_wait_on_address_with_timeout");
    k.os_sync_wake_any = find_function<OsSyncWake>("os_sync_wake_by_address_any");
    k.os_sync_wake_all = find_function<OsSyncWake>("os_sync_wake_by_address_all");
    k.ulock_wait = find_function<UlockWait>("__ulock_wait");
    k.ulock_wake = find_function<UlockWake>("__ulock_wake");
    return k;
  }();
  return found;
}

constexpr auto first_pause = std::chrono::microseconds(50);
constexpr auto longest_pause = std::chrono::microseconds(2000);

// How long one kernel sleep may last: until the deadline, at most max_unwoken_sleep;
// zero when the deadline has passed.
std::chrono::nanoseconds kernel_sleep(std::optional<Clock::time_point> deadline) {
  std::chrono::nanoseconds left = max_unwoken_sleep;
  if (deadline) left = std::min(left, std::chrono::ceil<std::chrono::nanoseconds>(*deadline - Clock::now()));
  return std::max(left, std::chrono::nanoseconds(0));
}

void os_sync_sleep(const KernelWait& k, std::atomic<std::uint32_t>& word, std::uint32_t expected,
                   std::chrono::nanoseconds left) {
  const int result = k.os_sync_wait(&word, expected, sizeof(std::uint32_t), os_sync_wait_on_address_shared,
                                    os_clock_mach_absolute_time, static_cast<std::uint64_t>(left.count()));
  // ETIMEDOUT, EINTR: the caller looks again; EFAULT: the word is gone, as for the futex.
  if (result < 0 && errno != ETIMEDOUT && errno != EINTR && errno != EFAULT) {
    fail_errno(errno, "os_sync_wait_on_address_with_timeout");
  }
}

void ulock_sleep(const KernelWait& k, std::atomic<std::uint32_t>& word, std::uint32_t expected,
                 std::chrono::nanoseconds left) {
  const auto us =
      std::max<std::chrono::microseconds::rep>(std::chrono::ceil<std::chrono::microseconds>(left).count(), 1);
  const int result = k.ulock_wait(ul_compare_and_wait_shared, &word, expected, static_cast<std::uint32_t>(us));
  if (result < 0 && errno != ETIMEDOUT && errno != EINTR && errno != EFAULT) fail_errno(errno, "__ulock_wait");
}

// One back-off step: the sleep grows with how long the word has been watched, kept per
// thread between the calls of one wait (reset once the word changed or a sleep ended early).
void back_off(std::atomic<std::uint32_t>& word, std::uint32_t expected, std::optional<Clock::time_point> deadline) {
  thread_local std::chrono::microseconds pause = first_pause;
  auto step = pause;
  if (deadline) step = std::min(step, std::chrono::ceil<std::chrono::microseconds>(*deadline - Clock::now()));
  if (step.count() > 0) std::this_thread::sleep_for(step);
  pause = word.load(std::memory_order_relaxed) == expected ? std::min(pause * 2, longest_pause) : first_pause;
}

// A wake that found nobody (ENOENT) or was interrupted (EINTR: tried again) is no error.
template <typename Wake>
void wake_checked(Wake wake, const char* what) {
  int result = 0;
  do {
    result = wake();
  } while (result < 0 && errno == EINTR);
  if (result < 0 && errno != ENOENT) fail_errno(errno, what);
}

}  // namespace

void sleep_on(std::atomic<std::uint32_t>& word, native_handle, std::uint32_t expected,
              std::optional<Clock::time_point> deadline) {
  const KernelWait& k = kernel_wait();
  if (!k.os_sync() && !k.ulock()) return back_off(word, expected, deadline);
  const auto left = kernel_sleep(deadline);
  if (left.count() == 0) return;
  if (k.os_sync()) return os_sync_sleep(k, word, expected, left);
  ulock_sleep(k, word, expected, left);
}

// Wakes `count` sleepers one by one (os_sync_wake_by_address_any, or __ulock_wake without
// ULF_WAKE_ALL), or all of them at once when that is as many as are registered.
void wake_sleepers(std::atomic<std::uint32_t>& word, native_handle, std::uint32_t count, std::uint32_t registered) {
  const KernelWait& k = kernel_wait();
  if (!k.os_sync() && !k.ulock()) return;  // back-off sleepers look at the word by themselves
  void* address = &word;
  const bool all = count >= registered;
  const std::uint32_t times = all ? 1 : count;
  for (std::uint32_t i = 0; i < times; ++i) {
    if (k.os_sync()) {
      const OsSyncWake wake = all ? k.os_sync_wake_all : k.os_sync_wake_any;
      wake_checked([&] { return wake(address, sizeof(std::uint32_t), os_sync_wake_by_address_shared); },
                   "os_sync_wake_by_address");
    } else {
      const std::uint32_t operation = ul_compare_and_wait_shared | (all ? ulf_wake_all : 0);
      wake_checked([&] { return k.ulock_wake(operation, address, 0); }, "__ulock_wake");
    }
  }
}

}  // namespace interproc::detail
