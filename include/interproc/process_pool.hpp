// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// ProcessPool: Python's multiprocessing.Pool. A fixed set of worker processes runs tasks
/// registered by name with INTERPROC_TASK.
#include <interproc/codec.hpp>
#include <interproc/error.hpp>
#include <interproc/export.hpp>
#include <interproc/spawn.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace interproc {

/// What a task receives: its string arguments and the pool's shared objects, in the order
/// they were given to the ProcessPool constructor.
class TaskContext {
 public:
  /// The context of one task, made by the worker: `child`'s objects from `first_object` on
  /// are the pool's.
  explicit TaskContext(ChildContext& child, std::size_t first_object, std::vector<std::string> args)
      : child_(child), first_(first_object), args_(std::move(args)) {}

  /// The arguments given to submit() or map() for this task.
  const std::vector<std::string>& args() const noexcept { return args_; }
  /// How many shared objects the pool has.
  std::size_t object_count() const noexcept { return child_.object_count() - first_; }
  /// The pool's object `index`, as ChildContext gives it (errc::wrong_object_kind if it is
  /// another kind or type, or past the end).
  SharedSegment& segment(std::size_t index) { return child_.segment(at(index)); }
  /// The pool's object `index` as an InterprocessMutex (see segment()).
  InterprocessMutex& mutex(std::size_t index) { return child_.mutex(at(index)); }
  /// The pool's object `index` as an InterprocessEvent (see segment()).
  InterprocessEvent& event(std::size_t index) { return child_.event(at(index)); }
  /// The pool's object `index` as an InterprocessSemaphore (see segment()).
  InterprocessSemaphore& semaphore(std::size_t index) { return child_.semaphore(at(index)); }
  /// The pool's object `index` as an InterprocessCondition (see segment()).
  InterprocessCondition& condition(std::size_t index) { return child_.condition(at(index)); }
  /// As ChildContext::connection.
  Connection& connection(std::size_t index) { return child_.connection(at(index)); }
  /// The pool's object `index` as an InterprocessBarrier (see segment()).
  InterprocessBarrier& barrier(std::size_t index) { return child_.barrier(at(index)); }
  /// The pool's object `index` as an InterprocessRecursiveMutex (see segment()).
  InterprocessRecursiveMutex& recursive_mutex(std::size_t index) { return child_.recursive_mutex(at(index)); }
  /// The pool's object `index` as a SharedValue<T> of exactly this T (see segment()).
  template <class T>
  SharedValue<T>& value(std::size_t index) {
    return child_.value<T>(at(index));
  }
  /// The pool's object `index` as a SharedArray<T> of exactly this T (see segment()).
  template <class T>
  SharedArray<T>& array(std::size_t index) {
    return child_.array<T>(at(index));
  }
  /// The pool's object `index` as a SharedQueue<T> of exactly this T (see segment()).
  template <class T>
  SharedQueue<T>& queue(std::size_t index) {
    return child_.queue<T>(at(index));
  }
  /// The pool's object `index` as a JoinableQueue<T> of exactly this T (see segment()).
  template <class T>
  JoinableQueue<T>& joinable_queue(std::size_t index) {
    return child_.joinable_queue<T>(at(index));
  }

 private:
  // Past the end stays past the end, so that ChildContext reports it.
  std::size_t at(std::size_t index) const noexcept { return index < object_count() ? first_ + index : SIZE_MAX; }

  ChildContext& child_;
  std::size_t first_;
  std::vector<std::string> args_;
};

/// A task: receives its context, returns its result as bytes (a std::string).
using TaskFunction = std::string (*)(TaskContext&);

/// How a task's failure reaches its caller: code() is errc::task_failed (errc::pool_broken
/// when the pool broke first), what() the task's exception message exactly as it threw it
/// (or how its worker ended), and task() the task's name.
class TaskError : public std::system_error {
 public:
  /// A failure of task `task` with `message`.
  TaskError(errc code, const std::string& task, const std::string& message)
      : std::system_error(make_error_code(code), message), task_(task), message_(message) {}
  /// The task's message, with nothing added.
  const char* what() const noexcept override { return message_.what(); }
  /// The name of the task that failed.
  const char* task() const noexcept { return task_.what(); }

