// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// InterprocessEvent: Python's multiprocessing.Event, between processes.
#include <interproc/export.hpp>
#include <interproc/timeouts.hpp>
#include <interproc/waiting_object.hpp>

#include <chrono>
#include <string_view>

namespace interproc {

/// A manual-reset event shared by processes: set() wakes every waiter and keeps the event
/// set until clear(). Starts clear. A waiter that dies while waiting never blocks set() or
/// the other waiters; a setter that dies inside set() delays them by 50 ms at most (no
/// sleep lasts longer without a look at the event). Move-only. Pass it to a child with spawn_child, or share it by
/// name.
class INTERPROC_EXPORT InterprocessEvent : public detail::WaitingObject {
 public:
  /// A new, clear event. Throws std::system_error when the OS refuses memory or handles.
  static InterprocessEvent create();
  /// A new, clear event under `name`, created exclusively and for the current user only,
  /// with the name rules of SharedSegment::create_named (std::errc::file_exists if taken),
  /// and its `lifetime` (NameLifetime).
  static InterprocessEvent create_named(std::string_view name, NameLifetime lifetime = NameLifetime::persistent);
  /// The event `name` (std::errc::no_such_file_or_directory if none; errc::not_ready while
  /// its creator is still making it; errc::foreign_object if it is not an event).
  static InterprocessEvent open_named(std::string_view name);
  /// The event `name`, made if there is none (the race-free rules of
  /// SharedSegment::open_or_create).
  static InterprocessEvent open_or_create(std::string_view name);
  /// Removes the name, as SharedSegment::remove_named does; true if there was one.
  static bool remove_named(std::string_view name);

  /// Sets the event and wakes every waiter, also when it was set already.
  void set();
  /// Clears the event.
  void clear();
  /// Whether the event is set now.
  bool is_set() const;
  /// Blocks until the event is set.
  void wait();
  /// True if the event was set within `timeout` (milliseconds::max() and beyond: no limit).
  bool wait_for(std::chrono::milliseconds timeout);
  /// wait_for() with a duration of any type, rounded up to whole milliseconds.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) {
    return wait_for(detail::saturated_milliseconds(timeout));
  }
  /// True if the event was set before `deadline`, on the deadline's own clock.
  template <class Clock, class Duration>
  bool wait_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return detail::retry_until(deadline, [this](std::chrono::milliseconds left) { return wait_for(left); });
  }

 private:
  friend struct detail::WaitAccess;
  using WaitingObject::WaitingObject;
};

}  // namespace interproc
