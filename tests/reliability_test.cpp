// SPDX-License-Identifier: MIT
// The promises under stress: owners killed at random moments, leak freedom over many
// cycles, isolation from children that were not given an object, and many processes on
// one mutex. Counts are smaller under Wine, where a process start costs ~0.1 s.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include "common/mutex_backend.hpp"
#include "common/segment_backend.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <sstream>
#include <thread>

using interproc::Child;
using interproc::SharedValue;
using interproc::spawn_child;
using interproc::StartMethod;
using namespace std::chrono_literals;
namespace test = interproc::test;

namespace {

// Two halves of one update: a is written first, b last, both under the lock, so a != b is
// only ever seen after an owner died between them.
struct Pair {
  long a;
  long b;
};

int scaled(int linux_count, int wine_count) { return test::is_windows() ? wine_count : linux_count; }

StartMethod method_for_round(int round) {
  return test::is_windows() || round % 2 == 0 ? StartMethod::spawn : StartMethod::fork;
}

}  // namespace

// Updates the pair under the lock forever; killed by the parent at a random moment.
INTERPROC_CHILD_ENTRY(hammer_pair) {
  auto& pair = ctx.value<Pair>(0);
  for (;;) {
    std::lock_guard<interproc::InterprocessMutex> hold(pair.get_lock());
    volatile long& a = pair.value().a;
    a = a + 1;
    for (volatile int spin = 0; spin < 200; spin = spin + 1) {
    }
    pair.value().b = pair.value().b + 1;
  }
}

// Adds 1 to the pair's both halves args[0] times.
INTERPROC_CHILD_ENTRY(count_pair) {
  auto& pair = ctx.value<Pair>(0);
  for (int i = 0; i < std::stoi(ctx.args().at(0)); ++i) {
    pair.with_lock([](Pair& p) {
      p.a += 1;
      p.b += 1;
    });
  }
  return 0;
}

TEST(Reliability, OwnersKilledAtRandomMomentsNeverCorruptOrHang) {
  const int rounds = scaled(200, 40);
  const auto seed = std::random_device{}();
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> delay_us(0, 3000);
  auto pair = SharedValue<Pair>::create({0, 0});
  int owner_died_reports = 0;
  for (int round = 0; round < rounds; ++round) {
    Child child = spawn_child("hammer_pair", {}, {pair}, method_for_round(round));
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(random)));  // 0: killed while starting
    child.kill();
    ASSERT_NE(child.wait_for(10s), std::nullopt) << "round " << round << " (seed " << seed << "): child did not end";
    ASSERT_TRUE(pair.get_lock().try_lock_for(5s)) << "round " << round << " (seed " << seed << "): lock hung";
    const bool died = pair.get_lock().previous_owner_died();
    owner_died_reports += died;
    if (pair.value().a != pair.value().b) {
      EXPECT_TRUE(died) << "round " << round << ": torn update without an owner_died report";
      pair.value().b = pair.value().a;  // the repair a real program would make
    }
    if (died) pair.get_lock().mark_consistent();
    pair.get_lock().unlock();
  }
  EXPECT_EQ(pair.value().a, pair.value().b);
  EXPECT_LE(owner_died_reports, rounds);
  std::printf("%d rounds, %d owner_died reports, %ld updates (seed %u)\n", rounds, owner_died_reports, pair.value().a,
              seed);
}

TEST(Reliability, ManyProcessesOnOneMutexCountExactly) {
  const int processes = 32;
  const int increments = scaled(3000, 300);
  auto pair = SharedValue<Pair>::create({0, 0});
  std::vector<Child> children;
  for (int p = 0; p < processes; ++p) {
    children.push_back(spawn_child("count_pair", {std::to_string(increments)}, {pair}, method_for_round(p)));
  }
  for (Child& child : children) ASSERT_EQ(child.wait_for(120s), std::optional<int>(0));
  EXPECT_EQ(pair.value().a, long{processes} * increments);
  EXPECT_EQ(pair.value().b, long{processes} * increments);
}

// The leak tests are only as good as the count: it must see every handle opened and closed
// (Wine's GetProcessHandleCount says 0 whatever is open).
TEST(Reliability, TheHandleCountSeesEveryHandleOpenedAndClosed) {
  const std::string path = test::temporary_file_with("counted", 16);
  const std::size_t before = test::open_handle_count();
  EXPECT_GT(before, 0u);
  std::vector<std::intptr_t> opened;
  for (int i = 0; i < 8; ++i) opened.push_back(test::open_read_write(path));
  for (const std::intptr_t h : opened) ASSERT_NE(h, -1);
  EXPECT_EQ(test::open_handle_count(), before + opened.size());
  for (const std::intptr_t h : opened) test::close_handle(h);
  EXPECT_EQ(test::open_handle_count(), before);
  test::remove_file(path);
}

TEST(Reliability, ThousandsOfCyclesLeakNothing) {
  const int cycles = scaled(1000, 100);
  auto pair = SharedValue<Pair>::create({0, 0});
  const std::size_t handles_before = test::open_handle_count();
  for (int i = 0; i < cycles; ++i) {
    auto segment = interproc::SharedSegment::create(4096);
    auto mutex = interproc::InterprocessMutex::create();
    Child child = spawn_child("count_pair", {"1"}, {pair}, method_for_round(i));
    if (i % 10 == 0) child.kill();  // killed children must leak nothing either
    child.wait();
  }
  EXPECT_EQ(test::open_handle_count(), handles_before);
  EXPECT_EQ(test::unreaped_children(), 0);
  EXPECT_TRUE(test::leftover_anonymous_names().empty()) << test::leftover_anonymous_names().front();
}