 private:
  std::runtime_error task_;  // copied without throwing, as an exception must be
  std::runtime_error message_;
};

namespace detail {
// Used by INTERPROC_TASK. A duplicate or invalid name is a caller bug (Expects).
INTERPROC_EXPORT bool register_task(std::string_view name, TaskFunction task);
struct PoolState;
template <class R>
class ChunkJob;
template <class F>
struct function_traits;
template <class F>
using result_t = typename function_traits<F>::result;
// A typed function's worker side (INTERPROC_FUNCTION): a chunk of encoded inputs in, their
// encoded results out.
using ChunkFunction = void (*)(TaskContext& ctx, std::string_view chunk, ByteBuffer& results);
INTERPROC_EXPORT bool register_chunk_function(std::string_view name, ChunkFunction function);
// Writes a typed chunk's inputs into `out` (its worker's inbox) when a worker takes it, so
// that the inputs are copied once.
using PayloadWriter = std::function<void(ByteBuffer& out)>;
// How a typed chunk ended, told outside the pool's lock, one at a time, on the pool's
// collector thread or a thread waiting in get() that took the result: its result bytes, read
// in place (valid during the call only), or else its failure.
using TaskEnd = std::function<void(const std::string_view* result, std::exception_ptr failure)>;
// The callback of a submit() given none.
struct ignore_t {
  template <class... X>
  void operator()(const X&...) const noexcept {}
};
// A pool's result queue as a thread waiting in get() reaches it (process_pool.cpp); it
// outlives the pool, and then reaches nothing.
struct PoolTap;
// Takes one result off the pool's queue and delivers it, as the collector thread would, if
// one is there now and no other thread is taking one; else a CPU spin-wait hint. False
// when the waiting should stop: not `patient` and a task handed to a worker is not taken
// yet (its worker sleeps, or waits for a CPU, maybe the spinning caller's).
INTERPROC_EXPORT bool take_one_result(PoolTap& tap, bool patient);
// How long get() takes results itself before it sleeps: a short task's result then reaches
// its caller with no wake-up of the collector thread or of the caller (each costs tens of
// microseconds on an idle CPU), and a worker whose next task comes that soon finds it
// before it sleeps. Only a waiting caller spins, so an idle pool uses no CPU; and it stops
// after untaken_watch if a worker has not taken its task by then.
inline constexpr std::chrono::microseconds result_watch{50};
inline constexpr std::chrono::microseconds untaken_watch{30};
template <class Ready>
void take_results_until(PoolTap* tap, Ready&& ready) {
  if (tap == nullptr) return;
  const auto start = std::chrono::steady_clock::now();
  for (auto now = start; now - start < result_watch; now = std::chrono::steady_clock::now()) {
    if (ready() || !take_one_result(*tap, now - start < untaken_watch)) return;
  }
}
template <class Future>
void take_results_until_ready(PoolTap* tap, const Future& future) {
  take_results_until(tap, [&future] { return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready; });
}
}  // namespace detail

/// Registers a task under `name` (letters, digits and '_'); the body sees `ctx`, an
/// interproc::TaskContext&, and returns a std::string:
///     INTERPROC_TASK(file_size) { return std::to_string(std::filesystem::file_size(ctx.args().at(0))); }
#define INTERPROC_TASK(name)                                               \
  static std::string interproc_task_##name(::interproc::TaskContext& ctx); \
  [[maybe_unused]] static const bool interproc_task_registered_##name =    \
      ::interproc::detail::register_task(#name, &interproc_task_##name);   \
  static std::string interproc_task_##name([[maybe_unused]] ::interproc::TaskContext& ctx)

template <class R>
class TypedFuture;

/// A task's result, to come. get() returns it, or throws std::system_error with
/// errc::task_failed carrying the task's message (it threw, or its worker died: the message
/// says how, with the exit code or signal). Copyable; get() may be called more than once.
class TaskFuture {
 public:
  /// The future of one submitted task (made by ProcessPool::submit); get() takes results
  /// from `tap` for a moment before it sleeps.
  explicit TaskFuture(std::shared_future<std::string> result, std::shared_ptr<detail::PoolTap> tap = {})
      : result_(std::move(result)), tap_(std::move(tap)) {}
  /// Waits for the task; its result, or its failure as an exception.
  std::string get() const {
    detail::take_results_until_ready(tap_.get(), result_);
    return result_.get();
  }
  /// Whether the task has finished (get() then returns at once).
  bool ready() const { return result_.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }
  /// Waits at most `timeout`; whether the task has finished.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return result_.wait_for(timeout) == std::future_status::ready;
  }

 private:
  std::shared_future<std::string> result_;
  std::shared_ptr<detail::PoolTap> tap_;
};

