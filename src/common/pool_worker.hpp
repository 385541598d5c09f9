// SPDX-License-Identifier: MIT
#pragma once
// The pool worker's side (pool_worker.cpp), and what the parent asks of the registry.
#include <interproc/process_pool.hpp>

#include "common/pool_arena.hpp"
#include "common/pool_wire.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace interproc::detail {

// The objects a worker is given before the pool's own (see interproc_pool_worker).
inline constexpr std::size_t first_pool_object = 5;

// Whether INTERPROC_TASK registered `name` (a string task).
bool is_registered_task(std::string_view name);

class PoolWorker {
 public:
  explicit PoolWorker(ChildContext& ctx);
  int run();

 private:
  bool run_initializer();
  ResultItem run_task(const TaskItem& task);
  ResultItem& run_chunk(ChunkFunction fn, std::string_view payload, ResultItem& result);

  ChildContext& ctx_;
  SharedQueue<TaskItem>& tasks_;
  SharedQueue<ResultItem>& results_;
  std::uint32_t slot_;
  ArenaReader inbox_;
  ArenaWriter outbox_;
};

}  // namespace interproc::detail
