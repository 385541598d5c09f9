// SPDX-License-Identifier: MIT
// ProcessPool, written once for every OS over spawn_child and SharedQueue.
//
// Tasks wait in the parent, oldest first, and each goes to a worker only when that worker
// has nothing to do, so a long task never holds back others while a worker is idle. Each
// worker slot has its own task queue (holding at most the one task handed to it); all
// workers share one result queue, which a collector thread in the parent drains. So when a
// worker dies, after the results it managed to send are handled, the task still pending on
// its slot is either in its queue (left for its replacement) or the one it was running,
// which fails with the worker's exit status. A worker that cannot be replaced breaks the
// pool: the tasks waiting fail with errc::pool_broken, and so do later submissions.
//
// Payloads (arguments, results) up to payload_bytes travel inside the queue items; larger
// ones up to arena_bytes in the slot's inbox (written by dispatch()) or outbox (written by
// the worker, read by the collector before the slot gets its next task); larger still in a
// named segment each, created by the sender and removed by the receiver. Windows
// keeps a named segment only while a handle is open, so the sender keeps its handle until
// the receiver is done: the parent until the task finishes, a worker until the parent
// releases the slot's `taken` semaphore for that result.

#include <interproc/process_pool.hpp>

#include "common/exit_status.hpp"
#include "common/fail.hpp"
#include "common/transfer.hpp"

#include <gsl/assert>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <tuple>
#include <utility>
#include <unordered_map>

