// SPDX-License-Identifier: MIT
// InterprocessMutex's public rules, written once for every implementation: ownership of the
// state, moved-from checks and the previous_owner_died() record. The lock itself is behind
// common/mutex_backend.hpp.

#include "common/name_tracker.hpp"
#include "common/mutex_backend.hpp"
#include "common/name_rules.hpp"

#include <interproc/open_or_create.hpp>

#include <gsl/assert>

#include <string>
#include <utility>

namespace interproc {

using detail::MutexAccess;

namespace {

// Lets go of a mutex's state: what the implementation must keep stays mapped.
void release_state(detail::MutexState* state) noexcept {
  if (state == nullptr) return;
  detail::retire_state(*state);
  delete state;
}

}  // namespace

InterprocessMutex InterprocessMutex::create() { return MutexAccess::make(detail::create_mutex_state(nullptr)); }

InterprocessMutex InterprocessMutex::create_named(std::string_view name, NameLifetime lifetime) {
  detail::check_segment_name(name, "InterprocessMutex");
  const std::string owned(name);
  InterprocessMutex mutex = MutexAccess::make(detail::create_mutex_state(&owned));
  detail::apply_lifetime(lifetime, {owned});
  return mutex;
}

InterprocessMutex InterprocessMutex::open_named(std::string_view name) {
  detail::check_segment_name(name, "InterprocessMutex");
  return MutexAccess::make(detail::open_mutex_state(std::string(name)));
}

InterprocessMutex InterprocessMutex::open_or_create(std::string_view name) {
  return detail::open_or_create_named([&] { return create_named(name); }, [&] { return open_named(name); });
}

bool InterprocessMutex::remove_named(std::string_view name) {
  detail::check_segment_name(name, "InterprocessMutex");
  detail::forget_segment_name(std::string(name));
  return detail::remove_named_segment(std::string(name));  // its words' name; Windows: see the header
}

InterprocessMutex::InterprocessMutex(InterprocessMutex&& other) noexcept
    : state_(std::exchange(other.state_, nullptr)), previous_owner_died_(other.previous_owner_died_) {}

InterprocessMutex& InterprocessMutex::operator=(InterprocessMutex&& other) noexcept {
  if (this != &other) {
    release_state(std::exchange(state_, std::exchange(other.state_, nullptr)));
    previous_owner_died_ = other.previous_owner_died_;
  }
  return *this;
}

InterprocessMutex::~InterprocessMutex() { release_state(state_); }

LockResult InterprocessMutex::lock() {
  Expects(state_ != nullptr);  // a moved-from mutex
  return MutexAccess::record(*this, detail::lock_state(*state_));
}

bool InterprocessMutex::try_lock() {
  Expects(state_ != nullptr);
  return MutexAccess::record(*this, detail::try_lock_state(*state_)).has_value();
}

bool InterprocessMutex::try_lock_for(std::chrono::milliseconds timeout) {
  Expects(state_ != nullptr);
  return MutexAccess::record(*this, detail::lock_state_until(*state_, detail::deadline_after(timeout))).has_value();
}

void InterprocessMutex::unlock() {
  Expects(state_ != nullptr);
  detail::unlock_state(*state_);
}

void InterprocessMutex::mark_consistent() {
  Expects(state_ != nullptr);
  detail::mark_state_consistent(*state_);
  previous_owner_died_ = false;
}

}  // namespace interproc
