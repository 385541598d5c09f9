// SPDX-License-Identifier: MIT
// InterprocessEvent, InterprocessSemaphore and InterprocessCondition: what they do in one
// process (the tests named InProcess, which the tsan preset runs), between a parent and its
// children for every start method, by name, and when a process dies at a random moment.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <array>
#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

using interproc::Child;
using interproc::errc;
using interproc::InterprocessCondition;
using interproc::InterprocessEvent;
using interproc::InterprocessMutex;
using interproc::InterprocessSemaphore;
using interproc::SharedValue;
using interproc::spawn_child;
using interproc::StartMethod;
using namespace std::chrono_literals;
namespace test = interproc::test;

namespace {

using interproc::test::unique_name;

// Random pauses for the kill tests, the same sequence every run.
std::chrono::microseconds random_pause(std::mt19937& random, int max_us) {
  return std::chrono::microseconds(std::uniform_int_distribution<int>(0, max_us)(random));
}

}  // namespace

// ---- InterprocessEvent ----

TEST(Event, InProcessStartsClearAndKeepsItsState) {
  auto ev = InterprocessEvent::create();
  EXPECT_FALSE(ev.is_set());
  EXPECT_FALSE(ev.wait_for(20ms));
  ev.set();
  EXPECT_TRUE(ev.is_set());
  EXPECT_TRUE(ev.wait_for(0ms));
  ev.wait();  // set: returns at once
  ev.set();   // setting twice is fine
  ev.clear();
  EXPECT_FALSE(ev.is_set());
  EXPECT_FALSE(ev.wait_until(std::chrono::system_clock::now() + 10ms));
}

TEST(Event, InProcessSetWakesEveryWaitingThread) {
  auto ev = InterprocessEvent::create();
  std::atomic<int> woken{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 4; ++i) waiters.emplace_back([&] { woken += ev.wait_for(10s) ? 1 : 0; });
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(woken.load(), 0);
  ev.set();
  for (std::thread& t : waiters) t.join();
  EXPECT_EQ(woken.load(), 4);
}

// Waits for event 0, then sets event 1 in answer.
INTERPROC_CHILD_ENTRY(event_answer) {
  if (!ctx.event(0).wait_for(30s)) return 2;
  ctx.event(1).set();
  return 0;
}

TEST(Event, ChildrenWaitForTheParentAndAnswer) {
  for (StartMethod method : test::start_methods()) {
    auto go = InterprocessEvent::create();
    auto done = InterprocessEvent::create();
    Child child = spawn_child("event_answer", {}, {go, done}, method);
    EXPECT_FALSE(done.wait_for(50ms));
    go.set();
    EXPECT_TRUE(done.wait_for(30s));
    EXPECT_EQ(child.wait(), 0);
  }
}

// Opens the named event args[0] and sets it.
INTERPROC_CHILD_ENTRY(event_set_by_name) {
  InterprocessEvent::open_named(ctx.args().at(0)).set();
  return 0;
}

TEST(Event, NamedEventsAreSharedByName) {
  const std::string name = unique_name("ev");
  auto ev = InterprocessEvent::create_named(name);
  EXPECT_SYSTEM_ERROR(InterprocessEvent::create_named(name), std::errc::file_exists, "");
  EXPECT_EQ(spawn_child("event_set_by_name", {name}).wait(), 0);
  EXPECT_TRUE(ev.wait_for(0ms));
  EXPECT_TRUE(InterprocessEvent::remove_named(name));
  EXPECT_SYSTEM_ERROR(InterprocessEvent::open_named(unique_name("none")), std::errc::no_such_file_or_directory, "");
  EXPECT_SYSTEM_ERROR(InterprocessEvent::create_named("bad/name"), errc::invalid_name, "");
}

TEST(Event, ANamedObjectOfAnotherKindIsRefused) {
  const std::string name = unique_name("sem-not-ev");
  auto sem = InterprocessSemaphore::create_named(name, 1);
  EXPECT_SYSTEM_ERROR(InterprocessEvent::open_named(name), errc::foreign_object, "");
  InterprocessSemaphore::remove_named(name);
}

// Waits on event 0 until killed.
INTERPROC_CHILD_ENTRY(event_wait_forever) {
  ctx.event(1).set();
  ctx.event(0).wait();
  return 0;
}

TEST(Event, AWaiterKilledWhileWaitingBlocksNobody) {
  std::mt19937 random(7);
  for (StartMethod method : test::start_methods()) {
    auto ev = InterprocessEvent::create();
    auto started = InterprocessEvent::create();
    Child child = spawn_child("event_wait_forever", {}, {ev, started}, method);
    ASSERT_TRUE(started.wait_for(30s));
    std::this_thread::sleep_for(random_pause(random, 5000));
    child.kill();
    EXPECT_EQ(child.wait(), -9);
    std::thread waiter([&] { EXPECT_TRUE(ev.wait_for(10s)); });
    ev.set();
    waiter.join();
  }
}

