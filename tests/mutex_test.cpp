// SPDX-License-Identifier: MIT
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

using interproc::errc;
using interproc::InterprocessMutex;
using interproc::LockResult;
using interproc::SharedValue;
using interproc::StartMethod;
using namespace std::chrono_literals;
namespace test = interproc::test;
using test::start_methods;

namespace {

struct Counter {
  long value;
};

int increments_of(const interproc::ChildContext& ctx) { return std::stoi(ctx.args().at(0)); }

}  // namespace

// Adds 1 to the shared counter args[0] times, under the lock.
INTERPROC_CHILD_ENTRY(locked_increments) {
  auto& counter = ctx.value<Counter>(0);
  for (int i = 0; i < increments_of(ctx); ++i) {
    counter.with_lock([](Counter& c) { c.value += 1; });
  }
  return 0;
}

// Adds 1 args[0] times without the lock: a read and a separate write, so updates can be lost.
INTERPROC_CHILD_ENTRY(unlocked_increments) {
  auto& counter = ctx.value<Counter>(0);
  volatile long* value = &counter.value().value;
  for (int i = 0; i < increments_of(ctx); ++i) *value = *value + 1;
  return 0;
}

// Takes the lock, marks the counter as half-written and tells the parent, then waits to be
// killed (args[0] == "hang") or dies on its own (args[0] == "die").
INTERPROC_CHILD_ENTRY(die_holding_lock) {
  auto& counter = ctx.value<Counter>(0);
  counter.get_lock().lock();
  counter.value().value = -1;  // the half-done update the next owner must repair
  ctx.segment(1).bytes()[0] = std::byte{1};
  if (ctx.args().at(0) == "die") test::die_abruptly();
  test::hang();
}

// Adds 1 to every element of the shared array args[0] times, each pass under get_lock().
INTERPROC_CHILD_ENTRY(array_increments) {
  auto& array = ctx.array<int>(0);
  for (int i = 0; i < increments_of(ctx); ++i) {
    std::lock_guard<InterprocessMutex> hold(array.get_lock());
    for (int& v : array.span()) v += 1;
  }
  return 0;
}

TEST(InterprocessMutex, LockAndUnlockWorkWithStandardGuards) {
  InterprocessMutex m = InterprocessMutex::create();
  EXPECT_EQ(m.lock(), LockResult::acquired);
  EXPECT_FALSE(m.previous_owner_died());
  m.unlock();
  { std::lock_guard<InterprocessMutex> hold(m); }
  std::unique_lock<InterprocessMutex> lock(m, std::defer_lock);
  EXPECT_TRUE(lock.try_lock_for(10ms));
  lock.unlock();
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(InterprocessMutex, ThreadsOfOneProcessExcludeEachOther) {
  InterprocessMutex m = InterprocessMutex::create();
  long counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        std::lock_guard<InterprocessMutex> hold(m);
        counter = counter + 1;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 80000);
}

TEST(InterprocessMutex, TryLockFailsWhileAnotherThreadHoldsIt) {
  InterprocessMutex m = InterprocessMutex::create();
  m.lock();
  std::thread([&] {
    EXPECT_FALSE(m.try_lock());
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(m.try_lock_for(60ms));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 60ms);
    EXPECT_FALSE(m.try_lock_for(0ms));
  }).join();
  m.unlock();
  std::thread([&] {
    EXPECT_TRUE(m.try_lock_for(0ms));
    m.unlock();
  }).join();
}

TEST(InterprocessMutex, RelockingFromTheOwnerThreadIsAnError) {
  InterprocessMutex m = InterprocessMutex::create();
  m.lock();
  EXPECT_SYSTEM_ERROR(m.lock(), errc::recursive_lock, "already holds");
  EXPECT_SYSTEM_ERROR(m.try_lock(), errc::recursive_lock, "already holds");
  EXPECT_SYSTEM_ERROR(m.try_lock_for(5ms), errc::recursive_lock, "already holds");
  m.unlock();
}

TEST(InterprocessMutex, UnlockingWithoutHoldingIsAnError) {
  InterprocessMutex m = InterprocessMutex::create();
  EXPECT_SYSTEM_ERROR(m.unlock(), errc::not_owner, "does not hold");
  m.lock();
  std::thread([&] { EXPECT_SYSTEM_ERROR(m.unlock(), errc::not_owner, "does not hold"); }).join();
  m.unlock();
}