namespace interproc {
namespace detail {
namespace {

constexpr std::size_t payload_bytes = 960;
constexpr std::size_t slot_capacity = 32;     // the result queue's room per worker
constexpr std::size_t first_pool_object = 6;  // after the queues, semaphore, initializer, inbox, outbox
// Payloads over payload_bytes and up to arena_bytes travel in the slot's inbox or outbox: a
// segment made once per slot, reused by every task (the slot runs one at a time), whose
// pages are touched only as far as payloads reach. Larger ones take a named segment each.
constexpr std::size_t arena_bytes = std::size_t{8} << 20;
constexpr std::uint32_t in_arena = 2;        // TaskItem/ResultItem::spilled: 1 a named segment, 2 the arena
constexpr std::uint64_t initializer_id = 0;  // the result id of a worker's initializer (tasks start at 1)

struct TaskItem {
  std::uint64_t id;
  std::uint32_t size;  // payload bytes
  std::uint32_t spilled;
  std::uint32_t batch;  // the payload is a list of argument lists (map's chunks)
  char task[max_entry_name + 1];
  char data[payload_bytes];
};

struct ResultItem {
  std::uint64_t id;
  std::uint32_t size;
  std::uint32_t spilled;
  std::uint32_t failed;
  std::uint32_t slot;  // the sender's slot (read for initializer_id only)
  char data[payload_bytes];
};

std::map<std::string, TaskFunction, std::less<>>& task_registry() {
  static std::map<std::string, TaskFunction, std::less<>> tasks;
  return tasks;
}

TaskFunction find_task(std::string_view name) {
  const auto found = task_registry().find(name);
  return found == task_registry().end() ? nullptr : found->second;
}

// The named segment that carries payload `id` of pool `nonce`: 'a' arguments, 'r' result.
std::string spill_name(const std::string& nonce, std::uint64_t id, char what) {
  char text[40];
  std::snprintf(text, sizeof text, "ip%s.%llx%c", nonce.c_str(), static_cast<unsigned long long>(id), what);
  return text;
}

// Writes `bytes` into an item's payload, or into a new named segment (returned, to be kept
// open until the receiver has it) when they do not fit.
template <class Item>
std::optional<SharedSegment> put_payload(Item& item, const std::string& bytes, const std::string& name) {
  item.size = static_cast<std::uint32_t>(std::min<std::size_t>(bytes.size(), UINT32_MAX));
  item.spilled = bytes.size() > payload_bytes ? 1 : 0;
  if (item.spilled == 0) {
    std::memcpy(item.data, bytes.data(), bytes.size());
    return std::nullopt;
  }
  if (bytes.size() > UINT32_MAX) fail(errc::invalid_argument, "ProcessPool: a payload of more than 4 GiB");
  SharedSegment spill = SharedSegment::create_named(name, bytes.size());
  std::memcpy(spill.bytes().data(), bytes.data(), bytes.size());
  return spill;
}

template <class Item>
std::string take_payload(const Item& item, const std::string& name) {
  if (item.spilled == 0) return std::string(item.data, std::min<std::size_t>(item.size, payload_bytes));
  SharedSegment spill = SharedSegment::open_named(name);
  SharedSegment::remove_named(name);
  const std::size_t size = std::min<std::size_t>(spill.size(), item.size);
  return std::string(reinterpret_cast<const char*>(spill.bytes().data()), size);
}

std::string_view arena_view(SharedSegment& arena, std::size_t size) {
  return std::string_view(reinterpret_cast<const char*>(arena.bytes().data()), std::min(size, arena.size()));
}

// Arguments as one byte string: a 4-byte count, then each as a 4-byte length and its bytes.
void append_u32(std::string& out, std::size_t value) {
  const auto v = static_cast<std::uint32_t>(value);
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

std::string encode_args(const std::vector<std::string>& args) {
  std::string out;
  append_u32(out, args.size());
  for (const std::string& arg : args) {
    if (arg.size() > UINT32_MAX) fail(errc::invalid_argument, "ProcessPool: an argument of more than 4 GiB");
    append_u32(out, arg.size());
    out += arg;
  }
  return out;
}

std::vector<std::string> decode_args(std::string_view bytes) {
  std::size_t at = 0;
  const auto read_u32 = [&]() -> std::size_t {
    std::uint32_t v = 0;
    if (bytes.size() - at < sizeof v) fail(errc::invalid_argument, "ProcessPool: truncated task arguments");
    std::memcpy(&v, bytes.data() + at, sizeof v);
    at += sizeof v;
    return v;
  };
  std::vector<std::string> args(read_u32());
  for (std::string& arg : args) {
    const std::size_t length = read_u32();
    if (bytes.size() - at < length) fail(errc::invalid_argument, "ProcessPool: truncated task arguments");
    arg.assign(bytes.substr(at, length));
    at += length;
  }
  return args;
}

// ---- the worker ----

// Runs `fn` on `args`: true and its result, or false and why it failed.
std::pair<bool, std::string> run_one(TaskFunction fn, ChildContext& ctx, std::vector<std::string> args) {
  try {
    TaskContext context(ctx, first_pool_object, std::move(args));
    return {true, fn(context)};
  } catch (const std::exception& e) {
    return {false, e.what()};
  } catch (...) {
    return {false, "the task threw a non-standard exception"};
  }
}

// A batch's results as one list: each entry a status byte ('1' done, '0' failed) and bytes.
std::string run_batch(TaskFunction fn, ChildContext& ctx, std::string_view payload) {
  std::vector<std::string> outcomes;
  for (const std::string& args : decode_args(payload)) {
    auto [done, output] = run_one(fn, ctx, decode_args(args));
    outcomes.push_back((done ? "1" : "0") + output);
  }
  return encode_args(outcomes);
}

ResultItem run_task(ChildContext& ctx, const TaskItem& task, const std::string& nonce,
                    std::deque<SharedSegment>& open_spills) {
  ResultItem result{task.id, 0, 0, 0, 0, {}};
  std::string output;
  try {
    const char* name_end = std::find(task.task, task.task + sizeof task.task, '\0');
    const TaskFunction fn = find_task(std::string_view(task.task, static_cast<std::size_t>(name_end - task.task)));
    if (fn == nullptr) fail(errc::unknown_entry, "ProcessPool: the worker has no such task");
    // An inbox payload is read in place: its arguments are the only copy.
    std::string payload;
    if (task.spilled != in_arena) payload = take_payload(task, spill_name(nonce, task.id, 'a'));
    const std::string_view bytes = task.spilled == in_arena ? arena_view(ctx.segment(4), task.size) : payload;
    bool done = true;
    if (task.batch != 0) {
      output = run_batch(fn, ctx, bytes);
    } else {
      std::tie(done, output) = run_one(fn, ctx, decode_args(bytes));
    }
    result.failed = done ? 0 : 1;
  } catch (const std::exception& e) {
    result.failed = 1;
    output = e.what();
  }
  if (output.size() > payload_bytes && output.size() <= arena_bytes) {
    result.size = static_cast<std::uint32_t>(output.size());
    result.spilled = in_arena;
    std::memcpy(ctx.segment(5).bytes().data(), output.data(), output.size());  // the parent read the last
  } else if (auto spill = put_payload(result, output, spill_name(nonce, task.id, 'r'))) {
    open_spills.push_back(std::move(*spill));
  }
  return result;
}

// Runs the pool's initializer, if any, and tells the parent how it went (initializer_id): a
// failure's message, cut to fit the item, since the worker ends at once.
bool run_initializer(ChildContext& ctx, const std::string& function, std::uint32_t slot,
                     SharedQueue<ResultItem>& results) {
  if (function.empty()) return true;
  ResultItem note{initializer_id, 0, 0, 0, slot, {}};
  std::pair<bool, std::string> outcome{false, "no such function in the worker"};
  if (const TaskFunction fn = find_task(function)) {
    const auto bytes = ctx.segment(3).bytes();
    const std::size_t size = std::stoull(ctx.args().at(4));
    const std::string_view payload(reinterpret_cast<const char*>(bytes.data()), std::min(size, bytes.size()));
    outcome = run_one(fn, ctx, decode_args(payload));  // a payload as submit_chunk's
  }
  note.failed = outcome.first ? 0 : 1;
  note.size = static_cast<std::uint32_t>(std::min(outcome.second.size(), payload_bytes));
  if (note.failed != 0) std::memcpy(note.data, outcome.second.data(), note.size);
  results.push(note);
  return outcome.first;
}

// Closes the spilled results the parent has taken; with `all`, waits until it took them all.
void close_taken_spills(InterprocessSemaphore& taken, std::deque<SharedSegment>& open_spills, bool all) {
  while (!open_spills.empty() && (all ? (taken.acquire(), true) : taken.try_acquire())) open_spills.pop_front();
}

}  // namespace

bool register_task(std::string_view name, TaskFunction task) {
  if (!is_valid_entry_name(name) || task == nullptr || !task_registry().emplace(std::string(name), task).second) {
    std::fprintf(stderr, "interproc: INTERPROC_TASK(%.*s): an invalid or repeated task name\n",
                 static_cast<int>(name.size()), name.data());
    std::fflush(stderr);
    Expects(false);
  }
  return true;
}

}  // namespace detail

// Objects: 0 the slot's task queue, 1 the result queue, 2 the slot's `taken` semaphore, 3 the
// initializer's arguments, then the pool's objects. Args: the pool's nonce, the most tasks to
// run (0: no limit), the slot's index, the initializer's function ("" for none) and the size
// of its arguments.
INTERPROC_CHILD_ENTRY(interproc_pool_worker) {
  auto& tasks = ctx.queue<detail::TaskItem>(0);
  auto& results = ctx.queue<detail::ResultItem>(1);
  auto& taken = ctx.semaphore(2);
  const std::string& nonce = ctx.args().at(0);
  const unsigned long long most = std::stoull(ctx.args().at(1));
  const auto slot = static_cast<std::uint32_t>(std::stoul(ctx.args().at(2)));
  if (!detail::run_initializer(ctx, ctx.args().at(3), slot, results)) return 3;
  std::deque<SharedSegment> open_spills;
  for (unsigned long long done = 0; most == 0 || done < most; ++done) {
    detail::close_taken_spills(taken, open_spills, false);
    const std::optional<detail::TaskItem> task = tasks.pop();
    if (!task) break;  // the pool closed this slot: it is joining
    results.push(detail::run_task(ctx, *task, nonce, open_spills));
  }
  detail::close_taken_spills(taken, open_spills, true);
  return 0;
}

namespace detail {
namespace {

// One worker place: its queue and `taken` semaphore outlive the worker, so a replacement
// takes over what was queued for it.
struct WorkerSlot {
  SharedQueue<TaskItem> tasks = SharedQueue<TaskItem>::create(slot_capacity);
  InterprocessSemaphore taken = InterprocessSemaphore::create(0);
  SharedSegment inbox = SharedSegment::create(arena_bytes);   // the task's payload, parent to worker
  SharedSegment outbox = SharedSegment::create(arena_bytes);  // its result's, worker to parent
  std::optional<Child> child;
  bool initialized = false;           // its worker ran the pool's initializer (or there is none)
  std::deque<std::uint64_t> pending;  // handed to this slot and not finished (at most one)
};

// What imap_unordered's notices write to: shared with each notice, so that a notice that
// runs after imap_unordered left (it threw) writes to live memory.
struct DoneList {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::size_t> done;
};

// A task not finished yet.
struct PendingTask {
  std::promise<std::string> promise;
  std::size_t slot = SIZE_MAX;  // SIZE_MAX: still waiting in the parent
  std::string name;
  TaskItem item{};
  std::optional<SharedSegment> spill;  // its arguments, kept open until it finishes
  std::string payload;                 // its arguments until dispatch() puts them in an inbox
  std::function<void()> on_done;       // imap_unordered's notice
  TaskEnd on_end;                      // the typed calls' delivery, run outside the lock
};

std::string random_nonce() {
  std::random_device device;
  char text[16];
  std::snprintf(text, sizeof text, "%08x", static_cast<unsigned>(device()));
  return text;
}

std::string death_message(int code) { return "its worker " + describe_exit_status(code); }

}  // namespace

struct PoolState {
  PoolOptions options;
  std::vector<SharedObject> objects;
  std::string nonce = random_nonce();
  SharedQueue<ResultItem> results;
  std::vector<WorkerSlot> slots;
  std::mutex mutex;
  std::condition_variable changed;  // a task finished, or the pool closed
  std::unordered_map<std::uint64_t, PendingTask> tasks;
  std::deque<std::uint64_t> waiting;  // submitted, not handed to a worker yet, oldest first
  std::uint64_t next_id = 1;
  bool closed = false;
  std::string broken;     // why the pool is broken; empty while it is not
  bool stopping = false;  // no more replacements: joining or terminating
  std::thread collector;
  SharedSegment initializer_arguments;
  std::vector<std::function<void()>> deferred;  // on_end calls to run outside `mutex`

