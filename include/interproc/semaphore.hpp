// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// InterprocessSemaphore: a counting semaphore shared by processes, like
/// std::counting_semaphore and Python's multiprocessing.Semaphore.
#include <interproc/export.hpp>
#include <interproc/timeouts.hpp>
#include <interproc/waiting_object.hpp>

#include <chrono>
#include <cstdint>
#include <string_view>

namespace interproc {

/// A counting semaphore shared by processes. A process that dies holding units it acquired
/// keeps them, as with Python's multiprocessing.Semaphore: the count is shared memory, and
/// nothing records who took what. A waiter that dies while waiting blocks nobody. Move-only.
/// Pass it to a child with spawn_child, or share it by name.
class INTERPROC_EXPORT InterprocessSemaphore : public detail::WaitingObject {
 public:
  /// The largest count a semaphore holds.
  static constexpr std::uint32_t max() noexcept { return 0x7fffffff; }

  /// A new semaphore holding `initial` units (at most max(): errc::count_overflow beyond).
  static InterprocessSemaphore create(std::uint32_t initial);
  /// A new semaphore under `name` (the rules of InterprocessEvent::create_named).
  static InterprocessSemaphore create_named(std::string_view name, std::uint32_t initial,
                                            NameLifetime lifetime = NameLifetime::persistent);
  /// Python's BoundedSemaphore: a new semaphore holding `initial` units that never holds
  /// more: a release() past `initial` throws errc::count_overflow, adding nothing.
  static InterprocessSemaphore create_bounded(std::uint32_t initial);
  /// A bounded semaphore (as create_bounded) under `name`.
  static InterprocessSemaphore create_named_bounded(std::string_view name, std::uint32_t initial,
                                                    NameLifetime lifetime = NameLifetime::persistent);
  /// The semaphore `name` (the errors of InterprocessEvent::open_named), bounded or not.
  static InterprocessSemaphore open_named(std::string_view name);
  /// The semaphore `name`, made holding `initial` units if there is none (the race-free
  /// rules of SharedSegment::open_or_create; one found keeps its count and limit()).
  static InterprocessSemaphore open_or_create(std::string_view name, std::uint32_t initial);
  /// Removes the name; true if there was one.
  static bool remove_named(std::string_view name);

  /// Takes one unit, waiting until there is one.
  void acquire();
  /// Takes one unit if there is one now.
  bool try_acquire();
  /// Takes one unit if there is one within `timeout` (milliseconds::max(): no limit).
  bool try_acquire_for(std::chrono::milliseconds timeout);
  /// try_acquire_for() with a duration of any type, rounded up to whole milliseconds.
  template <class Rep, class Period>
  bool try_acquire_for(std::chrono::duration<Rep, Period> timeout) {
    return try_acquire_for(detail::saturated_milliseconds(timeout));
  }
  /// Takes one unit if there is one before `deadline`, on the deadline's own clock.
  template <class Clock, class Duration>
  bool try_acquire_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return detail::retry_until(deadline, [this](std::chrono::milliseconds left) { return try_acquire_for(left); });
  }
  /// Adds `units` and wakes as many waiters (a releaser that dies before that delays them by
  /// 50 ms at most: no sleep lasts longer without a look at the count). Throws errc::count_overflow, adding nothing,
  /// if the count would pass limit().
  void release(std::uint32_t units = 1);
  /// The count now (for diagnostics: it may change at once).
  std::uint32_t value() const;
  /// The most it holds: its initial count if it was made bounded, else max().
  std::uint32_t limit() const;

 private:
  friend struct detail::WaitAccess;
  using WaitingObject::WaitingObject;
};

}  // namespace interproc
