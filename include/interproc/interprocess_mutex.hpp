#pragma once
#include <interproc/export.hpp>
#include <interproc/shared_segment.hpp>

#include <chrono>
#include <cstdint>

namespace interproc {

namespace detail {
struct MutexAccess;
}

// What lock() found. owner_died: the caller holds the lock now, but the previous owner
// (a thread or a whole process) ended while holding it, so the data it guards may be
// half-written: repair it. Reported to exactly one locker; the mutex then works normally.
enum class LockResult { acquired, owner_died };

// A lock shared by processes, living in its own small shared segment. It is owned by a
// thread, like std::mutex: threads of one process exclude each other as processes do.
// Satisfies Lockable and TimedLockable, so std::lock_guard and std::unique_lock work.
// A dead owner never causes a deadlock: the next locker takes over and is told.
// Move-only; a moved-from mutex must not be used (checked with GSL Expects).
// Errors: locking again from the owning thread throws std::system_error with
// errc::recursive_lock; unlocking a mutex the thread does not hold throws errc::not_owner
// (when detection is cheap: always on Linux and Windows, see the README).
class INTERPROC_EXPORT InterprocessMutex {
 public:
  // A new, unlocked mutex. Throws std::system_error when the OS refuses memory or handles.
  static InterprocessMutex create();

  InterprocessMutex(InterprocessMutex&& other) noexcept;
  InterprocessMutex& operator=(InterprocessMutex&& other) noexcept;
  InterprocessMutex(const InterprocessMutex&) = delete;
  InterprocessMutex& operator=(const InterprocessMutex&) = delete;
  ~InterprocessMutex();

  // Blocks until the calling thread holds the lock.
  LockResult lock();
  // True if the lock was taken (also when its owner had died: see previous_owner_died()).
  bool try_lock();
  bool try_lock_for(std::chrono::milliseconds timeout);
  template <class Rep, class Period>
  bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
    return try_lock_for(std::chrono::ceil<std::chrono::milliseconds>(timeout));
  }
  void unlock();

  // Valid while the calling thread holds the lock: whether it was taken over from an
  // owner that died holding it (what lock() returned as LockResult::owner_died).
  bool previous_owner_died() const noexcept { return previous_owner_died_; }

 private:
  friend struct detail::MutexAccess;
  InterprocessMutex() = default;

  SharedSegment state_;            // the lock word(s), shared with every process
  std::intptr_t wake_handle_ = -1; // Windows: the event waiters sleep on; unused on POSIX
  bool previous_owner_died_ = false;
};

}  // namespace interproc
