// SPDX-License-Identifier: MIT
#pragma once
// The parent's side of a ProcessPool: its worker slots, the tasks not finished yet and the
// collector thread (pool_state.cpp). process_pool.cpp builds the public calls on it.
//
// Tasks wait in the parent, oldest first, and each goes to a worker only when that worker
// has nothing to do, so a long task never holds back others while a worker is idle. Each
// worker slot has its own task queue (holding at most the one task handed to it); all
// workers share one result queue, which the collector thread drains. So when a worker dies,
// after the results it managed to send are handled, the task still pending on its slot is
// either in its queue (left for its replacement) or the one it was running, which fails with
// the worker's exit status. A worker that cannot be replaced breaks the pool: the tasks
// waiting fail with errc::pool_broken, and so do later submissions.
//
// A thread waiting in get() takes results off the result queue itself for up to 50 µs
// before it sleeps (take_one_result): one task at a time then costs no wake-up of the
// collector and none of the caller, only the worker's, and none at all when the worker is
// still watching its queue for the next task.
//
// Payloads (arguments, results) up to payload_bytes travel inside the queue items; larger
// ones in the slot's inbox (written by dispatch()) or outbox (written by the worker, read by
// the collector before the slot gets its next task), arenas that grow as needed
// (pool_arena.hpp).
#include <interproc/process_pool.hpp>

#include "common/pool_arena.hpp"
#include "common/pool_wire.hpp"

#include <condition_variable>
#include <memory>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace interproc::detail {

// One worker place: its queue and arenas outlive the worker, so a replacement takes over
// what was queued for it.
struct WorkerSlot {
  WorkerSlot(const std::string& nonce, std::size_t index);
  WorkerSlot(const WorkerSlot&) = delete;  // its arenas point at its segments
  WorkerSlot& operator=(const WorkerSlot&) = delete;
  // Both arenas back to generation 0, for a new worker or none.
  void restart_arenas() noexcept {
    inbox_writer.restart();
    outbox_reader.restart();
  }

  SharedQueue<TaskItem> tasks;
  SharedSegment inbox;   // generation 0 of the task payloads' arena, parent to worker
  SharedSegment outbox;  // generation 0 of the results' arena, worker to parent
  ArenaWriter inbox_writer;
  ArenaReader outbox_reader;
  std::optional<Child> child;
  bool initialized = false;           // its worker ran the pool's initializer (or there is none)
  std::deque<std::uint64_t> pending;  // handed to this slot and not finished (at most one)
};

// A task not finished yet.
struct PendingTask {
  std::promise<std::string> promise;  // a string task's result
  std::size_t slot = SIZE_MAX;        // SIZE_MAX: still waiting in the parent
  std::string name;
  TaskItem item{};
  ByteBuffer payload;             // arguments too large for the item, until dispatch() puts them in an inbox
  PayloadWriter write_payload;    // else what writes them there
  std::function<void()> on_done;  // imap_unordered's notice
  TaskEnd on_end;                 // a typed chunk's delivery
};

struct PoolState;

// Besides the collector, a thread waiting in get() takes results off the queue (under
// `taking`, tried, so one thread at a time, and held by bury() so that a dead worker's last
// result is not in flight while its task is failed). Deliveries run under `delivering`
// (recursive: a callback may wait for a task), one at a time, as on one thread.
struct PoolTap {
  std::mutex taking;
  std::recursive_mutex delivering;
  PoolState* state = nullptr;  // null once the pool is gone
};

struct PoolState {
  PoolState(std::size_t workers, const std::vector<SharedObject>& objs, const PoolOptions& opts);
  PoolState(const PoolState&) = delete;
  PoolState& operator=(const PoolState&) = delete;
  ~PoolState();

  void start_worker(std::size_t index);
  // Queues a task for the next free worker; never waits for room. Under `mutex`.
  std::uint64_t enqueue(std::string_view task, TaskKind kind, ByteBuffer payload, PayloadWriter write_payload,
                        std::function<void()> on_done, TaskEnd on_end);
  void run_deferred();
  // Under `tap->delivering`: the deliveries that finish() left, to run outside `mutex`.
  std::vector<std::function<void()>> take_deferred();
  void handle(const ResultItem& item);
  void give_up(const std::string& why) noexcept;
  std::vector<std::uint64_t> stop_and_fail_all(const std::string& why, errc code);
  void forget_arenas() noexcept;
  void collect() noexcept;

  PoolOptions options;
  std::vector<SharedObject> objects;
  std::string nonce;
  SharedQueue<ResultItem> results;
  std::deque<WorkerSlot> slots;  // never moved: a deque's emplace_back moves no element
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
  std::shared_ptr<PoolTap> tap = std::make_shared<PoolTap>();

 private:
  void dispatch();
  void send(std::size_t index, std::uint64_t id, PendingTask& task);
  void finish(std::uint64_t id, std::optional<std::string> result, const std::string& failure,
              errc code = errc::task_failed);
  void break_pool(const std::string& why);
  void fail_initializer(const std::string& why);
  void bury(std::size_t index, int code);
  void check_workers();
  void drain();
};

// Under `s.mutex`: throws unless the pool takes new tasks.
void check_open(const PoolState& s, const char* call);

}  // namespace interproc::detail