// Waits 3 s on event 0, which stays clear, and stores the CPU time that took in value 1.
INTERPROC_CHILD_ENTRY(event_wait_reporting_cpu) {
  const auto before = test::cpu_time();
  if (ctx.event(0).wait_for(3s)) return 1;
  ctx.value<long long>(1).value() = (test::cpu_time() - before).count();
  return 0;
}

namespace {
// Kills `n` children of `entry` while they wait on `objects` (the second being the event
// they set once waiting), leaving them dead and still counted as waiters.
void kill_waiters(const char* entry, const std::vector<interproc::SharedObject>& objects, InterprocessEvent& waiting,
                  int n) {
  for (int i = 0; i < n; ++i) {
    waiting.clear();
    Child child = spawn_child(entry, {}, objects);
    ASSERT_TRUE(waiting.wait_for(30s));
    std::this_thread::sleep_for(100ms);  // into its sleep
    child.kill();
    EXPECT_EQ(child.wait(), -9);
  }
}
}  // namespace

// Windows once left a token per dead waiter per set() in the word's companion semaphore,
// up to 65,536, and a later waiter spun through them: a 3 s wait burned 660-900 ms of CPU.
// A waiter that finds nothing for it sleeps on; the bound is on behaviour, not speed.
TEST(Event, WaitersKilledLeaveNoTokensForAWaiterToSpinOn) {
  auto ev = InterprocessEvent::create();
  auto waiting = InterprocessEvent::create();
  kill_waiters("event_wait_forever", {ev, waiting}, waiting, 4);
  for (int i = 0; i < 5000; ++i) {
    ev.set();
    ev.clear();
  }
  auto cpu = SharedValue<long long>::create(-1);
  EXPECT_EQ(spawn_child("event_wait_reporting_cpu", {}, {ev, cpu}).wait(), 0);
  EXPECT_GE(cpu.value(), 0);
  EXPECT_LT(cpu.value(), 150) << "ms of CPU for a 3 s wait on a clear event";
}

// ---- InterprocessSemaphore ----

TEST(Semaphore, InProcessCountsLikeCountingSemaphore) {
  auto sem = InterprocessSemaphore::create(2);
  EXPECT_EQ(sem.value(), 2u);
  EXPECT_TRUE(sem.try_acquire());
  sem.acquire();
  EXPECT_FALSE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire_for(20ms));
  EXPECT_FALSE(sem.try_acquire_until(std::chrono::steady_clock::now() + 5ms));
  sem.release(3);
  EXPECT_EQ(sem.value(), 3u);
  EXPECT_SYSTEM_ERROR(sem.release(InterprocessSemaphore::max()), errc::count_overflow, "");
  EXPECT_EQ(sem.value(), 3u);  // nothing added
  EXPECT_SYSTEM_ERROR(InterprocessSemaphore::create(InterprocessSemaphore::max() + 1u), errc::count_overflow, "");
}

TEST(Semaphore, InProcessReleaseWakesAWaitingThread) {
  auto sem = InterprocessSemaphore::create(0);
  std::atomic<bool> got{false};
  std::thread waiter([&] { got = sem.try_acquire_for(10s); });
  std::this_thread::sleep_for(30ms);
  EXPECT_FALSE(got.load());
  sem.release();
  waiter.join();
  EXPECT_TRUE(got.load());
  EXPECT_EQ(sem.value(), 0u);
}

// args[0] times: takes the semaphore, adds 1 to the value without its lock, gives it back.
INTERPROC_CHILD_ENTRY(semaphore_guarded_count) {
  auto& sem = ctx.semaphore(0);
  auto& total = ctx.value<long>(1);
  for (int i = 0, n = std::stoi(ctx.args().at(0)); i < n; ++i) {
    sem.acquire();
    volatile long& v = total.value();
    v = v + 1;
    sem.release();
  }
  return 0;
}

TEST(Semaphore, ASemaphoreOfOneExcludesProcesses) {
  const int rounds = test::is_windows() ? 200 : 2000;
  for (StartMethod method : test::start_methods()) {
    auto sem = InterprocessSemaphore::create(1);
    auto total = SharedValue<long>::create(0);
    std::vector<Child> children;
    for (int i = 0; i < 3; ++i)
      children.push_back(spawn_child("semaphore_guarded_count", {std::to_string(rounds)}, {sem, total}, method));
    for (Child& c : children) EXPECT_EQ(c.wait(), 0);
    EXPECT_EQ(total.value(), 3L * rounds);
    EXPECT_EQ(sem.value(), 1u);
  }
}

