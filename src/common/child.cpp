// SPDX-License-Identifier: MIT
// interproc::Child's rules, written once for every OS over the process seam
// (common/process_backend.hpp): the destructor waits, a move hands the process over, and
// waiting is idempotent; terminate() asks, then kills.

#include "common/process_backend.hpp"

#include <gsl/assert>

#include <utility>

namespace interproc {

Child::Child(Child&& other) noexcept : process_(std::exchange(other.process_, nullptr)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    release();  // like std::jthread's move assignment: finish with the current child first
    process_ = std::exchange(other.process_, nullptr);
  }
  return *this;
}

Child::~Child() { release(); }

// The std::jthread rule: a child not yet waited for is waited for, never left a zombie or
// killed silently; a daemon child (SpawnOptions::daemon) asked to be killed first.
void Child::release() noexcept {
  if (process_ == nullptr) return;
  if (!process_->exit_code) {
    try {
      if (process_->daemon) kill();
      wait();
    } catch (...) {  // the OS failed the wait: nothing left to wait for
    }
  }
  detail::release_process(*process_);
  delete std::exchange(process_, nullptr);
}

long Child::pid() const noexcept { return process_ != nullptr ? process_->pid : -1; }

int Child::wait() {
  Expects(process_ != nullptr);  // a moved-from Child
  if (!process_->exit_code) process_->exit_code = detail::wait_process(*process_, std::nullopt);
  return *process_->exit_code;
}

std::optional<int> Child::wait_for(std::chrono::milliseconds timeout) {
  Expects(process_ != nullptr);
  if (!process_->exit_code) process_->exit_code = detail::wait_process(*process_, detail::deadline_after(timeout));
  return process_->exit_code;
}

void Child::kill() {
  Expects(process_ != nullptr);
  // Once waited for, the pid may belong to another process: never signal it then.
  if (!process_->exit_code) detail::kill_process(*process_);
}

int Child::terminate(std::chrono::milliseconds grace) {
  Expects(process_ != nullptr);
  if (process_->exit_code) return *process_->exit_code;
  detail::terminate_process(*process_);
  if (const std::optional<int> code = wait_for(grace)) return *code;
  kill();
  return wait();
}

void Child::kill_tree() {
  Expects(process_ != nullptr);
  // As kill(): once waited for, the pid (and a POSIX group id) may be another's.
  if (!process_->exit_code) detail::kill_process_tree(*process_);
}

}  // namespace interproc
