// SPDX-License-Identifier: MIT
// Linux: a robust, process-shared pthread mutex (pthread_mutexattr_setrobust(3)). When the
// owning thread or process dies, the kernel walks its robust list and the next locker gets
// EOWNERDEAD; pthread_mutex_consistent(3) then makes the mutex usable again.

#include "common/fail.hpp"
#include "common/mutex_backend.hpp"
#include "common/segment_backend.hpp"

#include <gsl/assert>

#include <cerrno>
#include <csignal>
#include <ctime>
#include <optional>
#include <new>
#include <linux/futex.h>
#include <pthread.h>
#include <unistd.h>

namespace interproc {
namespace detail {

namespace {

struct RobustState {
  std::uint32_t magic;
  OwnerDiedFlag owner_died;
  pthread_mutex_t mutex;
};

RobustState& state_of(const InterprocessMutex& m) {
  const SharedSegment& segment = MutexAccess::state(m);
  Expects(segment);  // a moved-from mutex
  return *std::launder(reinterpret_cast<RobustState*>(segment.bytes().data()));
}

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

// A deadline for pthread_mutex_clocklock `timeout` from now on CLOCK_MONOTONIC; timeouts
// arrive below milliseconds::max(), which is some 292 million years.
timespec monotonic_deadline(std::chrono::milliseconds timeout) noexcept {
  timespec deadline{};
  ::clock_gettime(CLOCK_MONOTONIC, &deadline);
  const auto ms = std::max<std::chrono::milliseconds::rep>(timeout.count(), 0);
  deadline.tv_sec += static_cast<time_t>(ms / 1000);
  deadline.tv_nsec += static_cast<long>(ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000L;
  }
  return deadline;
}

}  // namespace

void retire_state(SharedSegment& state) noexcept {
  if (state.size() >= sizeof(RobustState) &&
      held_in_this_process(std::launder(reinterpret_cast<RobustState*>(state.bytes().data()))->mutex)) {
    SegmentAccess::leave_mapped(state);
  }
}

InterprocessMutex MutexAccess::attach(SharedSegment state, ScopedHandle) {
  if (state.size() < sizeof(RobustState) ||
      std::launder(reinterpret_cast<RobustState*>(state.bytes().data()))->magic != mutex_magic) {
    fail(errc::bad_handle_argument, "the segment handed over as a mutex is not an InterprocessMutex");
  }
  return assemble(std::move(state), ScopedHandle());
}

}  // namespace detail

using detail::MutexAccess;

InterprocessMutex InterprocessMutex::create() {
  SharedSegment segment = SharedSegment::create(sizeof(detail::RobustState));
  auto* s = ::new (segment.bytes().data()) detail::RobustState{detail::mutex_magic, {0}, {}};
  detail::init_robust_mutex(&s->mutex);
  return MutexAccess::assemble(std::move(segment), detail::ScopedHandle());
}

LockResult InterprocessMutex::lock() {
  auto& s = detail::state_of(*this);
  return *MutexAccess::record(*this, detail::interpret(s, ::pthread_mutex_lock(&s.mutex), "pthread_mutex_lock"));
}

bool InterprocessMutex::try_lock() {
  auto& s = detail::state_of(*this);
  return MutexAccess::record(*this, detail::interpret(s, ::pthread_mutex_trylock(&s.mutex), "pthread_mutex_trylock"))
      .has_value();
}

bool InterprocessMutex::try_lock_for(std::chrono::milliseconds timeout) {
  if (timeout == std::chrono::milliseconds::max()) return (lock(), true);  // saturated: no deadline
  auto& s = detail::state_of(*this);
  const timespec deadline = detail::monotonic_deadline(timeout);
  const int result = ::pthread_mutex_clocklock(&s.mutex, CLOCK_MONOTONIC, &deadline);
  return MutexAccess::record(*this, detail::interpret(s, result, "pthread_mutex_clocklock")).has_value();
}

void InterprocessMutex::mark_consistent() {
  auto& s = detail::state_of(*this);
  if (!detail::held_by_this_thread(s.mutex)) {
    detail::fail(errc::not_owner, "InterprocessMutex::mark_consistent: the calling thread does not hold the lock");
  }
  s.owner_died.store(0, std::memory_order_relaxed);
  previous_owner_died_ = false;
}

void InterprocessMutex::unlock() {
  auto& s = detail::state_of(*this);
  const int result = ::pthread_mutex_unlock(&s.mutex);
  if (result == EPERM) {
    detail::fail(errc::not_owner, "InterprocessMutex::unlock: the calling thread does not hold the lock");
  }
  if (result != 0) detail::fail_errno(result, "pthread_mutex_unlock");
}

}  // namespace interproc
