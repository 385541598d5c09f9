// SPDX-License-Identifier: MIT
// ProcessPool: map order, results of any size, failures, workers that crash (replaced,
// the pool goes on), recycling, closing and terminating; for every start method.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using interproc::errc;
using interproc::PoolOptions;
using interproc::ProcessPool;
using interproc::SharedValue;
using interproc::StartMethod;
using interproc::TaskFuture;
namespace test = interproc::test;

INTERPROC_TASK(echo) { return ctx.args().empty() ? std::string() : ctx.args().at(0); }

INTERPROC_TASK(concat) {
  std::string all;
  for (const std::string& arg : ctx.args()) all += arg;
  return all;
}

// A result of args[0] bytes, each one args[1].
INTERPROC_TASK(make_bytes) { return std::string(std::stoul(ctx.args().at(0)), ctx.args().at(1).at(0)); }

INTERPROC_TASK(fails) { throw std::runtime_error("no such file: " + ctx.args().at(0)); }

INTERPROC_TASK(crashes) { std::abort(); }

INTERPROC_TASK(worker_pid) { return std::to_string(test::current_pid()); }

// Adds args[0] to the pool's counter under its lock.
INTERPROC_TASK(add_to_counter) {
  auto& counter = ctx.value<long>(0);
  std::lock_guard<interproc::InterprocessMutex> hold(counter.get_lock());
  counter.value() += std::stol(ctx.args().at(0));
  return "ok";
}

namespace {

std::vector<std::vector<std::string>> numbered_inputs(int n) {
  std::vector<std::vector<std::string>> inputs;
  for (int i = 0; i < n; ++i) inputs.push_back({std::to_string(i)});
  return inputs;
}

}  // namespace

TEST(ProcessPool, MapReturnsResultsInInputOrder) {
  for (StartMethod method : test::start_methods()) {
    ProcessPool pool(3, {}, method);
    EXPECT_EQ(pool.size(), 3u);
    const auto inputs = numbered_inputs(200);
    const std::vector<std::string> results = pool.map("echo", inputs);
    ASSERT_EQ(results.size(), inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(results[i], inputs[i][0]);
  }
}

TEST(ProcessPool, ArgumentsAndResultsOfAnySizeTravel) {
  ProcessPool pool(2);
  const std::string big(3 << 20, 'x');  // far beyond what a queue item holds
  EXPECT_EQ(pool.submit("concat", {big, "", "tail"}).get(), big + "tail");
  EXPECT_EQ(pool.submit("make_bytes", {std::to_string(5 << 20), "y"}).get(), std::string(5 << 20, 'y'));
  EXPECT_EQ(pool.submit("echo", {}).get(), "");
  const std::string binary("a\0b\xff", 4);
  EXPECT_EQ(pool.submit("echo", {binary}).get(), binary);
}

TEST(ProcessPool, ATaskThatThrowsFailsWithItsMessage) {
  ProcessPool pool(1);
  TaskFuture f = pool.submit("fails", {"a.txt"});
  EXPECT_SYSTEM_ERROR(f.get(), errc::task_failed, "no such file: a.txt");
  EXPECT_SYSTEM_ERROR(pool.map("fails", {{"b.txt"}}), errc::task_failed, "b.txt");
  EXPECT_EQ(pool.submit("echo", {"still here"}).get(), "still here");
}

TEST(ProcessPool, UnknownTasksAreRefusedInTheParent) {
  ProcessPool pool(1);
  EXPECT_SYSTEM_ERROR(pool.submit("no_such_task"), errc::unknown_entry, "no_such_task");
}

TEST(ProcessPool, ACrashedWorkerFailsItsTaskAndIsReplaced) {
  for (StartMethod method : test::start_methods()) {
    ProcessPool pool(2, {}, method);
    std::vector<TaskFuture> before;
    for (int i = 0; i < 20; ++i) before.push_back(pool.submit("echo", {std::to_string(i)}));
    TaskFuture crash = pool.submit("crashes");
    std::vector<TaskFuture> after;
    for (int i = 0; i < 20; ++i) after.push_back(pool.submit("echo", {std::to_string(i)}));
    EXPECT_SYSTEM_ERROR(crash.get(), errc::task_failed, "its worker");
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(before[static_cast<std::size_t>(i)].get(), std::to_string(i));
      EXPECT_EQ(after[static_cast<std::size_t>(i)].get(), std::to_string(i));
    }
    EXPECT_EQ(pool.map("echo", numbered_inputs(10)).size(), 10u);
  }
}