// Run as a child by UnrelatedChildrenCannotReachUnpassedObjects, through an ordinary
// process start with handle inheritance on; skipped when run directly.
TEST(Reliability, ProbeHandlesAreClosed) {
  const char* handles = std::getenv("INTERPROC_TEST_PROBE");
  if (handles == nullptr) GTEST_SKIP() << "only run as a child of the isolation test";
  std::istringstream list(handles);
  for (long long h; list >> h;)
    EXPECT_FALSE(test::holds_parent_handle(static_cast<std::intptr_t>(h))) << "handle " << h;
}

TEST(Reliability, UnrelatedChildrenCannotReachUnpassedObjects) {
  auto segment = interproc::SharedSegment::create(64);
  auto mutex = interproc::InterprocessMutex::create();
  std::string handles = std::to_string(interproc::detail::SegmentAccess::handle(segment));
  for (const auto handle : interproc::detail::MutexAccess::handles(mutex)) handles += " " + std::to_string(handle);
  const int code = test::run_unrelated_child({"--gtest_filter=Reliability.ProbeHandlesAreClosed"}, handles);
  EXPECT_EQ(code, 0) << "an unrelated child could reach handles " << handles;
}

// Run as a child by ExecutableGoneOrReplaced, from a copy of the test binary that it
// deletes, or replaces with a script, before calling spawn_child; skipped when run directly.
TEST(Reliability, ProbeSpawnWithoutExecutable) {
  const char* probe = std::getenv("INTERPROC_TEST_PROBE");
  if (probe == nullptr) GTEST_SKIP() << "only run as a child of ExecutableGoneOrReplaced";
  const std::string program = std::string(probe).substr(2);
  std::remove(program.c_str());
  if (probe[0] == 'r') test::write_script(program, 42);  // a rebuild or a package upgrade
  auto pair = SharedValue<Pair>::create({0, 0});
  if (!test::spawns_running_image()) {  // macOS: posix_spawn reports the missing file
    if (probe[0] == 'g')
      EXPECT_SYSTEM_ERROR(spawn_child("count_pair", {"1"}, {pair}), std::errc::no_such_file_or_directory,
                          "posix_spawn(");
    return;
  }
  // Linux: the child runs this program's own image, never the file now at its path.
  EXPECT_EQ(spawn_child("count_pair", {"1"}, {pair}).wait(), 0);
  EXPECT_EQ(pair.value().a, 1);
}

class ExecutableGoneOrReplaced : public testing::TestWithParam<std::string> {};

TEST_P(ExecutableGoneOrReplaced, SpawnRunsThisProgramOrSaysWhy) {
  if (test::is_windows()) GTEST_SKIP() << "a running program cannot be deleted on Windows";
  const std::string copy = test::copy_of_self("interproc_tests_gone." + std::to_string(std::random_device{}()));
  EXPECT_EQ(test::run_unrelated_child({"--gtest_filter=Reliability.ProbeSpawnWithoutExecutable"},
                                      GetParam().substr(0, 1) + ":" + copy, copy),
            0);
  test::remove_file(copy);
  test::remove_file(copy + " (deleted)");
}

INSTANTIATE_TEST_SUITE_P(Reliability, ExecutableGoneOrReplaced, testing::Values("gone", "replaced"));

// Run as a child by ProgramWithUnicodePathSpawnsChildren from a copy of the test binary
// whose name is not ASCII; skipped when run directly.
TEST(Reliability, ProbeSpawnFromUnicodePath) {
  const char* probe = std::getenv("INTERPROC_TEST_PROBE");
  if (probe == nullptr || std::string(probe) != "unicode") GTEST_SKIP() << "only run as a child";
  auto pair = SharedValue<Pair>::create({0, 0});
  EXPECT_EQ(spawn_child("count_pair", {"2"}, {pair}).wait(), 0);
  EXPECT_EQ(pair.value().a, 2);
}

TEST(Reliability, ProgramWithUnicodePathSpawnsChildren) {
  // "interproc tests ünï 日本": a space and characters outside every ANSI code page.
  const std::string copy = test::copy_of_self("interproc tests \xc3\xbcn\xc3\xaf \xe6\x97\xa5\xe6\x9c\xac" +
                                              std::string(test::is_windows() ? ".exe" : ""));
  ASSERT_FALSE(copy.empty());
  EXPECT_EQ(test::run_unrelated_child({"--gtest_filter=Reliability.ProbeSpawnFromUnicodePath"}, "unicode", copy), 0);
  EXPECT_TRUE(test::remove_file(copy));
}

TEST(Reliability, SpawnRefusedByAProcessLimitIsReported) {
  const std::optional<int> result = test::run_with_process_limit([] {
    try {
      spawn_child("count_pair", {"1"}).wait();
      return 1;
    } catch (const std::system_error& e) {
      const bool clear = e.code() == std::errc::resource_unavailable_try_again &&
                         std::string(e.what()).find("posix_spawn(") != std::string::npos;
      return clear ? 0 : 2;
    }
  });
  if (!result) GTEST_SKIP() << "needs root on POSIX to run a process under a process limit";
  EXPECT_EQ(*result, 0) << "1: the spawn was not refused; 2: refused with another error";
}

TEST(Reliability, NamedSegmentsAreClosedToOtherUsers) {
  const std::string name = "ip-user." + std::to_string(std::random_device{}() % 1000000);
  auto segment = interproc::SharedSegment::create_named(name, 64);
  const std::optional<bool> can_open = test::other_user_can_open(name);
  interproc::SharedSegment::remove_named(name);
  if (!can_open) GTEST_SKIP() << "needs root on POSIX to run a process as another user";
  EXPECT_FALSE(*can_open);
}