/// What each worker runs once before its first task (Python's initializer and initargs),
/// made by pool_initializer(fn, args...) over an INTERPROC_FUNCTION function. Empty: none.
struct PoolInitializer {
  std::string function;   ///< the registered name of the function; empty for none
  std::string arguments;  ///< its arguments, encoded as the payload of a chunk of one input
};

/// How a pool starts and recycles its workers.
struct PoolOptions {
  PoolOptions() = default;
  /// PoolOptions{method, max_tasks_per_worker}; the other members as they default.
  PoolOptions(StartMethod start, std::size_t max_tasks = 0) : method(start), max_tasks_per_worker(max_tasks) {}

  StartMethod method = StartMethod::spawn;  ///< how workers start (fork: POSIX only)
  std::size_t max_tasks_per_worker = 0;     ///< Python's maxtasksperchild: 0 keeps workers for good
  /// Run in every worker, replacements too, before its first task. One that throws or kills
  /// its worker breaks the pool: the pool stops, and its tasks and later calls fail with
  /// errc::pool_broken naming the initializer and why (Python's would re-spawn forever).
  PoolInitializer initializer;
  /// The typed calls' chunksize when they are given 0: 0 is automatic (Python's: about four
  /// chunks per worker).
  std::size_t chunksize = 0;
};

/// The initializer fn(args...) for PoolOptions::initializer; fn is an INTERPROC_FUNCTION
/// function (errc::unknown_entry if not), its result is ignored.
template <class F, class... A>
PoolInitializer pool_initializer(F* fn, A&&... args);

/// Python's multiprocessing.Pool: `workers` processes, started once, that run registered
/// tasks until the pool closes. Tasks and their arguments and results of any size travel
/// through shared queues (large ones through a per-worker inbox and outbox segment, reused by
/// every task; past 8 MiB a named segment each), never a pipe. Tasks wait
/// in this process and each goes to whichever worker is free, so a long task holds back no
/// other while a worker is idle. A worker that crashes or is killed fails the task it was
/// running, with its exit code, signal or Windows NTSTATUS named in the message, and is
/// replaced. A worker that cannot be replaced (descriptors or processes exhausted) breaks
/// the pool: the tasks waiting fail with errc::pool_broken, and so do later calls. Workers end with
/// the pool: the destructor closes the pool and waits for every task (join); terminate()
/// ends them at once; and they are started with SpawnOptions::die_with_parent, so that they
/// die with this process even when it is killed. The `objects` must outlive the pool (its
/// replacements receive them too). Methods are thread-safe. Not copyable or movable.
class INTERPROC_EXPORT ProcessPool {
 public:
  /// One spawn worker per hardware thread (at least 1), as Python's Pool() with no count.
  ProcessPool() : ProcessPool(std::max(1u, std::thread::hardware_concurrency())) {}
  /// Starts `workers` processes (at least 1), each receiving `objects` for TaskContext.
  /// Throws as spawn_child does: errc::missing_guard in a spawn-style child whose main()
  /// skipped child_main, errc::not_supported for fork on Windows, errc::invalid_argument for
  /// 0 workers.
  explicit ProcessPool(std::size_t workers, const std::vector<SharedObject>& objects = {},
                       StartMethod method = StartMethod::spawn);
  /// As above, with the start method and max_tasks_per_worker in `options`.
  ProcessPool(std::size_t workers, const std::vector<SharedObject>& objects, const PoolOptions& options);
  /// close() and join(): waits for every task submitted.
  ~ProcessPool();
  ProcessPool(const ProcessPool&) = delete;
  ProcessPool& operator=(const ProcessPool&) = delete;

