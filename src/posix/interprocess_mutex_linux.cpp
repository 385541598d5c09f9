// Linux: a robust, process-shared pthread mutex (pthread_mutexattr_setrobust(3)). When the
// owning thread or process dies, the kernel walks its robust list and the next locker gets
// EOWNERDEAD; pthread_mutex_consistent(3) then makes the mutex usable again.

#include "common/fail.hpp"
#include "common/mutex_backend.hpp"
#include "common/owner_word.hpp"
#include "common/segment_backend.hpp"

#include <gsl/assert>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <optional>
#include <new>
#include <pthread.h>
#include <unistd.h>

namespace interproc {
namespace detail {

namespace {

struct RobustState {
  std::uint32_t magic;
  // The owner's current_owner_id(): the cheap way to tell recursion and foreign unlocks
  // apart on every path (glibc's EDEADLK does not cover trylock, which reports EBUSY).
  std::atomic<std::uint64_t> owner;
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

// Turns a pthread lock result into the library's: 0 / EOWNERDEAD acquired, EBUSY and
// ETIMEDOUT not acquired, anything else an error.
std::optional<LockResult> interpret(RobustState& s, int result, const char* call) {
  if (result == 0 || result == EOWNERDEAD) {
    if (result == EOWNERDEAD) check_pthread(::pthread_mutex_consistent(&s.mutex), "pthread_mutex_consistent");
    s.owner.store(current_owner_id(), std::memory_order_relaxed);
    return result == 0 ? LockResult::acquired : LockResult::owner_died;
  }
  if (result == EBUSY || result == ETIMEDOUT || result == EDEADLK) {
    if (s.owner.load(std::memory_order_relaxed) == current_owner_id()) {
      fail(errc::recursive_lock, std::string(call) + ": the calling thread already holds this InterprocessMutex");
    }
    if (result == EDEADLK) fail_errno(result, call);
    return std::nullopt;
  }
  fail_errno(result, call);
}

std::optional<LockResult> record(InterprocessMutex& m, std::optional<LockResult> r) {
  if (r) MutexAccess::set_owner_died(m, *r == LockResult::owner_died);
  return r;
}

}  // namespace

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
  return *detail::record(*this, detail::interpret(s, ::pthread_mutex_lock(&s.mutex), "pthread_mutex_lock"));
}

bool InterprocessMutex::try_lock() {
  auto& s = detail::state_of(*this);
  return detail::record(*this, detail::interpret(s, ::pthread_mutex_trylock(&s.mutex), "pthread_mutex_trylock"))
      .has_value();
}

bool InterprocessMutex::try_lock_for(std::chrono::milliseconds timeout) {
  auto& s = detail::state_of(*this);
  timespec deadline{};
  ::clock_gettime(CLOCK_MONOTONIC, &deadline);
  const auto ms = std::max<std::chrono::milliseconds::rep>(timeout.count(), 0);
  deadline.tv_sec += static_cast<time_t>(ms / 1000);
  deadline.tv_nsec += static_cast<long>(ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000L;
  }
  const int result = ::pthread_mutex_clocklock(&s.mutex, CLOCK_MONOTONIC, &deadline);
  return detail::record(*this, detail::interpret(s, result, "pthread_mutex_clocklock")).has_value();
}

void InterprocessMutex::unlock() {
  auto& s = detail::state_of(*this);
  if (s.owner.load(std::memory_order_relaxed) != detail::current_owner_id()) {
    detail::fail(errc::not_owner, "InterprocessMutex::unlock: the calling thread does not hold the lock");
  }
  s.owner.store(0, std::memory_order_relaxed);
  const int result = ::pthread_mutex_unlock(&s.mutex);
  if (result != 0) detail::fail_errno(result, "pthread_mutex_unlock");
}

}  // namespace interproc
