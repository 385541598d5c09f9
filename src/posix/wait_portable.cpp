// SPDX-License-Identifier: MIT
// Waiting on a word in shared memory where there is no Linux futex: macOS 14.4 and later
// have os_sync_wait_on_address(3) with OS_SYNC_WAIT_ON_ADDRESS_SHARED, which works between
// processes; older macOS, the BSDs and the portable build on Linux sleep in a bounded
// back-off (50 us doubling to 2 ms), looking at the word between sleeps.

#include "common/fail.hpp"
#include "common/wait_backend.hpp"

#include <algorithm>
#include <cerrno>
#include <thread>
#if defined(__APPLE__) && __has_include(<os/os_sync_wait_on_address.h>)
#include <os/os_sync_wait_on_address.h>
#define INTERPROC_HAVE_OS_SYNC 1
#endif

namespace interproc::detail {
namespace {

constexpr auto first_pause = std::chrono::microseconds(50);
constexpr auto longest_pause = std::chrono::microseconds(2000);

// One back-off step: the sleep grows with how long the word has been watched, kept per
// thread between the calls of one wait (reset once the word changed or a sleep ended early).
void back_off(std::atomic<std::uint32_t>& word, std::uint32_t expected, std::optional<Clock::time_point> deadline) {
  thread_local std::chrono::microseconds pause = first_pause;
  auto step = pause;
  if (deadline) step = std::min(step, std::chrono::ceil<std::chrono::microseconds>(*deadline - Clock::now()));
  if (step.count() > 0) std::this_thread::sleep_for(step);
  pause = word.load(std::memory_order_relaxed) == expected ? std::min(pause * 2, longest_pause) : first_pause;
}

#ifdef INTERPROC_HAVE_OS_SYNC
// os_sync_wait_on_address_with_timeout takes a relative timeout in nanoseconds; 0 would
// mean "no timeout", so a deadline already reached returns without sleeping. Only called
// under __builtin_available, as the attribute tells clang's availability checks.
__attribute__((availability(macos, introduced = 14.4))) void wait_on_address(
    std::atomic<std::uint32_t>& word, std::uint32_t expected, std::optional<Clock::time_point> deadline) {
  void* address = reinterpret_cast<void*>(&word);
  int result = 0;
  if (!deadline) {
    result = os_sync_wait_on_address(address, expected, sizeof(std::uint32_t), OS_SYNC_WAIT_ON_ADDRESS_SHARED);
  } else {
    const auto left = std::chrono::ceil<std::chrono::nanoseconds>(*deadline - Clock::now()).count();
    if (left <= 0) return;
    result =
        os_sync_wait_on_address_with_timeout(address, expected, sizeof(std::uint32_t), OS_SYNC_WAIT_ON_ADDRESS_SHARED,
                                             OS_CLOCK_MACH_ABSOLUTE_TIME, static_cast<std::uint64_t>(left));
  }
  if (result < 0 && errno != ETIMEDOUT && errno != EINTR && errno != EFAULT) {
    fail_errno(errno, "os_sync_wait_on_address");
  }
}
#endif

}  // namespace

void sleep_on(std::atomic<std::uint32_t>& word, native_handle, std::uint32_t expected,
              std::optional<Clock::time_point> deadline) {
#ifdef INTERPROC_HAVE_OS_SYNC
  if (__builtin_available(macOS 14.4, *)) return wait_on_address(word, expected, deadline);
#endif
  back_off(word, expected, deadline);
}

void wake_sleepers(std::atomic<std::uint32_t>& word, native_handle, std::uint32_t count, std::uint32_t) {
#ifdef INTERPROC_HAVE_OS_SYNC
  if (__builtin_available(macOS 14.4, *)) {
    void* address = reinterpret_cast<void*>(&word);
    const int result =
        count == 1 ? os_sync_wake_by_address_any(address, sizeof(std::uint32_t), OS_SYNC_WAKE_BY_ADDRESS_SHARED)
                   : os_sync_wake_by_address_all(address, sizeof(std::uint32_t), OS_SYNC_WAKE_BY_ADDRESS_SHARED);
    // ENOENT: nobody was waiting any more.
    if (result < 0 && errno != ENOENT) fail_errno(errno, "os_sync_wake_by_address");
    return;
  }
#endif
  (void)word;
  (void)count;  // back-off sleepers look at the word by themselves
}

}  // namespace interproc::detail