TEST(ProcessPool, WorkersAreRecycledAfterMaxTasks) {
  ProcessPool pool(1, {}, PoolOptions{StartMethod::spawn, 2});
  std::set<std::string> pids;
  for (int i = 0; i < 10; ++i) pids.insert(pool.submit("worker_pid").get());
  EXPECT_EQ(pids.size(), 5u);
}

TEST(ProcessPool, TasksSeeThePoolsObjects) {
  for (StartMethod method : test::start_methods()) {
    auto counter = SharedValue<long>::create(0);
    {
      ProcessPool pool(3, {counter}, method);
      std::vector<std::vector<std::string>> inputs(100, {"2"});
      for (const std::string& r : pool.map("add_to_counter", inputs)) EXPECT_EQ(r, "ok");
    }
    EXPECT_EQ(counter.value(), 200);
  }
}

TEST(ProcessPool, ImapUnorderedDeliversEveryResultOnce) {
  ProcessPool pool(2);
  std::vector<int> seen(50, 0);
  pool.imap_unordered("echo", numbered_inputs(50), [&](std::size_t index, const std::string& result) {
    EXPECT_EQ(result, std::to_string(index));
    ++seen[index];
  });
  for (int count : seen) EXPECT_EQ(count, 1);
}

TEST(ProcessPool, CloseRefusesNewTasksAndJoinFinishesTheQueuedOnes) {
  ProcessPool pool(2);
  std::vector<TaskFuture> queued;
  for (int i = 0; i < 30; ++i) queued.push_back(pool.submit("echo", {std::to_string(i)}));
  pool.close();
  EXPECT_SYSTEM_ERROR(pool.submit("echo", {"late"}), errc::closed, "closed");
  pool.join();
  for (int i = 0; i < 30; ++i) EXPECT_EQ(queued[static_cast<std::size_t>(i)].get(), std::to_string(i));
}

TEST(ProcessPool, TerminateFailsWhatIsNotFinished) {
  ProcessPool pool(1);
  std::vector<TaskFuture> queued;
  for (int i = 0; i < 30; ++i) queued.push_back(pool.submit("make_bytes", {"100000", "z"}));
  pool.terminate();
  int failed = 0;
  for (const TaskFuture& f : queued) {
    try {
      f.get();
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), errc::task_failed);
      ++failed;
    }
  }
  EXPECT_GT(failed, 0);
  EXPECT_SYSTEM_ERROR(pool.submit("echo"), errc::closed, "closed");
}

TEST(ProcessPool, ZeroWorkersAreRefused) { EXPECT_SYSTEM_ERROR(ProcessPool(0), errc::invalid_argument, "worker"); }

// A process that starts a pool of 3, reports its workers' pids in the array (object 0),
// then waits to be killed.
INTERPROC_CHILD_ENTRY(pool_owner_reports_workers) {
  auto& pids = ctx.array<long>(0);
  ProcessPool pool(3);
  std::set<std::string> seen;
  for (int i = 0; i < 2000 && seen.size() < 3; ++i) seen.insert(pool.submit("worker_pid").get());
  std::size_t at = 0;
  for (const std::string& pid : seen) pids.span()[at++] = std::stol(pid);
  ctx.event(1).set();
  ctx.event(2).wait();
  return 0;
}

TEST(ProcessPool, WorkersDieWithTheirPoolsProcessEvenWhenItIsKilled) {
  auto pids = interproc::SharedArray<long>::create(3);
  auto ready = interproc::InterprocessEvent::create();
  auto never = interproc::InterprocessEvent::create();
  interproc::Child owner = interproc::spawn_child("pool_owner_reports_workers", {}, {pids, ready, never});
  ASSERT_TRUE(ready.wait_for(std::chrono::seconds(60)));
  std::vector<long> workers;
  for (long pid : pids.span()) {
    if (pid != 0) workers.push_back(pid);
  }
  ASSERT_FALSE(workers.empty());
  for (long pid : workers) EXPECT_TRUE(test::process_exists(pid)) << "worker " << pid;
  owner.kill();  // SIGKILL / TerminateProcess: the pool's destructor never runs
  EXPECT_EQ(owner.wait(), -9);
  for (long pid : workers) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (test::process_exists(pid) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(test::process_exists(pid)) << "worker " << pid << " outlived its pool's process";
    if (test::process_exists(pid)) test::kill_by_pid(pid);
  }
}
