// SPDX-License-Identifier: MIT
// Linux: waiting on a word in shared memory is a futex(2) without FUTEX_PRIVATE_FLAG, which
// the kernel keys on the page's backing object, so it works between processes mapping the
// same segment at different addresses. FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC
// deadline (steady_clock), so a wait interrupted by a signal resumes without drifting. Each
// sleep ends by max_unwoken_sleep at the latest: a waker killed between its change and its
// FUTEX_WAKE must not leave the sleepers beside a value they no longer wait for.

#include "common/fail.hpp"
#include "common/wait_backend.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace interproc::detail {
namespace {

long futex(std::atomic<std::uint32_t>& word, int op, std::uint32_t value, const timespec* deadline,
           std::uint32_t mask) noexcept {
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op, value, deadline, nullptr, mask);
}

timespec monotonic(Clock::time_point deadline) noexcept {
  const auto ns = std::max<std::chrono::nanoseconds::rep>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count(), 0);
  return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

}  // namespace

void sleep_on(std::atomic<std::uint32_t>& word, native_handle, std::uint32_t expected,
              std::optional<Clock::time_point> deadline) {
  const Clock::time_point cap = Clock::now() + max_unwoken_sleep;
  const timespec until = monotonic(deadline ? std::min(*deadline, cap) : cap);
  // EAGAIN: the value had changed; ETIMEDOUT and EINTR: the caller looks again.
  if (futex(word, FUTEX_WAIT_BITSET, expected, &until, FUTEX_BITSET_MATCH_ANY) != 0 && errno != EAGAIN &&
      errno != ETIMEDOUT && errno != EINTR) {
    fail_errno(errno, "futex(FUTEX_WAIT_BITSET)");
  }
}

void wake_sleepers(std::atomic<std::uint32_t>& word, native_handle, std::uint32_t count, std::uint32_t) {
  const auto n = static_cast<std::uint32_t>(std::min<std::uint32_t>(count, INT_MAX));
  if (futex(word, FUTEX_WAKE, n, nullptr, 0) < 0) fail_errno(errno, "futex(FUTEX_WAKE)");
}

}  // namespace interproc::detail
