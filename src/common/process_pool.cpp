// SPDX-License-Identifier: MIT
// ProcessPool's public calls, written once for every OS over PoolState (pool_state.hpp):
// the string tasks of INTERPROC_TASK, the typed chunks of typed_pool.hpp, and the pool's
// lifetime.
#include <interproc/process_pool.hpp>

#include "common/fail.hpp"
#include "common/pool_state.hpp"
#include "common/pool_worker.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>

namespace interproc {
namespace detail {
namespace {

// What imap_unordered's notices write to: shared with each notice, so that a notice that
// runs after imap_unordered left (it threw) writes to live memory.
struct DoneList {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::size_t> done;
};

// Throws unless `task` is registered (INTERPROC_TASK).
void check_known_task(std::string_view task, const char* call) {
  if (!is_registered_task(task)) {
    fail(errc::unknown_entry, std::string(call) + ": no task \"" + std::string(task) + "\" (INTERPROC_TASK)");
  }
}

// Throws as submit() would for `task`, whatever the inputs: map() and imap_unordered()
// check before they run, also over zero inputs.
void check_submittable(PoolState& s, std::string_view task, const char* call) {
  check_known_task(task, call);
  std::lock_guard<std::mutex> hold(s.mutex);
  check_open(s, call);
}

// Queues a string task (or with `batch` a list of argument lists) for the next free worker.
// Never waits for room: tasks wait in the parent, as Python's apply_async never blocks.
TaskFuture submit_string_task(PoolState& s, std::string_view task, ByteBuffer payload, bool batch,
                              std::function<void()> on_done = {}) {
  check_known_task(task, "ProcessPool::submit");
  std::lock_guard<std::mutex> hold(s.mutex);
  check_open(s, "ProcessPool::submit");
  const std::uint64_t id =
      s.enqueue(task, batch ? TaskKind::batch : TaskKind::call, std::move(payload), {}, std::move(on_done), {});
  return TaskFuture(s.tasks.at(id).promise.get_future().share(), s.tap);
}

// Splits a batch's results back into `results` from `first` on; the first failure, if any.
std::exception_ptr unpack_batch(const std::string& task, const std::string& packed, std::size_t first,
                                std::vector<std::string>& results) {
  std::exception_ptr failure;
  std::size_t at = first;
  for (std::string& outcome : decode_args(packed)) {
    if (outcome.empty() || outcome[0] != '1') {
      if (!failure) {
        const std::string message = outcome.empty() ? std::string("no result") : outcome.substr(1);
        failure = std::make_exception_ptr(TaskError(errc::task_failed, task, message));
      }
    } else {
      results.at(at) = outcome.substr(1);
    }
    ++at;
  }
  return failure;
}

void check_worker_count(std::size_t workers) {
  if (workers == 0) fail(errc::invalid_argument, "ProcessPool: a pool needs at least one worker");
}

}  // namespace
}  // namespace detail

ProcessPool::ProcessPool(std::size_t workers, const std::vector<SharedObject>& objects, StartMethod method)
    : ProcessPool(workers, objects, PoolOptions{method, 0}) {}

ProcessPool::ProcessPool(std::size_t workers, const std::vector<SharedObject>& objects, const PoolOptions& options)
    : state_(nullptr) {
  detail::check_worker_count(workers);
  auto state = std::make_unique<detail::PoolState>(workers, objects, options);
  for (std::size_t i = 0; i < workers; ++i) state->start_worker(i);  // a throw ends those started (~PoolState)
  state->collector = std::thread([s = state.get()] { s->collect(); });
  state_ = state.release();
}

ProcessPool::~ProcessPool() {
  try {
    close();
    join();
  } catch (...) {  // join failed: end the workers rather than leave them
    terminate();
  }
  delete state_;
}

std::size_t ProcessPool::size() const noexcept { return state_->slots.size(); }

TaskFuture ProcessPool::submit(std::string_view task, const std::vector<std::string>& args) {
  return detail::submit_string_task(*state_, task, detail::encode_args<detail::ByteBuffer>(args), false);
}

std::size_t ProcessPool::chunk_size_for(std::size_t items, std::size_t requested) const {
  if (requested == 0) requested = state_->options.chunksize;
  return requested != 0 ? requested : std::max<std::size_t>(1, detail::auto_chunksize(items, size()));
}

const std::shared_ptr<detail::PoolTap>& ProcessPool::result_tap() const noexcept { return state_->tap; }

void ProcessPool::check_accepting(const char* call) {
  std::lock_guard<std::mutex> hold(state_->mutex);
  detail::check_open(*state_, call);
}

void ProcessPool::submit_chunk(const std::string& name, detail::ByteBuffer payload, detail::TaskEnd on_end) {
  std::lock_guard<std::mutex> hold(state_->mutex);
  detail::check_open(*state_, "ProcessPool::submit");
  state_->enqueue(name, detail::TaskKind::chunk, std::move(payload), {}, {}, std::move(on_end));
}

void ProcessPool::submit_chunk(const std::string& name, detail::PayloadWriter write, detail::TaskEnd on_end) {
  std::lock_guard<std::mutex> hold(state_->mutex);
  detail::check_open(*state_, "ProcessPool::submit");
  state_->enqueue(name, detail::TaskKind::chunk, {}, std::move(write), {}, std::move(on_end));
}

// Inputs travel in chunks, as Python's Pool.map sends them: about four per worker, so that
// the cost of a round trip is shared by many small tasks and the workers stay balanced.
std::vector<std::string> ProcessPool::map(std::string_view task, const std::vector<std::vector<std::string>>& inputs) {
  detail::check_submittable(*state_, task, "ProcessPool::map");
  const std::size_t chunk = chunk_size_for(inputs.size(), 0);
  std::vector<TaskFuture> batches;
  for (std::size_t first = 0; first < inputs.size(); first += chunk) {
    std::vector<std::string> encoded;
    for (std::size_t i = first; i < std::min(inputs.size(), first + chunk); ++i)
      encoded.push_back(detail::encode_args(inputs[i]));
    batches.push_back(
        detail::submit_string_task(*state_, task, detail::encode_args<detail::ByteBuffer>(encoded), true));
  }
  std::vector<std::string> results(inputs.size());
  std::exception_ptr first_failure;
  for (std::size_t b = 0; b < batches.size(); ++b) {
    std::exception_ptr failure;
    try {
      failure = detail::unpack_batch(std::string(task), batches[b].get(), b * chunk, results);
    } catch (...) {  // the batch's worker died
      failure = std::current_exception();
    }
    if (!first_failure) first_failure = failure;
  }
  if (first_failure) std::rethrow_exception(first_failure);
  return results;
}

void ProcessPool::imap_unordered(std::string_view task, const std::vector<std::vector<std::string>>& inputs,
                                 const std::function<void(std::size_t, const std::string&)>& on_result,
                                 const std::function<void(std::size_t, const std::system_error&)>& on_error) {
  detail::check_submittable(*state_, task, "ProcessPool::imap_unordered");
  std::vector<TaskFuture> futures;
  const auto list = std::make_shared<detail::DoneList>();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    // The notice is attached as the task is queued: another thread's submit cannot take it.
    // It holds the list, not this frame: a close() by another thread makes a later
    // submission throw, and the tasks queued before it still finish after this returns.
    auto notice = [list, i] {
      std::lock_guard<std::mutex> done_hold(list->mutex);
      list->done.push_back(i);
      list->changed.notify_one();
    };
    futures.push_back(
        detail::submit_string_task(*state_, task, detail::encode_args<detail::ByteBuffer>(inputs[i]), false, notice));
  }
  std::exception_ptr first_failure;
  for (std::size_t seen = 0; seen < inputs.size(); ++seen) {
    std::unique_lock<std::mutex> done_hold(list->mutex);
    list->changed.wait(done_hold, [&] { return !list->done.empty(); });
    const std::size_t index = list->done.front();
    list->done.pop_front();
    done_hold.unlock();
    std::string result;
    try {
      result = futures[index].get();
    } catch (const std::system_error& e) {
      if (on_error) {
        on_error(index, e);
        continue;
      }
      if (!first_failure) first_failure = std::current_exception();
      continue;
    } catch (...) {
      if (!first_failure) first_failure = std::current_exception();
      continue;
    }
    try {
      on_result(index, result);
    } catch (...) {
      if (!first_failure) first_failure = std::current_exception();
    }
  }
  if (first_failure) std::rethrow_exception(first_failure);
}

void ProcessPool::close() {
  std::lock_guard<std::mutex> hold(state_->mutex);
  state_->closed = true;
  state_->changed.notify_all();
}

void ProcessPool::join() {
  detail::PoolState& s = *state_;
  {
    std::unique_lock<std::mutex> hold(s.mutex);
    if (!s.closed) detail::fail(errc::invalid_argument, "ProcessPool::join: the pool is still running (close() first)");
    s.changed.wait(hold, [&s] { return s.tasks.empty(); });
    s.stopping = true;
    for (detail::WorkerSlot& slot : s.slots) slot.tasks.close();  // each worker then ends
  }
  if (s.collector.joinable()) s.collector.join();
  s.run_deferred();
}

void ProcessPool::terminate() {
  detail::PoolState& s = *state_;
  {
    std::lock_guard<std::mutex> hold(s.mutex);
    s.stop_and_fail_all("the pool was terminated", errc::task_failed);
  }
  s.run_deferred();
  if (s.collector.joinable()) s.collector.join();  // every worker has ended: no result is made any more
  s.forget_arenas();                               // a killed worker may have grown its outbox unseen
}

}  // namespace interproc