  /// Queues task `task` with `args`; never waits (tasks wait in this process). Throws errc::unknown_entry for a name no
  /// INTERPROC_TASK registered, errc::closed after close() or terminate(), errc::pool_broken once a worker could not be
  /// replaced, errc::invalid_argument for a task name or arguments the worker could not be given.
  TaskFuture submit(std::string_view task, const std::vector<std::string>& args = {});
  /// Runs `task` once per input and returns the results in input order. Throws as submit()
  /// does before running anything (also over no inputs), then the first failure in input
  /// order (errc::task_failed), after every task has finished.
  std::vector<std::string> map(std::string_view task, const std::vector<std::vector<std::string>>& inputs);
  /// Runs `task` once per input and calls on_result(input index, result) as each finishes,
  /// in the order they finish (Python's imap_unordered). Throws as map(), unless `on_error`
  /// is given: then on_error(input index, failure) is called for each failed input instead.
  /// If the pool closes while it is queuing, it throws errc::closed; the tasks it queued
  /// still run.
  void imap_unordered(std::string_view task, const std::vector<std::vector<std::string>>& inputs,
                      const std::function<void(std::size_t, const std::string&)>& on_result,
                      const std::function<void(std::size_t, const std::system_error&)>& on_error = {});

  // Typed calls over functions registered with INTERPROC_FUNCTION (see typed_pool.hpp).
  // A function no INTERPROC_FUNCTION registered is errc::unknown_entry. chunksize 0 is
  // automatic: about four chunks per worker, as Python's.

  /// Runs fn(args...) in a worker; its future result. Never waits: tasks wait in this process.
  template <class F, class... A>
  auto submit(F* fn, A&&... args) -> TypedFuture<detail::result_t<F*>>;
  /// Python's apply_async(fn, args, callback=, error_callback=): runs fn(args...) and then
  /// calls callback(const R&) or error_callback(const std::system_error&) in this process,
  /// one at a time, on the pool's collector thread (or on a thread waiting in a get() of
  /// this pool that took the result itself), before the future is ready. Callbacks should
  /// be quick (they hold back the other results) and must not throw (what they throw is
  /// dropped).
  template <class F, class... T, class OnResult, class OnError = detail::ignore_t>
  auto submit(F* fn, std::tuple<T...> args, OnResult callback, OnError error_callback = {})
      -> std::enable_if_t<std::is_invocable_v<OnResult&, const detail::result_t<F*>&>,
                          TypedFuture<detail::result_t<F*>>>;
  /// map() without waiting: a future of the whole result vector (Python's map_async). Its
  /// get() throws the first failure in input order.
  template <class F, class In>
  auto map_async(F* fn, const std::vector<In>& inputs, std::size_t chunksize = 0)
      -> TypedFuture<std::vector<detail::result_t<F*>>>;
  /// starmap() without waiting (Python's starmap_async).
  template <class F, class... T>
  auto starmap_async(F* fn, const std::vector<std::tuple<T...>>& inputs, std::size_t chunksize = 0)
      -> TypedFuture<std::vector<detail::result_t<F*>>>;
  /// fn over every input, results in input order; the first failure is rethrown at the end.
  template <class F, class In>
  auto map(F* fn, const std::vector<In>& inputs, std::size_t chunksize = 0) -> std::vector<detail::result_t<F*>>;
  /// fn(a, b, ...) for every tuple of arguments, in input order (Python's starmap).
  template <class F, class... T>
  auto starmap(F* fn, const std::vector<std::tuple<T...>>& inputs, std::size_t chunksize = 0)
      -> std::vector<detail::result_t<F*>>;
  /// As map(), calling on_result(result) in input order as soon as each is next. Without
  /// an error callback the first failure is rethrown after every result was delivered.
  template <class F, class In, class OnResult>
  auto imap(F* fn, const std::vector<In>& inputs, OnResult on_result, std::size_t chunksize = 0)
      -> std::enable_if_t<std::is_function_v<F>>;
  /// As imap(), calling on_error(input index, failure) for each failed input instead of
  /// throwing, while the other inputs' results go on arriving. A failure fails its chunk,
  /// as in Python: every input of that chunk is reported.
  template <class F, class In, class OnResult, class OnError, std::enable_if_t<!std::is_integral_v<OnError>, int> = 0>
  auto imap(F* fn, const std::vector<In>& inputs, OnResult on_result, OnError on_error, std::size_t chunksize = 0)
      -> std::enable_if_t<std::is_function_v<F>>;
  /// As map(), calling on_result(input index, result) as each chunk finishes.
  template <class F, class In, class OnResult>
  auto imap_unordered(F* fn, const std::vector<In>& inputs, OnResult on_result, std::size_t chunksize = 0)
      -> std::enable_if_t<std::is_function_v<F>>;
  /// As imap_unordered(), with on_error(input index, failure) as for imap().
  template <class F, class In, class OnResult, class OnError, std::enable_if_t<!std::is_integral_v<OnError>, int> = 0>
  auto imap_unordered(F* fn, const std::vector<In>& inputs, OnResult on_result, OnError on_error,
                      std::size_t chunksize = 0) -> std::enable_if_t<std::is_function_v<F>>;

