// SPDX-License-Identifier: MIT
#pragma once
// The seam under interproc::wait (common/wait_many.cpp): how each OS sleeps until one of
// several objects may be ready (posix/wait_many_posix.cpp, win32/wait_many_win.cpp), and
// what the queue's core (common/queue.cpp) offers it.

#include "common/deadline.hpp"

#include <interproc/wait.hpp>

#include <chrono>
#include <optional>
#include <vector>

namespace interproc::detail {

// The longest a wait sleeps between looks at objects it has no wake for.
inline constexpr std::chrono::milliseconds wait_slice{10};

struct WaitableAccess {
  static void set_index(Waitable& w, std::size_t index) noexcept { w.index_ = index; }
};

// Sleeps until one of `objects`, none of them ready when it was called, may be ready, or
// until `deadline`, or for at most `slice` if some object has no wake on this OS. Returns
// early at will; the caller looks again.
void sleep_on_any(const std::vector<Waitable>& objects, std::optional<Clock::time_point> deadline,
                  std::chrono::milliseconds slice);

// Whether pop() on the queue would not wait: it holds an item, or it is closed.
bool queue_ready(const QueueCore& core) noexcept;
// Sleeps on the queue's not-empty word until a push or close may have come, or `deadline`
// (at most max_unwoken_sleep, as every wait on a word).
void sleep_on_queue(const QueueCore& core, std::optional<Clock::time_point> deadline);
// The same look for a queue of encoded items or a JoinableQueue (common/record_queue.cpp).
bool record_queue_ready(const RecordQueueCore& core) noexcept;

}  // namespace interproc::detail
