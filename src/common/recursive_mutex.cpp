// SPDX-License-Identifier: MIT
// InterprocessRecursiveMutex: an InterprocessMutex whose holding thread and count are kept
// beside it in this process. Only the holder writes them, under the lock; another thread
// reads the holder to tell that it is not the one (an atomic, never its own id).

#include <interproc/recursive_mutex.hpp>

#include "common/mutex_backend.hpp"
#include "common/name_tracker.hpp"
#include "common/name_rules.hpp"

#include <interproc/open_or_create.hpp>

#include <gsl/assert>

#include <atomic>
#include <thread>
#include <utility>

namespace interproc {
namespace detail {

struct RecursiveOwner {
  std::atomic<std::thread::id> holder{};
  std::uint32_t depth = 0;
};

struct RecursiveAccess {
  static InterprocessRecursiveMutex make(InterprocessMutex mutex) {
    return InterprocessRecursiveMutex(std::move(mutex));
  }
  static InterprocessMutex& mutex(InterprocessRecursiveMutex& m) noexcept { return m.mutex_; }
};
InterprocessRecursiveMutex make_recursive(InterprocessMutex mutex) { return RecursiveAccess::make(std::move(mutex)); }
InterprocessMutex& mutex_of(InterprocessRecursiveMutex& m) noexcept { return RecursiveAccess::mutex(m); }

}  // namespace detail

using detail::MutexAccess;

InterprocessRecursiveMutex::InterprocessRecursiveMutex(InterprocessMutex mutex)
    : mutex_(std::move(mutex)), owner_(new detail::RecursiveOwner) {}

InterprocessRecursiveMutex InterprocessRecursiveMutex::create() {
  return InterprocessRecursiveMutex(InterprocessMutex::create());
}

InterprocessRecursiveMutex InterprocessRecursiveMutex::create_named(std::string_view name, NameLifetime lifetime) {
  detail::check_segment_name(name, "InterprocessRecursiveMutex");
  const std::string owned(name);
  InterprocessRecursiveMutex mutex(
      MutexAccess::make(detail::create_mutex_state(&owned, detail::SegmentKind::recursive_mutex)));
  detail::apply_lifetime(lifetime, {owned});
  return mutex;
}

InterprocessRecursiveMutex InterprocessRecursiveMutex::open_named(std::string_view name) {
  detail::check_segment_name(name, "InterprocessRecursiveMutex");
  return InterprocessRecursiveMutex(
      MutexAccess::make(detail::open_mutex_state(std::string(name), detail::SegmentKind::recursive_mutex)));
}

InterprocessRecursiveMutex InterprocessRecursiveMutex::open_or_create(std::string_view name) {
  return detail::open_or_create_named([&] { return create_named(name); }, [&] { return open_named(name); });
}

bool InterprocessRecursiveMutex::remove_named(std::string_view name) { return InterprocessMutex::remove_named(name); }

InterprocessRecursiveMutex::InterprocessRecursiveMutex(InterprocessRecursiveMutex&& other) noexcept
    : mutex_(std::move(other.mutex_)), owner_(std::exchange(other.owner_, nullptr)) {}

InterprocessRecursiveMutex& InterprocessRecursiveMutex::operator=(InterprocessRecursiveMutex&& other) noexcept {
  if (this != &other) {
    mutex_ = std::move(other.mutex_);
    delete std::exchange(owner_, std::exchange(other.owner_, nullptr));
  }
  return *this;
}

InterprocessRecursiveMutex::~InterprocessRecursiveMutex() { delete owner_; }

bool InterprocessRecursiveMutex::held_here() const noexcept {
  Expects(owner_ != nullptr);  // a moved-from mutex
  return owner_->holder.load(std::memory_order_relaxed) == std::this_thread::get_id();
}

// Records a first acquisition; passes `taken` on.
bool InterprocessRecursiveMutex::acquired(bool taken) noexcept {
  if (taken) {
    owner_->holder.store(std::this_thread::get_id(), std::memory_order_relaxed);
    owner_->depth = 1;
  }
  return taken;
}

LockResult InterprocessRecursiveMutex::lock() {
  if (held_here()) {
    ++owner_->depth;
    return mutex_.previous_owner_died() ? LockResult::owner_died : LockResult::acquired;
  }
  const LockResult result = mutex_.lock();
  acquired(true);
  return result;
}

bool InterprocessRecursiveMutex::try_lock() {
  if (held_here()) {
    ++owner_->depth;
    return true;
  }
  return acquired(mutex_.try_lock());
}

bool InterprocessRecursiveMutex::try_lock_for(std::chrono::milliseconds timeout) {
  if (held_here()) {
    ++owner_->depth;
    return true;
  }
  return acquired(mutex_.try_lock_for(timeout));
}

void InterprocessRecursiveMutex::unlock() {
  Expects(held_here());  // unlocking a recursive mutex the calling thread does not hold
  if (--owner_->depth != 0) return;
  owner_->holder.store(std::thread::id(), std::memory_order_relaxed);
  mutex_.unlock();
}

std::uint32_t InterprocessRecursiveMutex::depth() const noexcept { return held_here() ? owner_->depth : 0; }

bool InterprocessRecursiveMutex::previous_owner_died() const noexcept { return mutex_.previous_owner_died(); }

void InterprocessRecursiveMutex::mark_consistent() {
  Expects(held_here());  // only the holder repairs the data
  mutex_.mark_consistent();
}

}  // namespace interproc
