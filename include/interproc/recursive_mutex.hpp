// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// InterprocessRecursiveMutex: Python's multiprocessing.RLock and Boost's
/// interprocess_recursive_mutex, with InterprocessMutex's owner-death report.
#include <interproc/export.hpp>
#include <interproc/interprocess_mutex.hpp>
#include <interproc/timeouts.hpp>

#include <chrono>
#include <cstdint>
#include <string_view>

namespace interproc {

class SharedObject;
namespace detail {
struct RecursiveOwner;
struct RecursiveAccess;
}  // namespace detail

/// A lock shared by processes that the thread holding it may lock again: each lock() by
/// the holder adds one to a count, each unlock() takes one away, and the lock is released
/// when the count is back to 0. Underneath it is an InterprocessMutex, so the rules of a
/// dead owner are the same: when a holder ends (killed, crashed, or its thread ended)
/// however deep its count, the next locker takes the lock at count 1 and is told
/// LockResult::owner_died, as is every locker after it until one calls mark_consistent().
///
/// The count belongs to this object in this process: the same thread locking the same
/// mutex through a second object (opened twice by name) gets errc::recursive_lock, as with
/// InterprocessMutex. Unlocking a mutex the calling thread does not hold is a caller's bug
/// (GSL Expects): unlike InterprocessMutex::unlock, whose errc::not_owner predates the rule,
/// the recursive mutex knows its holder in every process on every OS, so the check is exact
/// and a failure is never a condition to handle at run time.
///
/// Satisfies Lockable and TimedLockable. Move-only (a moved-from object must not be used).
/// Pass it to a child with spawn_child (ChildContext::recursive_mutex), or share it by name.
class INTERPROC_EXPORT InterprocessRecursiveMutex {
 public:
  /// A new, unlocked mutex. Throws std::system_error when the OS refuses memory or handles.
  static InterprocessRecursiveMutex create();
  /// A new, unlocked mutex under `name`, with the rules and errors of
  /// InterprocessMutex::create_named (one namespace with segments and every other kind).
  static InterprocessRecursiveMutex create_named(std::string_view name,
                                                 NameLifetime lifetime = NameLifetime::persistent);
  /// The recursive mutex `name`; the errors of InterprocessMutex::open_named
  /// (errc::foreign_object for a plain InterprocessMutex's name, and the other way round).
  static InterprocessRecursiveMutex open_named(std::string_view name);
  /// The recursive mutex `name`, made unlocked if there is none (the race-free rules of
  /// SharedSegment::open_or_create).
  static InterprocessRecursiveMutex open_or_create(std::string_view name);
  /// Removes the name, as InterprocessMutex::remove_named.
  static bool remove_named(std::string_view name);

  /// Takes over `other`'s lock, which must not be used afterwards.
  InterprocessRecursiveMutex(InterprocessRecursiveMutex&& other) noexcept;
  /// Releases this mutex's resources and takes over `other`'s lock.
  InterprocessRecursiveMutex& operator=(InterprocessRecursiveMutex&& other) noexcept;
  InterprocessRecursiveMutex(const InterprocessRecursiveMutex&) = delete;
  InterprocessRecursiveMutex& operator=(const InterprocessRecursiveMutex&) = delete;
  ~InterprocessRecursiveMutex();

  /// Blocks until the calling thread holds the lock; the holder's lock() returns at once,
  /// with what its first lock() returned while no mark_consistent() came between.
  LockResult lock();
  /// True if the calling thread holds the lock now (the holder: always).
  bool try_lock();
  /// Timeouts of any length, as InterprocessMutex::try_lock_for.
  bool try_lock_for(std::chrono::milliseconds timeout);
  /// try_lock_for() with a duration of any type, rounded up to whole milliseconds.
  template <class Rep, class Period>
  bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
    return try_lock_for(detail::saturated_milliseconds(timeout));
  }
  /// Until `deadline` on its own clock.
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return detail::retry_until(deadline, [this](std::chrono::milliseconds left) { return try_lock_for(left); });
  }
  /// Takes one away from the count; releases the lock at 0. Expects: the calling thread
  /// holds it.
  void unlock();

  /// How many times the calling thread holds it (0 if it does not).
  std::uint32_t depth() const noexcept;
  /// Valid while the calling thread holds the lock: as InterprocessMutex::previous_owner_died.
  bool previous_owner_died() const noexcept;
  /// Declares the guarded data repaired; only the holder may call it (Expects).
  void mark_consistent();

 private:
  friend class SharedObject;
  friend struct detail::RecursiveAccess;
  explicit InterprocessRecursiveMutex(InterprocessMutex mutex);
  bool held_here() const noexcept;
  bool acquired(bool taken) noexcept;

  InterprocessMutex mutex_;
  detail::RecursiveOwner* owner_;  // owned: this process's holding thread and count; null once moved from
};

}  // namespace interproc
