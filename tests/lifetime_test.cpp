// SPDX-License-Identifier: MIT
// Child lifetime: SpawnOptions (die_with_parent, own_process_group), Child::terminate and
// Child::kill_tree, with real processes and real kills. A "middle" child starts a grandchild,
// reports its pid through a SharedValue and is then killed; the grandchild must end with it
// only when it asked to.
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using interproc::Child;
using interproc::InterprocessEvent;
using interproc::SharedValue;
using interproc::spawn_child;
using interproc::SpawnOptions;
using interproc::StartMethod;
using namespace std::chrono_literals;
namespace test = interproc::test;

namespace {

const char* name_of(StartMethod method) {
  switch (method) {
    case StartMethod::fork: return "fork";
    case StartMethod::forkserver: return "forkserver";
    default: return "spawn";
  }
}

StartMethod method_named(const std::string& name) {
  for (StartMethod method : {StartMethod::fork, StartMethod::forkserver}) {
    if (name == name_of(method)) return method;
  }
  return StartMethod::spawn;
}

// What the middle child made: the grandchild's pid once the middle is ready.
struct Middle {
  Child child;
  long grandchild;
};

// Starts "lifetime_middle" with `middle_options`; it starts a grandchild by `method`, with
// die_with_parent if asked, and waits to be killed.
Middle start_middle(const SpawnOptions& middle_options, StartMethod method, bool die_with_parent,
                    bool on_ended_thread = false) {
  auto pid = SharedValue<long>::create(0);
  auto ready = InterprocessEvent::create();
  Child child = spawn_child("lifetime_middle",
                            {name_of(method), die_with_parent ? "1" : "0", on_ended_thread ? "thread" : "caller"},
                            {pid, ready}, middle_options);
  const bool started = ready.wait_for(60s);
  EXPECT_TRUE(started) << "the middle child never reported its grandchild";
  return Middle{std::move(child), started ? pid.value() : -1};
}

}  // namespace

INTERPROC_CHILD_ENTRY(lifetime_exit_with) { return std::stoi(ctx.args().at(0)); }

INTERPROC_CHILD_ENTRY(lifetime_sleep) { test::hang(); }

// args: the grandchild's start method, "1" for die_with_parent, "thread" to start it on a
// thread that then ends. Objects: the pid value, the ready event.
INTERPROC_CHILD_ENTRY(lifetime_middle) {
  SpawnOptions options;
  options.method = method_named(ctx.args().at(0));
  options.die_with_parent = ctx.args().at(1) == "1";
  std::optional<Child> started;
  const auto start = [&] { started.emplace(spawn_child("lifetime_sleep", {}, {}, options)); };
  if (ctx.args().at(2) == "thread") {
    std::thread(start).join();
  } else {
    start();
  }
  Child grandchild = std::move(*started);
  ctx.value<long>(0).with_lock([&](long& v) { v = grandchild.pid(); });
  ctx.event(1).set();
  test::hang();
}

// Starts a plain grandchild, reports its pid and ends at once, leaving it behind (a Child
// destroyed here would wait for it). Objects: the pid value.
INTERPROC_CHILD_ENTRY(lifetime_leave_grandchild) {
  Child grandchild = spawn_child("lifetime_sleep");
  ctx.value<long>(0).with_lock([&](long& v) { v = grandchild.pid(); });
  test::die_abruptly();
}

// A die_with_parent child that starts a plain grandchild: the grandchild must not inherit
// the rule (it would compare its parent with the wrong pid and die).
INTERPROC_CHILD_ENTRY(lifetime_plain_grandchild) {
  return spawn_child("lifetime_exit_with", {"5"}).wait() == 5 ? 0 : 30;
}

INTERPROC_CHILD_ENTRY(lifetime_add_one) {
  ctx.value<long>(0).with_lock([](long& v) { v += 1; });
  return 7;
}