  /// No more tasks: submit() throws errc::closed; queued tasks still run.
  void close();
  /// Waits until every task has finished and the workers have ended. Before close() or
  /// terminate() it throws errc::invalid_argument ("the pool is still running", as Python's
  /// ValueError).
  void join();
  /// Ends the workers now: tasks not finished fail with errc::task_failed.
  void terminate();
  /// The number of workers.
  std::size_t size() const noexcept;

 private:
  // The chunk size for `items` inputs: `requested`, else PoolOptions::chunksize, else
  // automatic.
  std::size_t chunk_size_for(std::size_t items, std::size_t requested) const;
  // Throws as submit() would (errc::closed, errc::pool_broken), for `call`.
  void check_accepting(const char* call);
  // What the futures' get() takes results through.
  const std::shared_ptr<detail::PoolTap>& result_tap() const noexcept;
  // Queues one encoded chunk of registered function `name`; `on_end` is told how it ended.
  void submit_chunk(const std::string& name, detail::ByteBuffer payload, detail::TaskEnd on_end);
  // The same, with its inputs written by `write` straight into the inbox of the worker
  // that takes it.
  void submit_chunk(const std::string& name, detail::PayloadWriter write, detail::TaskEnd on_end);
  // on_chunk_error(first input, end, failure) for a failed chunk, or none: rethrown at the end.
  using ChunkError = std::function<void(std::size_t, std::size_t, const std::system_error&)>;
  template <class F, class In>
  auto start_job(F* fn, const std::vector<In>& inputs, std::size_t chunksize, const char* call, bool assembles)
      -> std::shared_ptr<detail::ChunkJob<detail::result_t<F*>>>;
  static void report_chunk_failure(const std::exception_ptr& failure, std::size_t begin, std::size_t end,
                                   const ChunkError& on_chunk_error, std::exception_ptr& first_failure);
  template <class F, class In, class OnResult>
  auto typed_ordered(F* fn, const std::vector<In>& inputs, std::size_t chunksize, OnResult&& on_result,
                     const ChunkError& on_chunk_error = {}) -> std::enable_if_t<std::is_function_v<F>>;
  template <class F, class In, class OnResult>
  void typed_unordered(F* fn, const std::vector<In>& inputs, OnResult& on_result, std::size_t chunksize,
                       const ChunkError& on_chunk_error);

  detail::PoolState* state_;  // owned
};

}  // namespace interproc

#include <interproc/typed_pool.hpp>
