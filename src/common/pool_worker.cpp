// SPDX-License-Identifier: MIT
// The pool's worker: the registry of what it can run, and its loop. It takes one task at a
// time from its slot's queue, reads the payload in place (inbox), runs it, and sends the
// result back: a typed chunk's results are encoded straight into its outbox.
#include <interproc/process_pool.hpp>

#include "common/fail.hpp"
#include "common/pool_arena.hpp"
#include "common/pool_worker.hpp"

#include <gsl/assert>

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

namespace interproc {
namespace detail {
namespace {

struct Registered {
  TaskFunction task = nullptr;    // INTERPROC_TASK
  ChunkFunction chunk = nullptr;  // INTERPROC_FUNCTION
};

std::map<std::string, Registered, std::less<>>& registry() {
  static std::map<std::string, Registered, std::less<>> entries;
  return entries;
}

Registered find_entry(std::string_view name) {
  const auto found = registry().find(name);
  return found == registry().end() ? Registered{} : found->second;
}

bool add_entry(std::string_view name, Registered entry, const char* macro) {
  if (!is_valid_entry_name(name) || !registry().emplace(std::string(name), entry).second) {
    std::fprintf(stderr, "interproc: %s(%.*s): an invalid or repeated name\n", macro, static_cast<int>(name.size()),
                 name.data());
    std::fflush(stderr);
    Expects(false);
  }
  return true;
}

// A task's outcome: its result, or the message of what it threw.
struct Outcome {
  bool done = false;
  std::string output;
};

template <class Run>
Outcome catching(Run&& run) {
  try {
    return {true, run()};
  } catch (const std::exception& e) {
    return {false, e.what()};
  } catch (...) {
    return {false, "the task threw a non-standard exception"};
  }
}

Outcome run_call(TaskFunction fn, ChildContext& ctx, std::string_view payload) {
  return catching([&] {
    TaskContext context(ctx, first_pool_object, decode_args(payload));
    return fn(context);
  });
}

// A batch's results as one list: each entry a status byte ('1' done, '0' failed) and bytes.
std::string run_batch(TaskFunction fn, ChildContext& ctx, std::string_view payload) {
  std::vector<std::string> outcomes;
  for (const std::string& args : decode_args(payload)) {
    Outcome outcome = run_call(fn, ctx, args);
    outcomes.push_back((outcome.done ? "1" : "0") + outcome.output);
  }
  return encode_args(outcomes);
}

}  // namespace

bool register_task(std::string_view name, TaskFunction task) {
  Expects(task != nullptr);
  return add_entry(name, Registered{task, nullptr}, "INTERPROC_TASK");
}

bool register_chunk_function(std::string_view name, ChunkFunction function) {
  Expects(function != nullptr);
  return add_entry(name, Registered{nullptr, function}, "INTERPROC_FUNCTION");
}

bool is_registered_task(std::string_view name) { return find_entry(name).task != nullptr; }

PoolWorker::PoolWorker(ChildContext& ctx)
    : ctx_(ctx), tasks_(ctx.queue<TaskItem>(0)), results_(ctx.queue<ResultItem>(1)),
      slot_(static_cast<std::uint32_t>(std::stoul(ctx.args().at(2)))),
      inbox_(ctx.segment(3), arena_base(ctx.args().at(0), slot_, 'i')),
      outbox_(ctx.segment(4), arena_base(ctx.args().at(0), slot_, 'o')) {}

int PoolWorker::run() {
  if (!run_initializer()) return 3;
  const unsigned long long most = std::stoull(ctx_.args().at(1));
  for (unsigned long long done = 0; most == 0 || done < most; ++done) {
    const std::optional<TaskItem> task = tasks_.pop();
    if (!task) break;  // the pool closed this slot: it is joining
    results_.push(run_task(*task));
  }
  return 0;
}

ResultItem PoolWorker::run_task(const TaskItem& task) {
  ResultItem result{task.id, {}, 0, slot_, {}};
  Outcome outcome;
  try {
    const char* name_end = std::find(task.task, task.task + sizeof task.task, '\0');
    const std::string_view name(task.task, static_cast<std::size_t>(name_end - task.task));
    const Registered entry = find_entry(name);
    const std::string_view payload = payload_view(task, inbox_);
    if (task.kind == TaskKind::chunk && entry.chunk != nullptr) return run_chunk(entry.chunk, payload, result);
    if (entry.task == nullptr) fail(errc::unknown_entry, "ProcessPool: the worker has no such task");
    outcome = task.kind == TaskKind::batch ? Outcome{true, run_batch(entry.task, ctx_, payload)}
                                           : run_call(entry.task, ctx_, payload);
  } catch (const std::exception& e) {
    outcome = {false, e.what()};
  }
  result.failed = outcome.done ? 0 : 1;
  put_payload(result, outbox_, outcome.output);
  return result;
}

// The results are encoded where the parent reads them; only results that outgrow the outbox
// are copied once more, into its next generation.
ResultItem& PoolWorker::run_chunk(ChunkFunction fn, std::string_view payload, ResultItem& result) {
  ByteBuffer out(outbox_.memory());
  const Outcome outcome = catching([&] {
    TaskContext context(ctx_, first_pool_object, {});
    fn(context, payload, out);
    return std::string();
  });
  result.failed = outcome.done ? 0 : 1;
  if (!outcome.done) {
    put_payload(result, outbox_, outcome.output);
  } else if (out.in_lent_memory()) {
    result.payload = outbox_.place(out.size());
  } else {
    put_payload(result, outbox_, out.view());
  }
  return result;
}

// Runs the pool's initializer, if any, and tells the parent how it went (initializer_id): a
// failure's message, cut to fit the item, since the worker ends at once.
bool PoolWorker::run_initializer() {
  const std::string& function = ctx_.args().at(3);
  if (function.empty()) return true;
  ResultItem note{initializer_id, {}, 0, slot_, {}};
  Outcome outcome{false, "no such function in the worker"};
  if (const ChunkFunction fn = find_entry(function).chunk) {
    const auto bytes = ctx_.segment(2).bytes();
    const std::size_t size = std::min<std::size_t>(std::stoull(ctx_.args().at(4)), bytes.size());
    outcome = catching([&] {
      ByteBuffer ignored;
      TaskContext context(ctx_, first_pool_object, {});
      fn(context, std::string_view(reinterpret_cast<const char*>(bytes.data()), size), ignored);
      return std::string();
    });
  }
  note.failed = outcome.done ? 0 : 1;
  const std::size_t size = std::min(outcome.output.size(), payload_bytes);
  note.payload = PayloadPlace{size, 0, 0};
  std::memcpy(note.data, outcome.output.data(), size);
  results_.push(note);
  return outcome.done;
}

}  // namespace detail

// Objects: 0 the slot's task queue, 1 the result queue, 2 the initializer's arguments, 3 the
// inbox, 4 the outbox, then the pool's objects. Args: the pool's nonce, the most tasks to run
// (0: no limit), the slot's index, the initializer's function ("" for none) and the size of
// its arguments.
INTERPROC_CHILD_ENTRY(interproc_pool_worker) { return detail::PoolWorker(ctx).run(); }

}  // namespace interproc
