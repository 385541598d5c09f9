// SPDX-License-Identifier: MIT
// StartMethod::forkserver beyond what every multi-process test checks for each start method
// (test::start_methods()): a fresh program state, the server's own lifetime, its restart, the
// caller's current standard streams, threads spawning at once, and Windows' refusal.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef _WIN32
#include <csignal>
#include <fcntl.h>
#include <unistd.h>
#endif

using interproc::Child;
using interproc::errc;
using interproc::InterprocessEvent;
using interproc::SharedArray;
using interproc::SharedValue;
using interproc::spawn_child;
using interproc::SpawnOptions;
using interproc::StartMethod;
using namespace std::chrono_literals;
namespace test = interproc::test;

namespace {

// Set in the parent before spawning; a child with a fresh program state sees 0.
int state_set_by_parent = 0;

long element(SharedArray<long>& array, std::size_t index) {
  return array.with_lock([index](gsl::span<long> all) { return all[index]; });
}


}  // namespace

INTERPROC_CHILD_ENTRY(fs_report_state) { return state_set_by_parent; }

// Objects: a long array [0] = this child's pid, [1] = its server's; then sets the event and
// hangs.
INTERPROC_CHILD_ENTRY(fs_report_and_hang) {
  ctx.array<long>(0).with_lock([](gsl::span<long> ids) {
    ids[0] = test::current_pid();
    ids[1] = test::parent_pid();
  });
  ctx.event(1).set();
  test::hang();
}

// Starts two forkserver grandchildren (die_with_parent, then not), reports the pids
// [dying grandchild, surviving grandchild, server] and hangs until killed.
INTERPROC_CHILD_ENTRY(fs_middle) {
  auto ids = SharedArray<long>::create(2);
  auto ready = InterprocessEvent::create();
  Child dying = spawn_child("fs_report_and_hang", {}, {ids, ready}, {StartMethod::forkserver, true, false});
  if (!ready.wait_for(60s)) return 20;
  ready.clear();
  Child surviving = spawn_child("fs_report_and_hang", {}, {ids, ready}, {StartMethod::forkserver, false, false});
  if (!ready.wait_for(60s)) return 21;
  const long server = element(ids, 1);
  ctx.array<long>(0).with_lock([&](gsl::span<long> out) {
    out[0] = dying.pid();
    out[1] = surviving.pid();
    out[2] = server;
  });
  ctx.event(1).set();
  test::hang();
}

INTERPROC_CHILD_ENTRY(fs_print) {
  std::printf("from the forkserver child\n");
  std::fflush(stdout);
  return 0;
}

INTERPROC_CHILD_ENTRY(fs_add_one) {
  ctx.value<long>(0).with_lock([](long& v) { ++v; });
  return 0;
}

// A fork child starts forkserver children of its own: its server, not its parent's.
INTERPROC_CHILD_ENTRY(fs_from_fork_child) {
  auto counter = SharedValue<long>::create(0);
  for (int i = 0; i < 3; ++i) {
    if (spawn_child("fs_add_one", {}, {counter}, StartMethod::forkserver).wait() != 0) return 30;
  }
  return counter.value() == 3 ? 0 : 31;
}

TEST(ForkServer, ChildrenStartFromAFreshProgramStateAsSpawnedOnesDo) {
  if (test::is_windows()) GTEST_SKIP() << "StartMethod::forkserver is POSIX-only";
  state_set_by_parent = 5;
  EXPECT_EQ(spawn_child("fs_report_state", {}, {}, StartMethod::forkserver).wait(), 0);
  EXPECT_EQ(spawn_child("fs_report_state", {}, {}, StartMethod::spawn).wait(), 0);
  EXPECT_EQ(spawn_child("fs_report_state", {}, {}, StartMethod::fork).wait(), 5);
  state_set_by_parent = 0;
}

TEST(ForkServer, TheServerEndsWithItsClientAndTakesOnlyDieWithParentChildren) {
  if (test::is_windows()) GTEST_SKIP() << "StartMethod::forkserver is POSIX-only";
  auto ids = SharedArray<long>::create(3);
  auto ready = InterprocessEvent::create();
  Child middle = spawn_child("fs_middle", {}, {ids, ready});
  ASSERT_TRUE(ready.wait_for(60s)) << "the middle child never reported";
  const long dying = element(ids, 0), surviving = element(ids, 1), server = element(ids, 2);
  ASSERT_GT(dying, 0);
  ASSERT_GT(surviving, 0);
  ASSERT_GT(server, 0);
  EXPECT_NE(server, middle.pid()) << "the grandchildren's parent is the server, not the middle child";
  middle.kill();
  EXPECT_EQ(middle.wait(), -9);
  EXPECT_TRUE(test::gone_within(server, 10s)) << "the fork server outlived the process that started it";
  EXPECT_TRUE(test::gone_within(dying, 10s)) << "a die_with_parent child outlived its parent";
  EXPECT_TRUE(test::process_exists(surviving)) << "a plain child died with the server";
  for (long pid : {server, dying, surviving}) test::kill_by_pid(pid);
  EXPECT_TRUE(test::gone_within(surviving, 10s));
}