// args[0]: "ignore" (SIGTERM ignored), "exit" (exits 12 on SIGTERM) or "default".
INTERPROC_CHILD_ENTRY(lifetime_until_terminated) {
  if (ctx.args().at(0) == "ignore") test::ignore_terminate_request();
  if (ctx.args().at(0) == "exit") test::exit_on_terminate_request(12);
  ctx.event(0).set();
  test::hang();
}

TEST(Lifetime, OldCallFormsStillWork) {
  EXPECT_EQ(spawn_child("lifetime_exit_with", {"3"}).wait(), 3);
  EXPECT_EQ(spawn_child("lifetime_exit_with", {"3"}, {}).wait(), 3);
  EXPECT_EQ(spawn_child("lifetime_exit_with", {"3"}, {}, StartMethod::spawn).wait(), 3);
  EXPECT_EQ(spawn_child("lifetime_exit_with", {"3"}, {}, SpawnOptions{}).wait(), 3);
  EXPECT_EQ(spawn_child("lifetime_exit_with", {"3"}, {}, {StartMethod::spawn, true, true}).wait(), 3);
}

TEST(Lifetime, ChildrenWithOptionsRunAndShareAsAnyOther) {
  for (StartMethod method : test::start_methods()) {
    auto counter = SharedValue<long>::create(1);
    EXPECT_EQ(spawn_child("lifetime_add_one", {}, {counter}, {method, true, true}).wait(), 7) << name_of(method);
    EXPECT_EQ(spawn_child("lifetime_add_one", {}, {counter}, {method, true, false}).wait(), 7) << name_of(method);
    EXPECT_EQ(spawn_child("lifetime_add_one", {}, {counter}, {method, false, true}).wait(), 7) << name_of(method);
    EXPECT_EQ(counter.value(), 4);
  }
}

TEST(Lifetime, DieWithParentIsNotInheritedByGrandchildren) {
  for (StartMethod method : test::start_methods()) {
    EXPECT_EQ(spawn_child("lifetime_plain_grandchild", {}, {}, {method, true, false}).wait(), 0) << name_of(method);
  }
}

TEST(Lifetime, AGrandchildThatDiesWithItsParentEndsWhenTheParentIsKilled) {
  for (StartMethod method : test::start_methods()) {
    Middle middle = start_middle(SpawnOptions{}, method, true);
    ASSERT_GT(middle.grandchild, 0);
    ASSERT_TRUE(test::process_exists(middle.grandchild));
    middle.child.kill();
    EXPECT_EQ(middle.child.wait(), -9);
    const bool gone = test::gone_within(middle.grandchild, 10s);
    EXPECT_TRUE(gone) << "grandchild " << middle.grandchild << " (" << name_of(method) << ") outlived its parent";
    if (!gone) test::kill_by_pid(middle.grandchild);
  }
}

// Linux ties a die_with_parent child to the thread that started it (prctl(2)); the library
// starts such children on a thread of its own that lasts, so the starting thread may end.
TEST(Lifetime, ADieWithParentChildStartedOnAThreadThatEndedLivesUntilItsParentDies) {
  for (StartMethod method : test::start_methods()) {
    Middle middle = start_middle(SpawnOptions{}, method, true, true);
    ASSERT_GT(middle.grandchild, 0);
    std::this_thread::sleep_for(300ms);  // the death signal, if it were sent, has landed
    EXPECT_TRUE(test::process_exists(middle.grandchild)) << name_of(method) << ": killed with its starting thread";
    middle.child.kill();
    EXPECT_EQ(middle.child.wait(), -9);
    const bool gone = test::gone_within(middle.grandchild, 10s);
    EXPECT_TRUE(gone) << "grandchild " << middle.grandchild << " (" << name_of(method) << ") outlived its parent";
    if (!gone) test::kill_by_pid(middle.grandchild);
  }
}

