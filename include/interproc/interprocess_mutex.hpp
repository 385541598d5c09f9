// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// InterprocessMutex: a lock shared by processes that survives the death of its owner.
#include <interproc/export.hpp>
#include <interproc/name_lifetime.hpp>
#include <interproc/timeouts.hpp>

#include <chrono>
#include <ratio>
#include <string_view>

namespace interproc {

namespace detail {
struct MutexAccess;
struct MutexState;
}

/// What lock() found. owner_died: the caller holds the lock now, but an owner (a thread or a
/// whole process) ended while holding it, so the data it guards may be half-written: repair
/// it, then call mark_consistent(). Until a holder does, every locker is told owner_died, so
/// the report cannot vanish with a holder that released the lock without acting on it (as
/// std::lock and std::scoped_lock do when they back off). The mutex works normally meanwhile.
enum class LockResult { acquired, owner_died };


/// A lock shared by processes, living in its own small shared segment. It is owned by a
/// thread, like std::mutex: threads of one process exclude each other as processes do.
/// Satisfies Lockable and TimedLockable, so std::lock_guard, std::unique_lock (with durations
/// and time points of any clock) and std::scoped_lock work.
/// A dead owner never causes a deadlock: the next locker takes over and is told.
/// Move-only; a moved-from mutex must not be used (checked with GSL Expects). Destroying a
/// mutex that a thread of this process still holds is safe: Linux keeps its memory mapped
/// until the process ends, so that the holder's end is still reported to the next locker.
/// Errors: locking again from the owning thread throws std::system_error with
/// errc::recursive_lock; unlocking a mutex the thread does not hold throws errc::not_owner
/// (when detection is cheap: always on Linux and Windows, see the README).
class INTERPROC_EXPORT InterprocessMutex {
 public:
  /// A new, unlocked mutex. Throws std::system_error when the OS refuses memory or handles.
  static InterprocessMutex create();

  /// A new, unlocked mutex that unrelated processes find by `name` (multiprocessing.Lock with
  /// a name), created exclusively and usable by the current user only. Names follow
  /// SharedSegment's rules and share their namespace: 1..max_name_length characters of
  /// [A-Za-z0-9._-]. A holder's death is reported to the next locker as for create(). The
  /// name lives on until remove_named() (Windows: until its last handle closes), or with
  /// NameLifetime::creator until its creator ends as well.
  /// Throws std::system_error: errc::invalid_name / errc::name_too_long,
  /// std::errc::file_exists when the name is taken, or the OS error with the call named.
  static InterprocessMutex create_named(std::string_view name, NameLifetime lifetime = NameLifetime::persistent);

  /// The existing named mutex `name`, as create_named() made it.
  /// Throws std::system_error: errc::invalid_name / errc::name_too_long,
  /// std::errc::no_such_file_or_directory when there is none, errc::not_ready while its
  /// creator is still making it, errc::foreign_object for an object that is not a mutex of
  /// this build (a plain segment, one that another user owns or others can write), or the OS
  /// error with the call named.
  static InterprocessMutex open_named(std::string_view name);

  /// The named mutex `name`, made unlocked if there is none (the race-free rules of
  /// SharedSegment::open_or_create).
  static InterprocessMutex open_or_create(std::string_view name);

  /// Removes the name; processes that have the mutex keep using it. True if a mutex (or
  /// segment) of that name existed. On Windows a named mutex lives as long as one handle to it
  /// does, so this only reports whether one is open. Throws std::system_error with
  /// errc::invalid_name / errc::name_too_long, or the OS error with the call named.
  static bool remove_named(std::string_view name);

  /// Takes over `other`'s lock, which must not be used afterwards.
  InterprocessMutex(InterprocessMutex&& other) noexcept;
  /// Releases this mutex's resources and takes over `other`'s lock.
  InterprocessMutex& operator=(InterprocessMutex&& other) noexcept;
  InterprocessMutex(const InterprocessMutex&) = delete;
  InterprocessMutex& operator=(const InterprocessMutex&) = delete;
  /// Releases this process's hold on the lock's memory and handles.
  ~InterprocessMutex();

  /// Blocks until the calling thread holds the lock.
  LockResult lock();
  /// True if the lock was taken (also when its owner had died: see previous_owner_died()).
  bool try_lock();
  /// Timeouts of any length: milliseconds::max() and beyond wait as long as it takes.
  bool try_lock_for(std::chrono::milliseconds timeout);
  /// try_lock_for() with a duration of any type, rounded up to whole milliseconds.
  template <class Rep, class Period>
  bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
    return try_lock_for(detail::saturated_milliseconds(timeout));
  }
  /// Until `deadline` on its own clock (steady_clock, system_clock, ...), looked at again
  /// after each wait, as the standard asks of clocks that may jump.
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return detail::retry_until(deadline, [this](std::chrono::milliseconds left) { return try_lock_for(left); });
  }
  /// Releases the lock the calling thread holds.
  void unlock();

  /// Valid while the calling thread holds the lock: whether an owner died holding it and
  /// no holder has called mark_consistent() since (what lock() returned as owner_died).
  bool previous_owner_died() const noexcept { return previous_owner_died_; }
  /// Declares the guarded data repaired: ends the owner-death report for later lockers.
  /// Only the holder may call it (errc::not_owner otherwise).
  void mark_consistent();

 private:
  friend struct detail::MutexAccess;
  explicit InterprocessMutex(detail::MutexState* state) noexcept : state_(state) {}

  detail::MutexState* state_;  // owned: the shared lock words and what the OS pairs with them; null once moved from
  bool previous_owner_died_ = false;
};

}  // namespace interproc