TEST(ForkServer, AKilledServerIsReplacedAndItsChildrenAreReportedLost) {
  if (test::is_windows()) GTEST_SKIP() << "StartMethod::forkserver is POSIX-only";
  auto ids = SharedArray<long>::create(2);
  auto ready = InterprocessEvent::create();
  Child orphan = spawn_child("fs_report_and_hang", {}, {ids, ready}, StartMethod::forkserver);
  ASSERT_TRUE(ready.wait_for(60s));
  const long first_server = element(ids, 1);
  test::kill_by_pid(first_server);
  EXPECT_SYSTEM_ERROR(orphan.wait(), errc::child_lost, "fork server");
  test::kill_by_pid(orphan.pid());  // it had no die_with_parent: it lives on without its server
  EXPECT_TRUE(test::gone_within(orphan.pid(), 10s));

  ready.clear();
  Child next = spawn_child("fs_report_and_hang", {}, {ids, ready}, StartMethod::forkserver);
  ASSERT_TRUE(ready.wait_for(60s));
  EXPECT_NE(element(ids, 1), first_server) << "a new server";
  next.kill();
  EXPECT_EQ(next.wait(), -9);
}

#ifndef _WIN32
TEST(ForkServer, ChildrenWriteToTheCallersCurrentStandardStreams) {
  const std::string path = "forkserver-stdout-" + std::to_string(test::current_pid()) + ".txt";
  std::fflush(stdout);
  const int saved = ::dup(1);
  ASSERT_GE(saved, 0);
  const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(file, 0);
  ::dup2(file, 1);
  ::close(file);
  const int code = spawn_child("fs_print", {}, {}, StartMethod::forkserver).wait();
  ::dup2(saved, 1);
  ::close(saved);
  EXPECT_EQ(code, 0);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "from the forkserver child\n");
  std::remove(path.c_str());
}
#endif

#ifndef _WIN32
// A stopped server takes requests into its socket and never answers: spawn_child gives up
// on it after a few seconds, kills it and asks a new one.
TEST(ForkServer, AStoppedServerIsReplaced) {
  auto ids = SharedArray<long>::create(2);
  auto ready = InterprocessEvent::create();
  Child first = spawn_child("fs_report_and_hang", {}, {ids, ready}, StartMethod::forkserver);
  ASSERT_TRUE(ready.wait_for(60s));
  const long server = element(ids, 1);
  first.kill();
  EXPECT_EQ(first.wait(), -9);
  ASSERT_EQ(::kill(static_cast<pid_t>(server), SIGSTOP), 0);
  auto counter = SharedValue<long>::create(0);
  EXPECT_EQ(spawn_child("fs_add_one", {}, {counter}, StartMethod::forkserver).wait(), 0);
  EXPECT_EQ(counter.value(), 1);
  EXPECT_TRUE(test::gone_within(server, 10s)) << "the stopped server was left behind";
}
#endif

TEST(ForkServer, ThreadsSpawnAtOnce) {
  if (test::is_windows()) GTEST_SKIP() << "StartMethod::forkserver is POSIX-only";
  auto counter = SharedValue<long>::create(0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i)
        EXPECT_EQ(spawn_child("fs_add_one", {}, {counter}, StartMethod::forkserver).wait(), 0);
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.value(), 40);
}

TEST(ForkServer, AForkChildUsesAServerOfItsOwn) {
  if (test::is_windows()) GTEST_SKIP() << "StartMethod::forkserver is POSIX-only";
  EXPECT_EQ(spawn_child("fs_add_one", {}, {SharedValue<long>::create(0)}, StartMethod::forkserver).wait(), 0);
  EXPECT_EQ(spawn_child("fs_from_fork_child", {}, {}, StartMethod::fork).wait(), 0);
}

TEST(ForkServer, IsRefusedOnWindows) {
  if (!test::is_windows()) GTEST_SKIP() << "forkserver works here";
  EXPECT_SYSTEM_ERROR(spawn_child("fs_report_state", {}, {}, StartMethod::forkserver), errc::not_supported, "POSIX");
}