TEST(Lifetime, WithoutDieWithParentTheGrandchildSurvives) {
  for (StartMethod method : test::start_methods()) {
    Middle middle = start_middle(SpawnOptions{}, method, false);
    ASSERT_GT(middle.grandchild, 0);
    middle.child.kill();
    EXPECT_EQ(middle.child.wait(), -9);
    std::this_thread::sleep_for(500ms);
    EXPECT_TRUE(test::process_exists(middle.grandchild)) << name_of(method);
    test::kill_by_pid(middle.grandchild);
    EXPECT_TRUE(test::gone_within(middle.grandchild, 10s));
  }
}

// Windows: the grandchild is in the child's kill-on-close job, which closes with the Child.
TEST(Lifetime, ADescendantThatOutlivesADieWithParentChildOutlivesItsChildObject) {
  for (StartMethod method : test::start_methods()) {
    auto pid = SharedValue<long>::create(0);
    spawn_child("lifetime_leave_grandchild", {}, {pid}, {method, true, false}).wait();  // the Child is gone here
    const long grandchild = pid.value();
    ASSERT_GT(grandchild, 0);
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(test::process_exists(grandchild)) << name_of(method);
    test::kill_by_pid(grandchild);
    EXPECT_TRUE(test::gone_within(grandchild, 10s));
  }
}

TEST(Lifetime, KillTreeWithItsOwnGroupEndsTheGrandchild) {
  for (StartMethod method : test::start_methods()) {
    for (StartMethod middle_method : test::start_methods()) {
      Middle middle = start_middle({middle_method, false, true}, method, false);
      ASSERT_GT(middle.grandchild, 0);
      middle.child.kill_tree();
      EXPECT_EQ(middle.child.wait(), -9);
      const bool gone = test::gone_within(middle.grandchild, 10s);
      EXPECT_TRUE(gone) << name_of(middle_method) << " middle, " << name_of(method) << " grandchild";
      if (!gone) test::kill_by_pid(middle.grandchild);
    }
  }
}

TEST(Lifetime, KillTreeWithoutAGroupEndsTheChildOnly) {
  Middle middle = start_middle(SpawnOptions{}, StartMethod::spawn, false);
  ASSERT_GT(middle.grandchild, 0);
  middle.child.kill_tree();
  EXPECT_EQ(middle.child.wait(), -9);
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(test::process_exists(middle.grandchild));
  test::kill_by_pid(middle.grandchild);
  EXPECT_NO_THROW(middle.child.kill_tree()) << "kill_tree() after wait() is harmless";
}

TEST(Lifetime, TerminateAsksFirstThenKills) {
  for (StartMethod method : test::start_methods()) {
    for (const std::string how : {"default", "ignore", "exit"}) {
      auto ready = InterprocessEvent::create();
      Child child = spawn_child("lifetime_until_terminated", {how}, {ready}, method);
      ASSERT_TRUE(ready.wait_for(60s));
      const auto start = std::chrono::steady_clock::now();
      const int code = child.terminate(300ms);
      const auto took = std::chrono::steady_clock::now() - start;
      if (test::is_windows()) {
        EXPECT_EQ(code, -9) << how;  // no request to end exists: TerminateProcess at once
      } else if (how == "default") {
        EXPECT_EQ(code, -15);
      } else if (how == "ignore") {
        EXPECT_EQ(code, -9);
        EXPECT_GE(took, 300ms) << "SIGKILL came before the grace ended";
      } else {
        EXPECT_EQ(code, 12);
      }
      EXPECT_EQ(child.wait(), code);
      EXPECT_EQ(child.terminate(1s), code) << "terminate() after the end returns the same code";
    }
  }
}

TEST(Lifetime, TerminateOfAChildThatHasEndedReturnsItsCode) {
  Child child = spawn_child("lifetime_exit_with", {"4"});
  ASSERT_TRUE(test::gone_within(child.pid(), 60s));  // ended, not yet waited for
  EXPECT_EQ(child.terminate(0ms), 4);
}
