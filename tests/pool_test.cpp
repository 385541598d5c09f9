// SPDX-License-Identifier: MIT
// ProcessPool: map order, results of any size, failures, workers that crash (replaced,
// the pool goes on), recycling, closing and terminating; for every start method.
#include "common/exit_status.hpp"
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <memory>
#include <random>
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

// ---- hardening: ownership, broken pools, spills, dispatch, messages, checks ----

INTERPROC_TASK(waits_for_event) {
  ctx.event(0).wait();
  return "released";
}

INTERPROC_TASK(exits_three) {
  std::fflush(nullptr);
  std::_Exit(3);
}

INTERPROC_TASK(dereferences_null) {
  volatile int* nothing = nullptr;
  *nothing = 1;  // a real access violation / SIGSEGV, as a buggy task makes
  return "not reached";
}

TEST(ProcessPool, ImapUnorderedSurvivesACloseWhileItIsQueuing) {
  ProcessPool pool(1);
  std::atomic<bool> threw{false};
  // submit() never waits, so queuing is quick: calls again until the close lands, most often
  // in the middle of one call's queuing.
  std::thread caller([&] {
    for (;;) {
      try {
        pool.imap_unordered("make_bytes", std::vector<std::vector<std::string>>(500, {"2000", "q"}),
                            [](std::size_t, const std::string&) {});
      } catch (const std::system_error& e) {
        threw = e.code() == errc::closed;
        return;
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  pool.close();
  caller.join();
  EXPECT_TRUE(threw);
  pool.join();  // the tasks it queued finish after it left: their notices must not touch its frame
}

TEST(ProcessPool, MapAndImapOverNoInputsRefuseAsSubmitDoes) {
  ProcessPool pool(1);
  const auto nothing = [](std::size_t, const std::string&) {};
  EXPECT_SYSTEM_ERROR(pool.map("no_such_task", {}), errc::unknown_entry, "no_such_task");
  EXPECT_SYSTEM_ERROR(pool.imap_unordered("no_such_task", {}, nothing), errc::unknown_entry, "no_such_task");
  pool.close();
  EXPECT_SYSTEM_ERROR(pool.map("echo", {}), errc::closed, "closed");
  EXPECT_SYSTEM_ERROR(pool.imap_unordered("echo", {}, nothing), errc::closed, "closed");
}

TEST(ProcessPool, AHungTaskDoesNotHoldBackTasksWhileAnotherWorkerIsIdle) {
  auto release = interproc::InterprocessEvent::create();
  ProcessPool pool(2, {release});
  std::vector<TaskFuture> quick;
  const TaskFuture hung = pool.submit("waits_for_event");
  for (int i = 0; i < 6; ++i) quick.push_back(pool.submit("echo", {std::to_string(i)}));
  int ran = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (const TaskFuture& f : quick) ran += f.wait_for(deadline - std::chrono::steady_clock::now()) ? 1 : 0;
  EXPECT_FALSE(hung.ready());
  release.set();  // before any check that may fail: the pool's destructor waits for the hung task
  EXPECT_EQ(ran, 6) << "quick tasks held back behind the hung one";
  for (int i = 0; i < 6; ++i) EXPECT_EQ(quick[static_cast<std::size_t>(i)].get(), std::to_string(i));
  EXPECT_EQ(hung.get(), "released");
}

TEST(ProcessPool, TerminateLeavesNoGrownArenaBehind) {
  if (test::is_windows()) GTEST_SKIP() << "Windows removes a named segment with its last handle";
  for (StartMethod method : test::start_methods()) {
    const std::vector<std::string> before = test::pool_arena_names();
    {
      ProcessPool pool(2, {}, method);
      std::vector<TaskFuture> big;
      for (int i = 0; i < 8; ++i) big.push_back(pool.submit("make_bytes", {std::to_string(20 << 20), "x"}));
      big.front().get();  // the others are being made or are in transit
      pool.terminate();
    }
    const std::vector<std::string> left = test::lasting_new_pool_arena_names(before);
    EXPECT_TRUE(left.empty()) << "method " << static_cast<int>(method) << " left " << left.size()
                              << " arena names, the first " << (left.empty() ? "" : left.front());
  }
}

// UBSan's vptr check probes memory through a pipe (sanitizer_common's
// IsAccessibleMemoryRange): with no descriptor free it reports a valid object as one with an
// invalid vptr. Two spare descriptors serve it; a worker's start needs more than two.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
constexpr int spare_descriptors = 2;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
constexpr int spare_descriptors = 2;
#else
constexpr int spare_descriptors = 0;
#endif
#else
constexpr int spare_descriptors = 0;
#endif

// What the callers of a one-worker pool see once its worker dies and no other can start,
// made so by `forbid_start` (false: it could not be). `allow_start` runs once the pool has
// failed the task that waited. 0 when they see what they should.
int callers_see_the_pool_broken(bool (*forbid_start)(), void (*allow_start)()) {
  ProcessPool pool(1);
  if (pool.submit("echo", {"warm"}).get() != "warm") return 10;
  if (!forbid_start()) return 11;
  const TaskFuture dies = pool.submit("exits_three");
  const TaskFuture stranded = pool.submit("echo", {"never"});
  for (int i = 0; i < 3000 && !stranded.ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  allow_start();
  try {
    dies.get();
    return 12;
  } catch (const std::system_error& e) {
    if (e.code() != errc::task_failed) return 13;
  }
  try {
    stranded.get();
    return 14;
  } catch (const std::system_error& e) {
    if (e.code() != errc::pool_broken) return 15;
  }
  try {
    pool.submit("echo");
    return 16;
  } catch (const std::system_error& e) {
    if (e.code() != errc::pool_broken) return 17;
  }
  try {
    pool.map("echo", {{"x"}});
    return 18;
  } catch (const std::system_error& e) {
    if (e.code() != errc::pool_broken) return 19;
  }
  return 0;
}

// POSIX, in its own process: with no descriptor left, no worker can start. The limit is
// lifted once the pool has failed the waiting task, as the sanitizers' own checks open pipes.
INTERPROC_CHILD_ENTRY(pool_that_cannot_replace_its_worker) {
  return callers_see_the_pool_broken([] { return test::forbid_new_descriptors(spare_descriptors); },
                                     [] { test::allow_new_descriptors(); });
}

TEST(ProcessPool, AWorkerThatCannotBeReplacedBreaksThePoolInsteadOfAborting) {
  if (test::is_windows()) GTEST_SKIP() << "Windows: see AWorkerWhoseProgramMovedAwayBreaksThePool";
  interproc::Child owner = interproc::spawn_child("pool_that_cannot_replace_its_worker", {}, {});
  EXPECT_EQ(owner.wait(), 0);
}

// Windows has no per-process handle limit to lower. Instead a copy of the test binary moves
// its own file away (a running image may be renamed, not deleted), so that CreateProcessW of
// the path it was started from fails. Run as a child by the test below; skipped directly.
std::string moved_program;  // the copy's path, while ProbeAPoolWhoseProgramMovedAway runs

TEST(ProcessPool, ProbeAPoolWhoseProgramMovedAway) {
  const char* probe = std::getenv("INTERPROC_TEST_PROBE");
  if (probe == nullptr || std::string(probe).rfind("moved:", 0) != 0) GTEST_SKIP() << "only run as a child";
  moved_program = std::string(probe).substr(6);
  const int code =
      callers_see_the_pool_broken([] { return test::rename_file(moved_program, moved_program + ".moved"); }, [] {});
  test::rename_file(moved_program + ".moved", moved_program);
  EXPECT_EQ(code, 0);
}

TEST(ProcessPool, AWorkerWhoseProgramMovedAwayBreaksThePool) {
  if (!test::is_windows()) GTEST_SKIP() << "POSIX: see AWorkerThatCannotBeReplacedBreaksThePoolInsteadOfAborting";
  const std::string copy =
      test::copy_of_self("interproc_tests_moved." + std::to_string(std::random_device{}()) + ".exe");
  ASSERT_FALSE(copy.empty());
  EXPECT_EQ(
      test::run_unrelated_child({"--gtest_filter=ProcessPool.ProbeAPoolWhoseProgramMovedAway"}, "moved:" + copy, copy),
      0);
  EXPECT_TRUE(test::remove_file(copy));
}

TEST(ProcessPool, ACrashedWorkerIsDescribedInTheOsTerms) {
  ProcessPool pool(1);
  try {
    pool.submit("dereferences_null").get();
    ADD_FAILURE() << "the task ran to its end";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), errc::task_failed);
    const std::string message = e.what();
    if (test::is_windows()) {
      EXPECT_NE(message.find("crashed: access violation (0xC0000005)"), std::string::npos) << message;
    } else {
      EXPECT_NE(message.find("its worker "), std::string::npos) << message;  // a sanitizer may exit instead
    }
  }
  EXPECT_EQ(pool.submit("echo", {"after"}).get(), "after");
}

TEST(ExitStatus, NamesSignalsExitCodesAndCommonNtStatusCodes) {
  using interproc::detail::describe_exit_status;
  EXPECT_EQ(describe_exit_status(3), "ended with exit code 3");
  EXPECT_EQ(describe_exit_status(-9), "was killed by signal 9");
  const auto ntstatus = [](std::uint32_t code) { return static_cast<int>(code); };
  EXPECT_EQ(describe_exit_status(ntstatus(0xC0000005u)), "crashed: access violation (0xC0000005)");
  EXPECT_EQ(describe_exit_status(ntstatus(0xC00000FDu)), "crashed: stack overflow (0xC00000FD)");
  EXPECT_EQ(describe_exit_status(ntstatus(0xC000001Du)), "crashed: illegal instruction (0xC000001D)");
  EXPECT_EQ(describe_exit_status(ntstatus(0xC0000094u)), "crashed: integer divide by zero (0xC0000094)");
  EXPECT_EQ(describe_exit_status(ntstatus(0xC0000409u)), "crashed: stack buffer overrun or fail-fast (0xC0000409)");
  EXPECT_EQ(describe_exit_status(ntstatus(0xC000013Au)), "ended by control-C exit (0xC000013A)");
  EXPECT_EQ(describe_exit_status(ntstatus(0xC0000374u)), "crashed: heap corruption (0xC0000374)");
  EXPECT_EQ(describe_exit_status(ntstatus(0x40010004u)), "was terminated, DBG_TERMINATE_PROCESS (0x40010004)");
  EXPECT_EQ(describe_exit_status(ntstatus(0xC0001234u)), "ended with status 0xC0001234");
}

TEST(ProcessPool, APoolMadeOnAThreadThatEndedKeepsItsWorkers) {
  for (StartMethod method : test::start_methods()) {
    std::unique_ptr<ProcessPool> pool;
    std::set<std::string> workers;
    std::thread([&] {
      pool = std::make_unique<ProcessPool>(2, std::vector<interproc::SharedObject>{}, method);
      for (int i = 0; i < 2000 && workers.size() < 2; ++i) workers.insert(pool->submit("worker_pid").get());
    }).join();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a death signal would have landed
    for (const std::string& pid : workers) EXPECT_TRUE(test::process_exists(std::stol(pid))) << "worker " << pid;
    EXPECT_EQ(pool->map("echo", numbered_inputs(8)).size(), 8u);
  }
}
