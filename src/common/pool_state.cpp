// SPDX-License-Identifier: MIT
// The parent's side of a ProcessPool: dispatch, results, worker deaths (pool_state.hpp).
#include "common/pool_state.hpp"

#include "common/exit_status.hpp"
#include "common/fail.hpp"
#include "common/pool_worker.hpp"
#include "common/wait_backend.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>

namespace interproc::detail {
namespace {

constexpr std::size_t slot_capacity = 32;  // the result queue's room per worker
// A slot's inbox and outbox start at this size and grow as payloads need; their pages are
// touched only as far as payloads reach.
constexpr std::size_t first_arena_bytes = std::size_t{8} << 20;

std::string random_nonce() {
  std::random_device device;
  char text[16];
  std::snprintf(text, sizeof text, "%08x", static_cast<unsigned>(device()));
  return text;
}

std::string death_message(int code) { return "its worker " + describe_exit_status(code); }

}  // namespace

WorkerSlot::WorkerSlot(const std::string& nonce, std::size_t index)
    : tasks(SharedQueue<TaskItem>::create(1)), inbox(SharedSegment::create(first_arena_bytes)),
      outbox(SharedSegment::create(first_arena_bytes)), inbox_writer(inbox, arena_base(nonce, index, 'i')),
      outbox_reader(outbox, arena_base(nonce, index, 'o')) {}

PoolState::PoolState(std::size_t workers, const std::vector<SharedObject>& objs, const PoolOptions& opts)
    : options(opts), objects(objs), nonce(random_nonce()),
      results(SharedQueue<ResultItem>::create(workers * (slot_capacity + 1))),
      initializer_arguments(SharedSegment::create(std::max<std::size_t>(1, opts.initializer.arguments.size()))) {
  for (std::size_t i = 0; i < workers; ++i) slots.emplace_back(nonce, i);
  tap->state = this;
  std::memcpy(initializer_arguments.bytes().data(), opts.initializer.arguments.data(),
              opts.initializer.arguments.size());
}

// Workers still running (a constructor that threw) end once their queues close; each Child
// then waits for its worker.
PoolState::~PoolState() {
  {
    std::lock_guard<std::mutex> hold(tap->taking);
    tap->state = nullptr;
  }
  for (WorkerSlot& slot : slots) slot.tasks.close();
  forget_arenas();
}

void PoolState::start_worker(std::size_t index) {
  WorkerSlot& slot = slots[index];
  slot.restart_arenas();  // a new worker starts at generation 0 of both
  std::vector<SharedObject> passed{slot.tasks, results, initializer_arguments, slot.inbox, slot.outbox};
  passed.insert(passed.end(), objects.begin(), objects.end());
  SpawnOptions spawn;
  spawn.method = options.method;
  spawn.die_with_parent = true;  // a worker never outlives the pool's process, however it ends
  slot.initialized = options.initializer.function.empty();
  slot.child = spawn_child("interproc_pool_worker",
                           {nonce, std::to_string(options.max_tasks_per_worker), std::to_string(index),
                            options.initializer.function, std::to_string(options.initializer.arguments.size())},
                           passed, spawn);
}

// The names an arena may still hold (a worker killed before it opened its inbox, or after it
// grew its outbox), once no worker runs.
void PoolState::forget_arenas() noexcept {
  for (WorkerSlot& slot : slots) slot.restart_arenas();
}

std::uint64_t PoolState::enqueue(std::string_view task, TaskKind kind, ByteBuffer payload, PayloadWriter write_payload,
                                 std::function<void()> on_done, TaskEnd on_end) {
  const std::uint64_t id = next_id++;
  PendingTask pending;
  pending.item = TaskItem{id, {}, kind, {}, {}};
  std::memcpy(pending.item.task, task.data(), task.size());
  pending.name = std::string(task);
  pending.on_done = std::move(on_done);
  pending.on_end = std::move(on_end);
  pending.write_payload = std::move(write_payload);
  if (payload.size() <= payload_bytes) {
    if (payload.size() != 0) std::memcpy(pending.item.data, payload.data(), payload.size());
    pending.item.payload = PayloadPlace{payload.size(), 0, 0};
  } else {
    pending.payload = std::move(payload);  // into its worker's inbox at dispatch()
  }
  tasks.emplace(id, std::move(pending));
  waiting.push_back(id);
  dispatch();
  return id;
}

// Runs the deliveries that finish() left, outside `mutex` (they run user callbacks).
void PoolState::run_deferred() {
  std::lock_guard<std::recursive_mutex> one_at_a_time(tap->delivering);
  for (const auto& delivery : take_deferred()) delivery();
}

std::vector<std::function<void()>> PoolState::take_deferred() {
  std::vector<std::function<void()>> ready;
  std::lock_guard<std::mutex> hold(mutex);
  ready.swap(deferred);
  return ready;
}

// Under `mutex`: hands waiting tasks to the live workers that have nothing to do.
void PoolState::dispatch() {
  std::vector<std::pair<std::uint64_t, std::string>> undeliverable;
  for (std::size_t index = 0; index < slots.size(); ++index) {
    if (waiting.empty() || !broken.empty() || stopping) break;  // stopping: its workers are gone
    if (!slots[index].child || !slots[index].pending.empty()) continue;
    const std::uint64_t id = waiting.front();
    waiting.pop_front();
    try {
      send(index, id, tasks.at(id));
    } catch (const std::exception& e) {  // its inbox could not grow, or its inputs are gone
      undeliverable.emplace_back(id, std::string("its arguments could not reach a worker: ") + e.what());
    }
  }
  for (const auto& [id, why] : undeliverable) finish(id, std::nullopt, why);
}

// Under `mutex`: the slot's previous task is done with its inbox.
void PoolState::send(std::size_t index, std::uint64_t id, PendingTask& task) {
  WorkerSlot& slot = slots[index];
  if (task.write_payload) {
    ByteBuffer out(slot.inbox_writer.memory());
    std::exchange(task.write_payload, nullptr)(out);
    if (out.in_lent_memory()) {
      task.item.payload = slot.inbox_writer.place(out.size());
    } else {
      put_payload(task.item, slot.inbox_writer, out.view());  // outgrew the inbox: grows it
    }
  } else if (task.payload.size() != 0) {
    put_payload(task.item, slot.inbox_writer, task.payload.view());
    task.payload = ByteBuffer();
  }
  task.slot = index;
  slot.tasks.push(task.item);  // never waits: the slot holds at most this task
  slot.pending.push_back(id);
}

// Under `mutex`: the task's end, success (a string task's result) or failure (with `code`).
void PoolState::finish(std::uint64_t id, std::optional<std::string> result, const std::string& failure, errc code) {
  const auto found = tasks.find(id);
  if (found == tasks.end()) return;
  PendingTask& task = found->second;
  if (result) {
    task.promise.set_value(std::move(*result));
  } else {
    const std::exception_ptr error = std::make_exception_ptr(TaskError(code, task.name, failure));
    task.promise.set_exception(error);
    if (task.on_end) deferred.emplace_back([end = std::move(task.on_end), error] { end(nullptr, error); });
  }
  if (task.slot == SIZE_MAX) {
    waiting.erase(std::remove(waiting.begin(), waiting.end(), id), waiting.end());
  } else {
    std::deque<std::uint64_t>& pending = slots[task.slot].pending;
    pending.erase(std::remove(pending.begin(), pending.end(), id), pending.end());
  }
  if (task.on_done) task.on_done();
  tasks.erase(found);
  dispatch();
  changed.notify_all();
}

// Under `mutex`: no worker can take tasks any more; fails every task not running.
void PoolState::break_pool(const std::string& why) {
  if (broken.empty()) broken = why;
  std::vector<std::uint64_t> stranded(waiting.begin(), waiting.end());
  for (const WorkerSlot& slot : slots) {
    if (!slot.child) stranded.insert(stranded.end(), slot.pending.begin(), slot.pending.end());
  }
  for (const std::uint64_t id : stranded) finish(id, std::nullopt, "the pool is broken: " + why, errc::pool_broken);
}

// Under `mutex`: the initializer failed or killed its worker: the pool stops for good.
void PoolState::fail_initializer(const std::string& why) {
  broken = "the initializer " + options.initializer.function + " " + why;
  stop_and_fail_all("the pool is broken: " + broken, errc::pool_broken);
}

void PoolState::handle(const ResultItem& item) {
  std::unique_lock<std::mutex> hold(mutex);
  if (item.id == initializer_id) {
    if (item.failed != 0) {
      const auto size = static_cast<std::size_t>(std::min<std::uint64_t>(item.payload.size, payload_bytes));
      return fail_initializer("failed: " + std::string(item.data, size));
    }
    if (item.slot < slots.size()) slots[item.slot].initialized = true;
    return;
  }
  const auto found = tasks.find(item.id);
  if (found == tasks.end()) return;  // it failed already (terminate())
  std::string_view bytes;
  try {
    bytes = payload_view(item, slots[found->second.slot].outbox_reader);
  } catch (const std::system_error& e) {
    return finish(item.id, std::nullopt, std::string("its result could not be read: ") + e.what());
  }
  if (item.failed != 0) return finish(item.id, std::nullopt, std::string(bytes));
  if (found->second.on_end) {
    // A typed chunk, decoded in place: its slot gets no task until finish(), so the outbox
    // holds still. A terminate() meanwhile finds no delivery left to fail.
    const TaskEnd end = std::exchange(found->second.on_end, nullptr);
    hold.unlock();
    {
      std::lock_guard<std::recursive_mutex> one_at_a_time(tap->delivering);
      end(&bytes, nullptr);
    }
    hold.lock();
    return finish(item.id, std::string(), "");
  }
  finish(item.id, std::string(bytes), "");
}

// A worker ended: fail the task it was running, if any, and replace it.
void PoolState::bury(std::size_t index, int code) {
  std::lock_guard<std::mutex> no_taker(tap->taking);
  while (const auto item = results.try_pop()) handle(*item);  // what it sent before it died
  std::lock_guard<std::mutex> hold(mutex);
  WorkerSlot& slot = slots[index];
  const long pid = slot.child->pid();
  slot.child.reset();
  if (slot.pending.size() > slot.tasks.size()) {
    const std::uint64_t lost = slot.pending.front();
    finish(lost, std::nullopt, death_message(code) + " (pid " + std::to_string(pid) + ") while running it");
  }
  if (stopping) return;
  if (!slot.initialized) return fail_initializer("ended its worker: " + describe_exit_status(code));
  try {
    start_worker(index);
  } catch (const std::exception& e) {  // descriptors or processes exhausted: tell the callers
    return break_pool(std::string("a worker could not be replaced: ") + e.what());
  }
  dispatch();
}

void PoolState::check_workers() {
  for (std::size_t i = 0; i < slots.size(); ++i) {
    std::optional<int> code;
    {
      std::lock_guard<std::mutex> hold(mutex);
      if (!slots[i].child) continue;
      code = slots[i].child->wait_for(std::chrono::milliseconds(0));
    }
    if (code) bury(i, *code);
  }
}

// Never lets an exception out of the collector thread (std::terminate): the pool breaks,
// its workers are killed, and the callers see why.
void PoolState::collect() noexcept {
  try {
    drain();
  } catch (const std::exception& e) {
    give_up(e.what());
  }
  run_deferred();
}

void PoolState::give_up(const std::string& why) noexcept {
  std::lock_guard<std::mutex> hold(mutex);
  broken = "the pool's collector failed: " + why;
  stop_and_fail_all(broken, errc::pool_broken);
}

// Under `mutex`: no more tasks or replacements; kills every worker and fails every task
// with `why`. Returns the ids of the tasks it failed.
std::vector<std::uint64_t> PoolState::stop_and_fail_all(const std::string& why, errc code) {
  closed = stopping = true;
  for (WorkerSlot& slot : slots) {
    if (slot.child) slot.child->kill();
  }
  std::vector<std::uint64_t> failed;
  for (const auto& entry : tasks) failed.push_back(entry.first);
  while (!tasks.empty()) finish(tasks.begin()->first, std::nullopt, why, code);
  return failed;
}

void PoolState::drain() {
  for (;;) {
    {
      std::lock_guard<std::mutex> hold(mutex);
      if (stopping && std::none_of(slots.begin(), slots.end(), [](const WorkerSlot& w) { return w.child.has_value(); }))
        return;
    }
    if (const auto item = results.pop_for(std::chrono::milliseconds(20))) {
      handle(*item);
      run_deferred();
      continue;
    }
    check_workers();
    run_deferred();
  }
}

bool take_one_result(PoolTap& tap, bool patient) {
  std::unique_lock<std::mutex> taking(tap.taking, std::try_to_lock);
  PoolState* s = taking.owns_lock() ? tap.state : nullptr;
  if (s == nullptr) {
    spin_pause();
    return !taking.owns_lock();  // another thread takes; or the pool is gone
  }
  std::optional<ResultItem> item;
  if (s->results.size() != 0) item = s->results.try_pop();
  if (!item) {
    spin_pause();
    return patient ||
           std::none_of(s->slots.begin(), s->slots.end(), [](const WorkerSlot& w) { return w.tasks.size() != 0; });
  }
  try {
    s->handle(*item);
  } catch (const std::exception& e) {
    s->give_up(e.what());
  }
  // The deliveries are taken while the pool is sure to live, and run after it may be gone.
  std::lock_guard<std::recursive_mutex> one_at_a_time(tap.delivering);
  const std::vector<std::function<void()>> ready = s->take_deferred();
  taking.unlock();
  for (const auto& delivery : ready) delivery();
  return true;
}

void check_open(const PoolState& s, const char* call) {
  if (!s.broken.empty()) fail(errc::pool_broken, std::string(call) + ": the pool is broken: " + s.broken);
  if (s.closed) fail(errc::closed, std::string(call) + ": the pool is closed");
}

}  // namespace interproc::detail