TEST(InterprocessMutex, ProcessesCountExactlyUnderTheLock) {
  constexpr int processes = 4;
  constexpr int increments = 2000;
  for (StartMethod method : start_methods()) {
    auto counter = SharedValue<Counter>::create({0});
    std::vector<interproc::Child> children;
    for (int p = 0; p < processes; ++p) {
      children.push_back(interproc::spawn_child("locked_increments", {std::to_string(increments)}, {counter}, method));
    }
    for (auto& child : children) EXPECT_EQ(child.wait(), 0);
    EXPECT_EQ(counter.value().value, processes * increments) << "start method " << static_cast<int>(method);
  }
}

TEST(InterprocessMutex, WithoutTheLockNoMoreThanEveryUpdateLands) {
  // Lost updates are possible, not certain: assert only the bounds that always hold.
  constexpr int processes = 3;
  constexpr int increments = 100000;
  auto counter = SharedValue<Counter>::create({0});
  std::vector<interproc::Child> children;
  for (int p = 0; p < processes; ++p) {
    children.push_back(interproc::spawn_child("unlocked_increments", {std::to_string(increments)}, {counter}));
  }
  for (auto& child : children) EXPECT_EQ(child.wait(), 0);
  EXPECT_GE(counter.value().value, 1);
  EXPECT_LE(counter.value().value, processes * increments);
}

class OwnerDeath : public testing::TestWithParam<std::string> {};

TEST_P(OwnerDeath, NextLockerIsToldOnceAndTheMutexKeepsWorking) {
  for (StartMethod method : start_methods()) {
    auto counter = SharedValue<Counter>::create({5});
    auto ready = interproc::SharedSegment::create(1);
    interproc::Child child = interproc::spawn_child("die_holding_lock", {GetParam()}, {counter, ready}, method);
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (ready.bytes()[0] != std::byte{1} && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(1ms);
    ASSERT_EQ(ready.bytes()[0], std::byte{1}) << "the child never took the lock";
    if (GetParam() == "hang") child.kill();

    // No wait() first: the dead owner may still be an unreaped child.
    ASSERT_TRUE(counter.get_lock().try_lock_for(1s)) << "owner death not detected within 1 s";
    EXPECT_TRUE(counter.get_lock().previous_owner_died());
    EXPECT_EQ(counter.value().value, -1);
    counter.get_lock().unlock();  // not repaired yet: the report stays for the next locker

    EXPECT_EQ(counter.get_lock().lock(), LockResult::owner_died) << "the report vanished unacknowledged";
    counter.value().value = 5;  // repaired
    counter.get_lock().mark_consistent();
    EXPECT_FALSE(counter.get_lock().previous_owner_died());
    counter.get_lock().unlock();

    EXPECT_EQ(counter.get_lock().lock(), LockResult::acquired) << "owner_died reported after mark_consistent()";
    EXPECT_FALSE(counter.get_lock().previous_owner_died());
    counter.get_lock().unlock();
    EXPECT_NE(child.wait(), 0);
    EXPECT_EQ(interproc::spawn_child("locked_increments", {"10"}, {counter}, method).wait(), 0);
    EXPECT_EQ(counter.value().value, 15);
  }
}

INSTANTIATE_TEST_SUITE_P(KilledOrCrashed, OwnerDeath, testing::Values("hang", "die"));

TEST(InterprocessMutex, LockReturnsOwnerDied) {
  auto counter = SharedValue<Counter>::create({0});
  auto ready = interproc::SharedSegment::create(1);
  interproc::Child child = interproc::spawn_child("die_holding_lock", {"die"}, {counter, ready});
  EXPECT_NE(child.wait(), 0);
  EXPECT_EQ(counter.get_lock().lock(), LockResult::owner_died);
  counter.get_lock().mark_consistent();
  counter.get_lock().unlock();
  EXPECT_EQ(counter.get_lock().lock(), LockResult::acquired);
  counter.get_lock().unlock();
}

TEST(SharedArray, ChildrenSeeTheArrayAndItsLock) {
  constexpr int processes = 3;
  constexpr int increments = 200;
  for (StartMethod method : start_methods()) {
    auto array = interproc::SharedArray<int>::create(16);
    EXPECT_EQ(array.size(), 16u);
    array.with_lock([](gsl::span<int> values) {
      for (int& v : values) v = 3;
    });
    std::vector<interproc::Child> children;
    for (int p = 0; p < processes; ++p) {
      children.push_back(interproc::spawn_child("array_increments", {std::to_string(increments)}, {array}, method));
    }
    for (auto& child : children) EXPECT_EQ(child.wait(), 0) << "start method " << static_cast<int>(method);
    for (int v : array.span()) EXPECT_EQ(v, 3 + processes * increments) << "start method " << static_cast<int>(method);
  }
  EXPECT_SYSTEM_ERROR(interproc::SharedArray<int>::create(0), errc::invalid_size, "size 0");
}
