// SPDX-License-Identifier: MIT
#pragma once
// Deadlines that never overflow: a timeout too long for the clock means "no deadline".

#include <algorithm>
#include <chrono>
#include <optional>

namespace interproc::detail {

using Clock = std::chrono::steady_clock;

// `timeout` from now (negative counts as 0), or std::nullopt where the clock cannot count
// that far (milliseconds::max(), or years): such a wait lasts as long as it takes.
inline std::optional<Clock::time_point> deadline_after(std::chrono::milliseconds timeout) noexcept {
  if (timeout == std::chrono::milliseconds::max()) return std::nullopt;  // no clock read for a blocking call
  const Clock::time_point now = Clock::now();
  const auto reachable = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now);
  if (timeout >= reachable) return std::nullopt;
  return now + std::max(timeout, std::chrono::milliseconds(0));
}

}  // namespace interproc::detail