// Takes one unit, says so, then waits to be killed.
// Sets event 1, then waits for a unit of semaphore 0 until killed.
INTERPROC_CHILD_ENTRY(semaphore_wait_forever) {
  ctx.event(1).set();
  ctx.semaphore(0).acquire();
  return 0;
}

// Waits 3 s for a unit of semaphore 0, which has none, and stores the CPU time in value 1.
INTERPROC_CHILD_ENTRY(semaphore_wait_reporting_cpu) {
  const auto before = test::cpu_time();
  if (ctx.semaphore(0).try_acquire_for(3s)) return 1;
  ctx.value<long long>(1).value() = (test::cpu_time() - before).count();
  return 0;
}

TEST(Semaphore, WaitersKilledLeaveNoTokensForAWaiterToSpinOn) {
  auto sem = InterprocessSemaphore::create(0);
  auto waiting = InterprocessEvent::create();
  kill_waiters("semaphore_wait_forever", {sem, waiting}, waiting, 4);
  for (int i = 0; i < 5000; ++i) {
    sem.release();
    ASSERT_TRUE(sem.try_acquire());
  }
  auto cpu = SharedValue<long long>::create(-1);
  EXPECT_EQ(spawn_child("semaphore_wait_reporting_cpu", {}, {sem, cpu}).wait(), 0);
  EXPECT_GE(cpu.value(), 0);
  EXPECT_LT(cpu.value(), 150) << "ms of CPU for a 3 s wait on an empty semaphore";
}

INTERPROC_CHILD_ENTRY(semaphore_take_and_hang) {
  ctx.semaphore(0).acquire();
  ctx.event(1).set();
  ctx.event(2).wait();
  return 0;
}

TEST(Semaphore, AHolderThatDiesKeepsItsUnitsAsInPython) {
  auto sem = InterprocessSemaphore::create(2);
  auto took = InterprocessEvent::create();
  auto never = InterprocessEvent::create();
  Child child = spawn_child("semaphore_take_and_hang", {}, {sem, took, never});
  ASSERT_TRUE(took.wait_for(30s));
  child.kill();
  EXPECT_EQ(child.wait(), -9);
  EXPECT_EQ(sem.value(), 1u);  // documented: the unit is not given back
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire());
}

TEST(Semaphore, AWaiterKilledWhileWaitingBlocksNobody) {
  std::mt19937 random(11);
  auto sem = InterprocessSemaphore::create(0);
  auto took = InterprocessEvent::create();
  auto never = InterprocessEvent::create();
  for (int round = 0; round < 3; ++round) {
    Child child = spawn_child("semaphore_take_and_hang", {}, {sem, took, never});
    std::this_thread::sleep_for(50ms + random_pause(random, 20000));
    child.kill();
    EXPECT_EQ(child.wait(), -9);
  }
  EXPECT_FALSE(took.is_set());
  std::thread waiter([&] { EXPECT_TRUE(sem.try_acquire_for(10s)); });
  sem.release();
  waiter.join();
}

// ---- InterprocessCondition ----

TEST(Condition, InProcessWaitsForAPredicate) {
  auto m = InterprocessMutex::create();
  auto cv = InterprocessCondition::create();
  auto ready = SharedValue<int>::create(0);
  std::thread setter([&] {
    std::this_thread::sleep_for(30ms);
    {
      std::lock_guard<InterprocessMutex> hold(m);
      ready.value() = 1;
    }
    cv.notify_all();
  });
  std::unique_lock<InterprocessMutex> lk(m);
  cv.wait(lk, [&] { return ready.value() == 1; });
  EXPECT_TRUE(lk.owns_lock());
  lk.unlock();
  setter.join();
}

TEST(Condition, InProcessTimeoutsReturnWithTheLockHeld) {
  auto m = InterprocessMutex::create();
  auto cv = InterprocessCondition::create();
  std::unique_lock<InterprocessMutex> lk(m);
  EXPECT_EQ(cv.wait_for(lk, 20ms), std::cv_status::timeout);
  EXPECT_TRUE(lk.owns_lock());
  EXPECT_FALSE(cv.wait_for(lk, 20ms, [] { return false; }));
  EXPECT_TRUE(cv.wait_for(lk, 20ms, [] { return true; }));
  EXPECT_FALSE(cv.wait_until(lk, std::chrono::system_clock::now() + 10ms, [] { return false; }));
  EXPECT_TRUE(lk.owns_lock());
}

// Waits under the lock until the value reaches args[0], then adds 1000 and notifies.
INTERPROC_CHILD_ENTRY(condition_wait_then_answer) {
  auto& m = ctx.mutex(0);
  auto& cv = ctx.condition(1);
  auto& value = ctx.value<int>(2);
  const int wanted = std::stoi(ctx.args().at(0));
  std::unique_lock<InterprocessMutex> lk(m);
  if (!cv.wait_for(lk, 30s, [&] { return value.value() >= wanted; })) return 2;
  value.value() += 1000;
  cv.notify_all();
  return 0;
}

