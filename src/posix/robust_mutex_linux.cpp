// SPDX-License-Identifier: MIT
// Linux: a robust, process-shared pthread mutex (pthread_mutexattr_setrobust(3)). When the
// owning thread or process dies, the kernel walks its robust list and the next locker gets
// EOWNERDEAD; pthread_mutex_consistent(3) then makes the mutex usable again.

#include "common/fail.hpp"
#include "common/mutex_backend.hpp"
#include "common/segment_backend.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <optional>
#include <new>
#include <linux/futex.h>
#include <pthread.h>
#include <unistd.h>

namespace interproc::detail {
namespace {

struct RobustState {
  MutexMagic magic;
  OwnerDiedFlag owner_died;
  pthread_mutex_t mutex;
};

void check_pthread(int result, const char* call) {
  if (result != 0) fail_errno(result, call);
}

void init_robust_mutex(pthread_mutex_t* mutex) {
  pthread_mutexattr_t attr;
  check_pthread(::pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
  ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  // ERRORCHECK: relocking reports EDEADLK instead of deadlocking.
  ::pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  const int result = ::pthread_mutex_init(mutex, &attr);
  ::pthread_mutexattr_destroy(&attr);
  check_pthread(result, "pthread_mutex_init(robust, process-shared)");
}

// The owner's thread id: the robust-futex protocol (futex(2), "Robust futexes") keeps it in
// the futex word, which is glibc's __data.__lock. 0 when free or unknown.
pid_t owner_thread(const pthread_mutex_t& mutex) noexcept {
#ifdef __GLIBC__
  return static_cast<pid_t>(static_cast<unsigned>(mutex.__data.__lock) & FUTEX_TID_MASK);
#else
  (void)mutex;
  return 0;  // other C libraries: a relocking try_lock() just returns false
#endif
}

// Whether a trylock failed because the calling thread itself holds the lock (an
// ERRORCHECK mutex reports EDEADLK for lock and timedlock, but EBUSY for trylock). Asked
// on the EBUSY path only.
bool held_by_this_thread(const pthread_mutex_t& mutex) noexcept { return owner_thread(mutex) == ::gettid(); }

// Whether a thread of this process holds the lock: tgkill(2) with signal 0 finds a thread
// id only within the given thread group.
bool held_in_this_process(const pthread_mutex_t& mutex) noexcept {
  const pid_t owner = owner_thread(mutex);
  return owner != 0 && (owner == ::gettid() || ::tgkill(::getpid(), owner, 0) == 0);
}

[[noreturn]] void fail_recursive(const char* call) {
  fail(errc::recursive_lock, std::string(call) + ": the calling thread already holds this InterprocessMutex");
}

// Turns a pthread lock result into the library's: 0 / EOWNERDEAD acquired, EBUSY and
// ETIMEDOUT not acquired, EDEADLK a relock, anything else an error.
std::optional<LockResult> interpret(RobustState& s, int result, const char* call) {
  switch (result) {
    case 0: return with_pending_report(s.owner_died, LockResult::acquired);
    case EOWNERDEAD:
      // The mutex works again at once; the report stays pending until mark_consistent().
      check_pthread(::pthread_mutex_consistent(&s.mutex), "pthread_mutex_consistent");
      return with_pending_report(s.owner_died, LockResult::owner_died);
    case EBUSY:
      if (held_by_this_thread(s.mutex)) fail_recursive(call);
      return std::nullopt;
    case ETIMEDOUT: return std::nullopt;
    case EDEADLK: fail_recursive(call);
    default: fail_errno(result, call);
  }
}

// `deadline` as pthread_mutex_clocklock's CLOCK_MONOTONIC time: std::chrono::steady_clock
// is CLOCK_MONOTONIC in glibc and libc++.
timespec monotonic_time(Clock::time_point deadline) noexcept {
  const auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch());
  const auto ns = std::max<std::chrono::nanoseconds::rep>(since.count(), 0);
  return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

RobustState& robust(MutexState& state) noexcept { return words_of<RobustState>(state); }

}  // namespace

void retire_state(MutexState& state) noexcept {
  if (state.words && held_in_this_process(robust(state).mutex)) SegmentAccess::leave_mapped(state.words);
}

MutexState attach_mutex_state(SharedSegment words, const std::vector<native_handle>& companions) {
  check_mutex_words<RobustState>(words);
  if (!companions.empty()) fail(errc::bad_handle_argument, "a robust pthread mutex has no companion handle");
  return MutexState{std::move(words), ScopedHandle()};
}

MutexState create_mutex_state(const std::string* name, SegmentKind kind) {
  SharedSegment segment = create_mutex_words<RobustState>(name, kind);
  try {
    auto* s = ::new (segment.bytes().data()) RobustState{{0}, {0}, {}};
    init_robust_mutex(&s->mutex);
  } catch (...) {
    forget_failed_name(name);
    throw;
  }
  publish_mutex_words(segment);  // last: an opener checks it (open_mutex_words)
  return MutexState{std::move(segment), ScopedHandle()};
}

MutexState open_mutex_state(const std::string& name, SegmentKind kind) {
  return MutexState{open_mutex_words<RobustState>(name, kind), ScopedHandle()};
}

LockResult lock_state(MutexState& state) {
  RobustState& s = robust(state);
  return *interpret(s, ::pthread_mutex_lock(&s.mutex), "pthread_mutex_lock");
}

std::optional<LockResult> lock_state_until(MutexState& state, std::optional<Clock::time_point> deadline) {
  if (!deadline) return lock_state(state);
  RobustState& s = robust(state);
  const timespec until = monotonic_time(*deadline);
  return interpret(s, ::pthread_mutex_clocklock(&s.mutex, CLOCK_MONOTONIC, &until), "pthread_mutex_clocklock");
}

std::optional<LockResult> try_lock_state(MutexState& state) {
  RobustState& s = robust(state);
  return interpret(s, ::pthread_mutex_trylock(&s.mutex), "pthread_mutex_trylock");
}

void mark_state_consistent(MutexState& state) {
  RobustState& s = robust(state);
  if (!held_by_this_thread(s.mutex)) {
    fail(errc::not_owner, "InterprocessMutex::mark_consistent: the calling thread does not hold the lock");
  }
  s.owner_died.store(0, std::memory_order_relaxed);
}

void unlock_state(MutexState& state) {
  const int result = ::pthread_mutex_unlock(&robust(state).mutex);
  if (result == EPERM) fail(errc::not_owner, "InterprocessMutex::unlock: the calling thread does not hold the lock");
  if (result != 0) fail_errno(result, "pthread_mutex_unlock");
}

}  // namespace interproc::detail
