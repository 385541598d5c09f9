// SPDX-License-Identifier: MIT
// interproc::Child's rules, written once for every OS over the process seam
// (common/process_backend.hpp): the destructor waits, a move hands the process over, and
// waiting is idempotent; terminate() asks, then kills.

#include "common/process_backend.hpp"

#include <gsl/assert>

#include <algorithm>
#include <chrono>
#include <system_error>
#include <utility>

namespace interproc {
namespace {

using detail::ChildPipes;
using detail::Clock;

bool outputs_open(const ChildPipes& pipes) noexcept { return pipes.ends[1].valid() || pipes.ends[2].valid(); }

// How long a wait that drains the output pipes sleeps in poll before it looks at the child
// again: only a child whose pipes outlive it (a descendant holds them) makes it look twice.
constexpr auto drain_step = std::chrono::milliseconds(20);

// Waits for the child until `deadline` (std::nullopt: as long as it takes) while draining
// its output pipes into its Child, so that a child blocked on a full pipe still ends.
std::optional<int> wait_draining(detail::ChildProcess& process, std::optional<Clock::time_point> deadline) {
  std::string_view no_input;
  while (outputs_open(process.pipes)) {
    if (std::optional<int> code = detail::wait_process(process, Clock::now())) return code;
    const Clock::time_point step = Clock::now() + drain_step;
    detail::pump_pipes(process.pipes, no_input, deadline ? std::min(*deadline, step) : step);
    if (deadline && Clock::now() >= *deadline) return detail::wait_process(process, Clock::now());
  }
  return detail::wait_process(process, deadline);
}

// Takes what `pipes` received on `stream`.
std::string take(ChildPipes& pipes, int stream) { return std::exchange(pipes.received[stream], std::string()); }

}  // namespace

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
  detail::close_pipe(process_->pipes, 0);  // nothing can be written any more: the child reads end of file
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
  if (!process_->exit_code) process_->exit_code = wait_draining(*process_, std::nullopt);
  return *process_->exit_code;
}

std::optional<int> Child::wait_for(std::chrono::milliseconds timeout) {
  Expects(process_ != nullptr);
  if (!process_->exit_code) process_->exit_code = wait_draining(*process_, detail::deadline_after(timeout));
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

void Child::write_stdin(std::string_view data) {
  Expects(process_ != nullptr && process_->pipes.piped[0]);  // a moved-from Child, or stdin not piped
  ChildPipes& pipes = process_->pipes;
  while (!data.empty() || detail::input_pending(pipes)) {
    if (!pipes.ends[0].valid())
      throw std::system_error(std::make_error_code(std::errc::broken_pipe), "write_stdin: the stdin pipe is closed");
    detail::pump_pipes(pipes, data, std::nullopt);
  }
}

void Child::close_stdin() noexcept {
  if (process_ != nullptr) detail::close_pipe(process_->pipes, 0);
}

std::string Child::read_stdout() {
  Expects(process_ != nullptr && process_->pipes.piped[1]);  // a moved-from Child, or stdout not piped
  std::string_view no_input;
  while (process_->pipes.ends[1].valid()) detail::pump_pipes(process_->pipes, no_input, std::nullopt);
  return take(process_->pipes, 1);
}

std::string Child::read_stderr() {
  Expects(process_ != nullptr && process_->pipes.piped[2]);  // a moved-from Child, or stderr not piped
  std::string_view no_input;
  while (process_->pipes.ends[2].valid()) detail::pump_pipes(process_->pipes, no_input, std::nullopt);
  return take(process_->pipes, 2);
}

ChildOutput Child::read_output(std::chrono::milliseconds timeout) {
  Expects(process_ != nullptr && (process_->pipes.piped[1] || process_->pipes.piped[2]));
  ChildPipes& pipes = process_->pipes;
  const std::optional<Clock::time_point> deadline = detail::deadline_after(timeout);
  std::string_view no_input;
  while (pipes.received[1].empty() && pipes.received[2].empty() && outputs_open(pipes)) {
    if (!detail::pump_pipes(pipes, no_input, deadline)) break;
  }
  return {take(pipes, 1), take(pipes, 2), !outputs_open(pipes)};
}

ChildOutput Child::communicate(std::string_view input) {
  Expects(process_ != nullptr && (input.empty() || process_->pipes.piped[0]));
  ChildPipes& pipes = process_->pipes;
  try {
    while (pipes.ends[0].valid() && (!input.empty() || detail::input_pending(pipes)))
      detail::pump_pipes(pipes, input, std::nullopt);
  } catch (const std::system_error& e) {
    // As Python's communicate(): a child that ends without reading all its input is no error.
    if (e.code() != std::errc::broken_pipe) throw;
  }
  detail::close_pipe(pipes, 0);
  std::string_view no_input;
  while (outputs_open(pipes)) detail::pump_pipes(pipes, no_input, std::nullopt);
  wait();
  return {take(pipes, 1), take(pipes, 2), true};
}

}  // namespace interproc