TEST(Condition, NotifyAllWakesWaitingChildren) {
  for (StartMethod method : test::start_methods()) {
    auto m = InterprocessMutex::create();
    auto cv = InterprocessCondition::create();
    auto value = SharedValue<int>::create(0);
    std::vector<Child> children;
    for (int i = 0; i < 3; ++i)
      children.push_back(spawn_child("condition_wait_then_answer", {"1"}, {m, cv, value}, method));
    std::this_thread::sleep_for(50ms);
    {
      std::lock_guard<InterprocessMutex> hold(m);
      value.value() = 1;
    }
    cv.notify_all();
    {
      // Each child's notify_all must reach the parent: a notification lost to a waiter
      // that came later would leave it asleep until its limit, with the predicate true.
      const auto began = std::chrono::steady_clock::now();
      std::unique_lock<InterprocessMutex> lk(m);
      EXPECT_TRUE(cv.wait_for(lk, 30s, [&] { return value.value() == 3001; }));
      EXPECT_LT(std::chrono::steady_clock::now() - began, 10s);
    }
    for (Child& c : children) EXPECT_EQ(c.wait(), 0);
  }
}

// CPython's _TestCondition worker: counts itself asleep under the lock, waits once (no
// predicate, so any wake-up counts), then counts itself woken.
INTERPROC_CHILD_ENTRY(condition_wait_once) {
  auto& m = ctx.mutex(0);
  auto& cv = ctx.condition(1);
  auto& counts = ctx.value<std::array<int, 2>>(2);  // [0]: asleep, [1]: woken
  std::unique_lock<InterprocessMutex> lk(m);
  ++counts.value()[0];
  if (cv.wait_for(lk, 30s) == std::cv_status::timeout) return 2;
  ++counts.value()[1];
  return 0;
}

int woken_after_a_while(InterprocessMutex& m, SharedValue<std::array<int, 2>>& counts) {
  std::this_thread::sleep_for(300ms);  // time for any extra waiter to come out
  std::lock_guard<InterprocessMutex> hold(m);
  return counts.value()[1];
}

// Ported from CPython's _TestCondition.test_notify and test_notify_n: notify_one wakes one
// sleeping process of several, twice more wakes two more, notify_all the rest.
TEST(Condition, NotifyOneWakesExactlyOneOfSeveralChildren) {
  constexpr int sleepers = 4;
  auto m = InterprocessMutex::create();
  auto cv = InterprocessCondition::create();
  auto counts = SharedValue<std::array<int, 2>>::create(std::array<int, 2>{0, 0});
  std::vector<Child> children;
  for (int i = 0; i < sleepers; ++i) children.push_back(spawn_child("condition_wait_once", {}, {m, cv, counts}));
  for (bool all_asleep = false; !all_asleep; std::this_thread::sleep_for(5ms)) {
    std::lock_guard<InterprocessMutex> hold(m);
    all_asleep = counts.value()[0] == sleepers;
  }
  cv.notify_one();
  EXPECT_EQ(woken_after_a_while(m, counts), 1);
  cv.notify_one();
  cv.notify_one();
  EXPECT_EQ(woken_after_a_while(m, counts), 3);
  cv.notify_all();
  for (Child& c : children) EXPECT_EQ(c.wait(), 0);
  EXPECT_EQ(counts.value()[1], sleepers);
  // With nobody waiting a notification is lost, as for std::condition_variable.
  cv.notify_one();
  std::unique_lock<InterprocessMutex> lk(m);
  EXPECT_EQ(cv.wait_for(lk, 20ms), std::cv_status::timeout);
}

// Waits on the condition until killed (never notified).
INTERPROC_CHILD_ENTRY(condition_wait_forever) {
  std::unique_lock<InterprocessMutex> lk(ctx.mutex(0));
  ctx.event(2).set();
  ctx.condition(1).wait(lk, [] { return false; });
  return 0;
}

TEST(Condition, AWaiterKilledWhileWaitingBlocksNobody) {
  std::mt19937 random(13);
  auto m = InterprocessMutex::create();
  auto cv = InterprocessCondition::create();
  auto waiting = InterprocessEvent::create();
  Child child = spawn_child("condition_wait_forever", {}, {m, cv, waiting});
  ASSERT_TRUE(waiting.wait_for(30s));
  std::this_thread::sleep_for(random_pause(random, 5000));
  child.kill();
  EXPECT_EQ(child.wait(), -9);
  cv.notify_one();
  cv.notify_all();
  // The killed child held no lock while it slept: the mutex is free, without an owner death.
  ASSERT_TRUE(m.try_lock_for(10s));
  EXPECT_FALSE(m.previous_owner_died());
  m.unlock();
}
