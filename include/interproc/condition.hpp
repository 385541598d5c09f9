// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// InterprocessCondition: a condition variable shared by processes, used with an
/// InterprocessMutex like std::condition_variable_any (Python's multiprocessing.Condition).
#include <interproc/export.hpp>
#include <interproc/timeouts.hpp>
#include <interproc/waiting_object.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <string_view>

namespace interproc {

/// A condition variable shared by processes. wait() takes any lock over an
/// InterprocessMutex (std::unique_lock<InterprocessMutex>, std::lock_guard is not one): it
/// releases the lock while it sleeps and holds it again when it returns, also when it
/// throws. Wake-ups may be spurious, as with std::condition_variable: wait with a
/// predicate. Nothing of the mutex's address is kept, so unlike a process-shared
/// pthread_cond it works wherever each process maps the mutex. A waiter that dies never
/// blocks notify or the other waiters; a notifier that dies inside notify_*() delays them
/// by 50 ms at most (no sleep lasts longer without a look at the condition). Move-only. Pass it to a child with
/// spawn_child, or share it by name.
class INTERPROC_EXPORT InterprocessCondition : public detail::WaitingObject {
 public:
  /// A new condition. Throws std::system_error when the OS refuses memory or handles.
  static InterprocessCondition create();
  /// A new condition under `name` (the rules of InterprocessEvent::create_named).
  static InterprocessCondition create_named(std::string_view name, NameLifetime lifetime = NameLifetime::persistent);
  /// The condition `name` (the errors of InterprocessEvent::open_named).
  static InterprocessCondition open_named(std::string_view name);
  /// The condition `name`, made if there is none (the race-free rules of
  /// SharedSegment::open_or_create).
  static InterprocessCondition open_or_create(std::string_view name);
  /// Removes the name; true if there was one.
  static bool remove_named(std::string_view name);

  /// Wakes one waiter, if any is waiting (more only after a waiter died while waiting).
  void notify_one();
  /// Wakes every waiter.
  void notify_all();

  /// Releases `lock`, sleeps until notified (or spuriously), then locks it again.
  template <class Lock>
  void wait(Lock& lock) {
    sleep(lock, std::chrono::milliseconds::max());
  }
  /// Waits until pred() holds, checked under the lock.
  template <class Lock, class Predicate>
  void wait(Lock& lock, Predicate pred) {
    while (!pred()) wait(lock);
  }
  /// Waits at most `timeout`: std::cv_status::timeout if it passed first.
  template <class Lock, class Rep, class Period>
  std::cv_status wait_for(Lock& lock, std::chrono::duration<Rep, Period> timeout) {
    return sleep(lock, detail::saturated_milliseconds(timeout));
  }
  /// Waits until pred() holds or `timeout` passed; returns pred() at the end.
  template <class Lock, class Rep, class Period, class Predicate>
  bool wait_for(Lock& lock, std::chrono::duration<Rep, Period> timeout, Predicate pred) {
    using Seconds = std::chrono::duration<long double>;  // no overflow, however long the timeout
    const std::chrono::time_point<std::chrono::steady_clock, Seconds> now = std::chrono::steady_clock::now();
    return wait_until(lock, now + Seconds(timeout), pred);
  }
  /// Waits until notified or `deadline`, on the deadline's own clock.
  template <class Lock, class Clock, class Duration>
  std::cv_status wait_until(Lock& lock, const std::chrono::time_point<Clock, Duration>& deadline) {
    const bool woken = detail::retry_until(deadline, [&](std::chrono::milliseconds left) {
      return left.count() > 0 && sleep(lock, left) == std::cv_status::no_timeout;
    });
    return woken ? std::cv_status::no_timeout : std::cv_status::timeout;
  }
  /// Waits until pred() holds or `deadline`; returns pred() at the end.
  template <class Lock, class Clock, class Duration, class Predicate>
  bool wait_until(Lock& lock, const std::chrono::time_point<Clock, Duration>& deadline, Predicate pred) {
    while (!pred()) {
      if (wait_until(lock, deadline) == std::cv_status::timeout) return pred();
    }
    return true;
  }

 private:
  friend struct detail::WaitAccess;
  using WaitingObject::WaitingObject;

  // Holds the lock again on every way out of sleep(), as the standard's condition variables do.
  template <class Lock>
  struct Relock {
    Lock& lock;
    ~Relock() { lock.lock(); }
  };

  template <class Lock>
  std::cv_status sleep(Lock& lock, std::chrono::milliseconds timeout) {
    const std::uint32_t ticket = take_ticket();
    lock.unlock();
    Relock<Lock> relock{lock};
    return sleep_on_ticket(ticket, timeout) ? std::cv_status::no_timeout : std::cv_status::timeout;
  }
  // Registers the caller as a waiter, under the lock; sleep_on_ticket() returns once a
  // notification granted it a ticket (true), or false when `timeout` passed first.
  std::uint32_t take_ticket() const;
  bool sleep_on_ticket(std::uint32_t ticket, std::chrono::milliseconds timeout);
};

}  // namespace interproc
