// SPDX-License-Identifier: MIT
// InterprocessMutex's RAII rules, common to every implementation (see mutex_backend.hpp).

#include "common/mutex_backend.hpp"

#include <utility>

namespace interproc {

InterprocessMutex::InterprocessMutex(InterprocessMutex&& other) noexcept
    : state_(std::move(other.state_)), wake_handle_(std::exchange(other.wake_handle_, detail::invalid_handle)),
      previous_owner_died_(other.previous_owner_died_) {}

InterprocessMutex& InterprocessMutex::operator=(InterprocessMutex&& other) noexcept {
  if (this != &other) {
    detail::retire_state(state_);
    state_ = std::move(other.state_);
    detail::close_handle(std::exchange(wake_handle_, std::exchange(other.wake_handle_, detail::invalid_handle)));
    previous_owner_died_ = other.previous_owner_died_;
  }
  return *this;
}

InterprocessMutex::~InterprocessMutex() {
  detail::retire_state(state_);
  detail::close_handle(wake_handle_);
}

}  // namespace interproc