  PoolState(std::size_t workers, const std::vector<SharedObject>& objs, const PoolOptions& opts)
      : options(opts), objects(objs), results(SharedQueue<ResultItem>::create(workers * (slot_capacity + 1))),
        slots(workers),
        initializer_arguments(SharedSegment::create(std::max<std::size_t>(1, opts.initializer.arguments.size()))) {
    std::memcpy(initializer_arguments.bytes().data(), opts.initializer.arguments.data(),
                opts.initializer.arguments.size());
  }
  PoolState(const PoolState&) = delete;
  PoolState& operator=(const PoolState&) = delete;
  // Workers still running (a constructor that threw) end once their queues close; each
  // Child then waits for its worker.
  ~PoolState() {
    for (WorkerSlot& slot : slots) slot.tasks.close();
  }

  void start_worker(std::size_t index) {
    WorkerSlot& slot = slots[index];
    std::vector<SharedObject> passed{slot.tasks, results, slot.taken, initializer_arguments, slot.inbox, slot.outbox};
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

  // Runs the deliveries that finish() left, outside `mutex` (they run user callbacks).
  void run_deferred() {
    std::vector<std::function<void()>> ready;
    {
      std::lock_guard<std::mutex> hold(mutex);
      ready.swap(deferred);
    }
    for (const auto& delivery : ready) delivery();
  }

  // Under `mutex`: hands waiting tasks to the live workers that have nothing to do.
  void dispatch() {
    for (WorkerSlot& slot : slots) {
      if (waiting.empty() || !broken.empty() || stopping) return;  // stopping: its workers are gone
      if (!slot.child || !slot.pending.empty()) continue;
      const std::uint64_t id = waiting.front();
      waiting.pop_front();
      PendingTask& task = tasks.at(id);
      task.slot = static_cast<std::size_t>(&slot - slots.data());
      if (task.item.spilled == in_arena) {  // the slot's previous task is done with its inbox
        std::memcpy(slot.inbox.bytes().data(), task.payload.data(), task.payload.size());
        std::string().swap(task.payload);
      }
      slot.tasks.push(task.item);  // never waits: the slot holds at most this task
      slot.pending.push_back(id);
    }
  }

  // Under `mutex`: the task's end, success or failure (with `code`).
  void finish(std::uint64_t id, std::optional<std::string> result, const std::string& failure,
              errc code = errc::task_failed) {
    const auto found = tasks.find(id);
    if (found == tasks.end()) return;
    PendingTask& task = found->second;
    std::exception_ptr error;
    if (result) {
      task.promise.set_value(task.on_end ? *result : std::move(*result));
    } else {
      error = std::make_exception_ptr(TaskError(code, task.name, failure));
      task.promise.set_exception(error);
    }
    if (task.on_end) {
      deferred.emplace_back(
          [end = std::move(task.on_end), bytes = std::move(result), error] { end(bytes ? &*bytes : nullptr, error); });
    }
    if (task.slot == SIZE_MAX) {
      waiting.erase(std::remove(waiting.begin(), waiting.end(), id), waiting.end());
    } else {
      std::deque<std::uint64_t>& pending = slots[task.slot].pending;
      pending.erase(std::remove(pending.begin(), pending.end(), id), pending.end());
    }
    if (task.on_done) task.on_done();
    SharedSegment::remove_named(spill_name(nonce, id, 'a'));  // POSIX: left if the worker never took it
    tasks.erase(found);
    dispatch();
    changed.notify_all();
  }

  // Under `mutex`: no worker can take tasks any more; fails every task not running.
  void break_pool(const std::string& why) {
    if (broken.empty()) broken = why;
    std::vector<std::uint64_t> stranded(waiting.begin(), waiting.end());
    for (const WorkerSlot& slot : slots) {
      if (!slot.child) stranded.insert(stranded.end(), slot.pending.begin(), slot.pending.end());
    }
    for (const std::uint64_t id : stranded) finish(id, std::nullopt, "the pool is broken: " + why, errc::pool_broken);
  }

  // Under `mutex`: the initializer failed or killed its worker: the pool stops for good.
  void fail_initializer(const std::string& why) {
    broken = "the initializer " + options.initializer.function + " " + why;
    stop_and_fail_all("the pool is broken: " + broken, errc::pool_broken);
  }

  void handle(const ResultItem& item) {
    std::lock_guard<std::mutex> hold(mutex);
    if (item.id == initializer_id) {
      if (item.failed != 0)
        return fail_initializer("failed: " + std::string(item.data, std::min<std::size_t>(item.size, payload_bytes)));
      if (item.slot < slots.size()) slots[item.slot].initialized = true;
      return;
    }
    const auto found = tasks.find(item.id);
    if (found == tasks.end()) {  // it failed already (terminate()): its spilled result is nobody's
      if (item.spilled == 1) SharedSegment::remove_named(spill_name(nonce, item.id, 'r'));
      return;
    }
    std::string payload;
    try {
      payload = item.spilled == in_arena ? std::string(arena_view(slots[found->second.slot].outbox, item.size))
                                         : take_payload(item, spill_name(nonce, item.id, 'r'));
    } catch (const std::system_error& e) {
      finish(item.id, std::nullopt, std::string("its result could not be read: ") + e.what());
      return;
    }
    if (item.spilled == 1) slots[found->second.slot].taken.release();
    if (item.failed != 0) return finish(item.id, std::nullopt, payload);
    finish(item.id, std::move(payload), "");
  }

  // A worker ended: fail the task it was running, if any, and replace it.
  void bury(std::size_t index, int code) {
    while (const auto item = results.try_pop()) handle(*item);  // what it sent before it died
    std::lock_guard<std::mutex> hold(mutex);
    WorkerSlot& slot = slots[index];
    const long pid = slot.child->pid();
    slot.child.reset();
    if (slot.pending.size() > slot.tasks.size()) {
      const std::uint64_t lost = slot.pending.front();
      SharedSegment::remove_named(spill_name(nonce, lost, 'r'));
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

  void check_workers() {
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
  void collect() noexcept {
    try {
      drain();
    } catch (const std::exception& e) {
      give_up(e.what());
    }
    run_deferred();
  }

  void give_up(const std::string& why) noexcept {
    std::lock_guard<std::mutex> hold(mutex);
    broken = "the pool's collector failed: " + why;
    stop_and_fail_all(broken, errc::pool_broken);
  }

  // Under `mutex`: no more tasks or replacements; kills every worker and fails every task
  // with `why`. Returns the ids of the tasks it failed.
  std::vector<std::uint64_t> stop_and_fail_all(const std::string& why, errc code) {
    closed = stopping = true;
    for (WorkerSlot& slot : slots) {
      if (slot.child) slot.child->kill();
    }
    std::vector<std::uint64_t> failed;
    for (const auto& entry : tasks) failed.push_back(entry.first);
    while (!tasks.empty()) finish(tasks.begin()->first, std::nullopt, why, code);
    return failed;
  }

  void drain() {
    for (;;) {
      {
        std::lock_guard<std::mutex> hold(mutex);
        if (stopping &&
            std::none_of(slots.begin(), slots.end(), [](const WorkerSlot& w) { return w.child.has_value(); }))
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
};

}  // namespace detail

namespace {

void check_worker_count(std::size_t workers) {
  if (workers == 0) detail::fail(errc::invalid_argument, "ProcessPool: a pool needs at least one worker");
}

}  // namespace

ProcessPool::ProcessPool(std::size_t workers, const std::vector<SharedObject>& objects, StartMethod method)
    : ProcessPool(workers, objects, PoolOptions{method, 0}) {}

ProcessPool::ProcessPool(std::size_t workers, const std::vector<SharedObject>& objects, const PoolOptions& options)
    : state_(nullptr) {
  check_worker_count(workers);
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

namespace detail {

// Under `s.mutex`: throws unless the pool takes new tasks.
void check_open(const PoolState& s, const char* call) {
  if (!s.broken.empty()) fail(errc::pool_broken, std::string(call) + ": the pool is broken: " + s.broken);
  if (s.closed) fail(errc::closed, std::string(call) + ": the pool is closed");
}

// Throws unless `task` is registered (INTERPROC_TASK).
void check_known_task(std::string_view task, const char* call) {
  if (find_task(task) == nullptr) {
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

// Queues `payload` (a task's encoded arguments, or with `batch` a list of them) for the
// next free worker.
// Never waits for room: tasks wait in the parent, as Python's apply_async never blocks.
TaskFuture submit_payload(PoolState& s, std::string_view task, std::string payload, bool batch,
                          const std::function<void()>& on_done = {}, TaskEnd on_end = {}) {
  check_known_task(task, "ProcessPool::submit");
  std::lock_guard<std::mutex> hold(s.mutex);
  check_open(s, "ProcessPool::submit");
  const std::uint64_t id = s.next_id++;
  PendingTask pending;
  pending.item = TaskItem{id, 0, 0, batch ? 1u : 0u, {}, {}};
  std::memcpy(pending.item.task, task.data(), task.size());
  pending.name = std::string(task);
  pending.on_done = on_done;
  pending.on_end = std::move(on_end);
  if (payload.size() > payload_bytes && payload.size() <= arena_bytes) {
    pending.item.size = static_cast<std::uint32_t>(payload.size());
    pending.item.spilled = in_arena;
    pending.payload = std::move(payload);  // written into its worker's inbox by dispatch()
  } else {
    pending.spill = put_payload(pending.item, payload, spill_name(s.nonce, id, 'a'));
  }
  std::shared_future<std::string> result = pending.promise.get_future().share();
  s.tasks.emplace(id, std::move(pending));
  s.waiting.push_back(id);
  s.dispatch();
  return TaskFuture(std::move(result));
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
      results[at] = outcome.substr(1);
    }
    ++at;
  }
  return failure;
}

}  // namespace detail

TaskFuture ProcessPool::submit(std::string_view task, const std::vector<std::string>& args) {
  return detail::submit_payload(*state_, task, detail::encode_args(args), false);
}

std::size_t ProcessPool::chunk_size_for(std::size_t items, std::size_t requested) const {
  if (requested == 0) requested = state_->options.chunksize;
  return requested != 0 ? requested : std::max<std::size_t>(1, detail::auto_chunksize(items, size()));
}

void ProcessPool::check_accepting(const char* call) {
  std::lock_guard<std::mutex> hold(state_->mutex);
  detail::check_open(*state_, call);
}

TaskFuture ProcessPool::submit_chunk(const std::string& name, std::string payload, detail::TaskEnd on_end) {
  return detail::submit_payload(*state_, name, std::move(payload), false, {}, std::move(on_end));
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
    batches.push_back(detail::submit_payload(*state_, task, detail::encode_args(encoded), true));
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
    const auto notice = [list, i] {
      std::lock_guard<std::mutex> done_hold(list->mutex);
      list->done.push_back(i);
      list->changed.notify_one();
    };
    futures.push_back(detail::submit_payload(*state_, task, detail::encode_args(inputs[i]), false, notice));
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
  std::vector<std::uint64_t> unfinished;
  {
    std::lock_guard<std::mutex> hold(s.mutex);
    unfinished = s.stop_and_fail_all("the pool was terminated", errc::task_failed);
  }
  s.run_deferred();
  if (s.collector.joinable()) s.collector.join();  // every worker has ended: no result is made any more
  // A killed worker may have made a result's segment without sending it.
  for (const std::uint64_t id : unfinished) SharedSegment::remove_named(detail::spill_name(s.nonce, id, 'r'));
}

}  // namespace interproc
