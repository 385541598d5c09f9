// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// How every timed call of interproc reads its timeout (an implementation detail of the
/// templates that take durations and time points of any clock).

#include <chrono>

namespace interproc::detail {

// `d` in whole milliseconds, rounded up; negative is 0, and a duration beyond
// milliseconds::max() saturates there (which waits as long as it takes) instead of overflowing.
template <class Rep, class Period>
std::chrono::milliseconds saturated_milliseconds(std::chrono::duration<Rep, Period> d) noexcept {
  using Milliseconds = std::chrono::duration<long double, std::milli>;
  const long double ms = std::chrono::duration_cast<Milliseconds>(d).count();
  if (!(ms > 0)) return std::chrono::milliseconds(0);
  if (ms >= static_cast<long double>(std::chrono::milliseconds::max().count() - 1))
    return std::chrono::milliseconds::max();
  return std::chrono::ceil<std::chrono::milliseconds>(d);
}

// Until `deadline` on its own clock (steady_clock, system_clock, ...): calls attempt(left)
// with the time left, looked at again after each unsuccessful attempt, as the standard asks
// of clocks that may jump; once the deadline has passed, one last attempt(0).
template <class Clock, class Duration, class Attempt>
bool retry_until(const std::chrono::time_point<Clock, Duration>& deadline, Attempt attempt) {
  using Seconds = std::chrono::duration<long double>;
  for (;;) {
    const Seconds left = Seconds(deadline.time_since_epoch()) - Seconds(Clock::now().time_since_epoch());
    if (!(left > Seconds::zero())) return attempt(std::chrono::milliseconds(0));
    if (attempt(saturated_milliseconds(left))) return true;
  }
}

}  // namespace interproc::detail
