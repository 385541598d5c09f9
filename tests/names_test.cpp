// SPDX-License-Identifier: MIT
// NameLifetime::creator (names that go with their creator, SIGKILL included) and the names
// in use with the removal of dead creators' names (interproc/names.hpp), with real kills.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using interproc::errc;
using interproc::InterprocessCondition;
using interproc::InterprocessEvent;
using interproc::InterprocessMutex;
using interproc::InterprocessSemaphore;
using interproc::NameLifetime;
using interproc::SharedArray;
using interproc::SharedQueue;
using interproc::SharedSegment;
using interproc::SharedValue;
using interproc::spawn_child;
using interproc::StartMethod;
namespace test = interproc::test;

namespace {

// A prefix unique to this test process and call.
std::string prefix() {
  static int calls = 0;
  return "nl" + std::to_string(test::current_pid()) + "x" + std::to_string(++calls);
}

// Every named kind, each under `stem` + a letter; the data kinds add "<name>.lock".
void create_every_kind(const std::string& stem, NameLifetime lifetime, std::vector<SharedSegment>& keep,
                       std::vector<InterprocessMutex>& locks) {
  keep.push_back(SharedSegment::create_named(stem + "s", 100, lifetime));
  locks.push_back(InterprocessMutex::create_named(stem + "m", lifetime));
  static std::vector<SharedValue<int>> values;
  static std::vector<SharedArray<int>> arrays;
  static std::vector<InterprocessEvent> events;
  static std::vector<InterprocessSemaphore> semaphores;
  static std::vector<InterprocessCondition> conditions;
  static std::vector<SharedQueue<int>> queues;
  values.push_back(SharedValue<int>::create_named(stem + "v", 7, lifetime));
  arrays.push_back(SharedArray<int>::create_named(stem + "a", 10, lifetime));
  events.push_back(InterprocessEvent::create_named(stem + "e", lifetime));
  semaphores.push_back(InterprocessSemaphore::create_named(stem + "p", 1, lifetime));
  conditions.push_back(InterprocessCondition::create_named(stem + "c", lifetime));
  queues.push_back(SharedQueue<int>::create_named(stem + "q", 4, lifetime));
  static std::vector<SharedQueue<std::string>> line_queues;
  static std::vector<interproc::JoinableQueue<int>> joinable_queues;
  static std::vector<interproc::InterprocessBarrier> barriers;
  static std::vector<interproc::InterprocessRecursiveMutex> recursive_mutexes;
  line_queues.push_back(SharedQueue<std::string>::create_named(stem + "w", 4, 64, lifetime));
  joinable_queues.push_back(interproc::JoinableQueue<int>::create_named(stem + "j", 4, 64, lifetime));
  barriers.push_back(interproc::InterprocessBarrier::create_named(stem + "b", 2, lifetime));
  recursive_mutexes.push_back(interproc::InterprocessRecursiveMutex::create_named(stem + "x", lifetime));
}

// The OS names create_every_kind makes (every one a named segment on POSIX).
std::vector<std::string> every_name(const std::string& stem) {
  std::vector<std::string> names;
  for (const char* letter : {"s", "m", "v", "a", "e", "p", "c", "q", "w", "j", "b", "x"})
    names.push_back(stem + letter);
  for (const char* letter : {"v", "a", "q", "w", "j"}) names.push_back(stem + letter + ".lock");
  return names;
}

bool exists(const std::string& name) {
  try {
    SharedSegment::open_named(name);
    return true;
  } catch (const std::system_error& e) {
    return e.code() != std::errc::no_such_file_or_directory;  // another error: something is there
  }
}

// Whether every one of `names` is gone within `timeout`, looking every 10 ms.
bool all_gone_within(const std::vector<std::string>& names, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (std::none_of(names.begin(), names.end(), exists)) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void remove_all(const std::vector<std::string>& names) {
  for (const std::string& name : names) SharedSegment::remove_named(name);
}

std::string method_name(StartMethod method) {
  return method == StartMethod::fork ? "fork" : method == StartMethod::spawn ? "spawn" : "forkserver";
}

}  // namespace

// args: stem, then "hang" (waits to be killed) or "exit". Makes every kind tracked under
// stem + "t", and an untracked segment stem + "u", then sets the event.
INTERPROC_CHILD_ENTRY(make_tracked_names) {
  const std::string stem = ctx.args().at(0);
  std::vector<SharedSegment> keep;
  std::vector<InterprocessMutex> locks;
  create_every_kind(stem + "t", NameLifetime::creator, keep, locks);
  keep.push_back(SharedSegment::create_named(stem + "u", 100));
  ctx.event(0).set();
  if (ctx.args().at(1) == "hang") test::hang();
  return 0;
}

// Makes stem "r" tracked, removes it, and makes it again untracked: the watcher must forget
// it, and keep the new object when this process is killed.
INTERPROC_CHILD_ENTRY(remove_then_recreate) {
  const std::string stem = ctx.args().at(0);
  SharedSegment first = SharedSegment::create_named(stem + "r", 64, NameLifetime::creator);
  SharedSegment::remove_named(stem + "r");
  SharedSegment second = SharedSegment::create_named(stem + "r", 64);
  ctx.event(0).set();
  test::hang();
}

TEST(NameLifetime, ACreatorKilledWithSigkillTakesItsTrackedNamesWithinASecond) {
  for (StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    const std::string stem = prefix();
    const std::vector<std::string> tracked = every_name(stem + "t");
    auto made = InterprocessEvent::create();
    interproc::Child child = spawn_child("make_tracked_names", {stem, "hang"}, {made}, method);
    ASSERT_TRUE(made.wait_for(std::chrono::seconds(30)));
    for (const std::string& name : tracked) EXPECT_TRUE(exists(name)) << name;
    child.kill();
    EXPECT_EQ(child.wait(), -9);
    EXPECT_TRUE(all_gone_within(tracked, std::chrono::seconds(1)));
    if (!test::is_windows()) {  // Windows: an untracked name too goes with its last handle
      EXPECT_TRUE(exists(stem + "u"));
      EXPECT_TRUE(SharedSegment::remove_named(stem + "u"));
    }
    remove_all(tracked);
  }
}

TEST(NameLifetime, ACreatorThatReturnsTakesItsTrackedNamesToo) {
  const std::string stem = prefix();
  const std::vector<std::string> tracked = every_name(stem + "t");
  auto made = InterprocessEvent::create();
  EXPECT_EQ(spawn_child("make_tracked_names", {stem, "exit"}, {made}).wait(), 0);
  EXPECT_TRUE(all_gone_within(tracked, std::chrono::seconds(1)));
  SharedSegment::remove_named(stem + "u");
  remove_all(tracked);
}

TEST(NameLifetime, RemoveNamedMakesTheWatcherForgetTheName) {
  if (test::is_windows()) GTEST_SKIP() << "Windows: every name goes with its last handle";
  const std::string stem = prefix();
  auto made = InterprocessEvent::create();
  interproc::Child child = spawn_child("remove_then_recreate", {stem}, {made});
  ASSERT_TRUE(made.wait_for(std::chrono::seconds(30)));
  child.kill();
  child.wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a watcher that wrongly removes it has done so
  EXPECT_TRUE(exists(stem + "r"));
  SharedSegment::remove_named(stem + "r");
}

TEST(NameLifetime, ThisProcessKeepsItsOwnTrackedNamesWhileItRuns) {
  const std::string stem = prefix();
  std::vector<SharedSegment> keep;
  std::vector<InterprocessMutex> locks;
  create_every_kind(stem, NameLifetime::creator, keep, locks);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (const std::string& name : every_name(stem)) EXPECT_TRUE(exists(name)) << name;
  EXPECT_TRUE(SharedValue<int>::remove_named(stem + "v"));
  EXPECT_TRUE(SharedQueue<int>::remove_named(stem + "q"));
  for (const std::string& name : every_name(stem)) SharedSegment::remove_named(name);
}

// args: stem. Makes an untracked segment, then waits to be killed.
INTERPROC_CHILD_ENTRY(leave_names_behind) {
  SharedSegment kept = SharedSegment::create_named(ctx.args().at(0) + "d", 300);
  ctx.event(0).set();
  test::hang();
}

TEST(NamesInUse, ListsThisProcesssNamesAndRemovesOnlyDeadCreatorsNames) {
  const std::string stem = prefix();
  if (test::is_windows()) {
    EXPECT_SYSTEM_ERROR(interproc::names_in_use(), errc::not_supported, "last handle");
    return;
  }
  try {
    interproc::names_in_use();
  } catch (const std::system_error& e) {
    if (e.code() == errc::not_supported) GTEST_SKIP() << e.what();  // macOS: no list of names
    throw;
  }
  SharedSegment mine = SharedSegment::create_named(stem + "l", 200);
  auto value = SharedValue<long>::create_named(stem + "w", 5);
  auto made = InterprocessEvent::create();
  interproc::Child child = spawn_child("leave_names_behind", {stem}, {made});
  ASSERT_TRUE(made.wait_for(std::chrono::seconds(30)));
  child.kill();
  child.wait();

  std::vector<interproc::NameInUse> found;
  for (const auto& name : interproc::names_in_use())
    if (name.name.compare(0, stem.size(), stem) == 0) found.push_back(name);
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  ASSERT_EQ(found.size(), 4u);  // "d", "l", "w", "w.lock"
  EXPECT_EQ(found[0].name, stem + "d");
  EXPECT_FALSE(found[0].creator_alive);
  EXPECT_EQ(found[0].creator, child.pid());
  EXPECT_EQ(found[0].size, 300u);
  EXPECT_EQ(found[1].name, stem + "l");
  EXPECT_EQ(found[1].kind, "segment");
  EXPECT_EQ(found[1].creator, test::current_pid());
  EXPECT_TRUE(found[1].creator_alive);
  EXPECT_EQ(found[2].kind, "value");
  EXPECT_EQ(found[3].kind, "mutex");

  EXPECT_EQ(interproc::remove_dead_names(stem), std::vector<std::string>{stem + "d"});
  EXPECT_FALSE(exists(stem + "d"));
  EXPECT_TRUE(exists(stem + "l"));
  EXPECT_TRUE(exists(stem + "w"));
  SharedSegment::remove_named(stem + "l");
  SharedValue<long>::remove_named(stem + "w");
}
