// SPDX-License-Identifier: MIT
// InterprocessBarrier (rounds, abort, reset, timeouts, a party killed), InterprocessRecursiveMutex
// (re-entry, an owner killed deep in its count, a non-owner's unlock), bounded semaphores and
// open_or_create for every named kind, raced by real processes.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using interproc::Child;
using interproc::errc;
using interproc::InterprocessBarrier;
using interproc::InterprocessCondition;
using interproc::InterprocessEvent;
using interproc::InterprocessMutex;
using interproc::InterprocessRecursiveMutex;
using interproc::InterprocessSemaphore;
using interproc::LockResult;
using interproc::SharedArray;
using interproc::SharedQueue;
using interproc::SharedSegment;
using interproc::SharedValue;
using interproc::spawn_child;
using interproc::StartMethod;
using namespace std::chrono_literals;
namespace test = interproc::test;

namespace {

using interproc::test::unique_name;

constexpr int exit_broken = 23;  // a child that saw errc::broken_barrier

// 0 if wait() passed, exit_broken if it threw broken_barrier, 1 otherwise.
int wait_code(InterprocessBarrier& barrier) {
  try {
    barrier.wait();
    return 0;
  } catch (const std::system_error& e) {
    return e.code() == errc::broken_barrier ? exit_broken : 1;
  }
}

// The exit code of `child` within `timeout`, or std::nullopt after killing it.
std::optional<int> exit_within(Child& child, std::chrono::milliseconds timeout) {
  std::optional<int> code = child.wait_for(timeout);
  if (!code) child.kill();
  return code;
}

bool becomes_true(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

}  // namespace

// ---- InterprocessBarrier in one process (the tsan preset runs these) ----

TEST(Barrier, InProcessEveryRoundGivesEachArrivalIndexOnce) {
  constexpr int parties = 4;
  constexpr int rounds = 200;
  auto barrier = InterprocessBarrier::create(parties);
  EXPECT_EQ(barrier.parties(), 4u);
  std::vector<std::atomic<int>> seen(rounds * parties);
  std::atomic<int> arrived{0};
  std::atomic<bool> early{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < parties; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < rounds; ++r) {
        arrived.fetch_add(1);
        const std::uint32_t index = barrier.wait();
        if (arrived.load() < (r + 1) * parties) early = true;
        seen[static_cast<std::size_t>(r * parties) + index].fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_FALSE(early.load()) << "a waiter passed before every party arrived";
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i].load(), 1) << "round " << i / parties;
}

TEST(Barrier, InProcessAbortBreaksItUntilReset) {
  auto barrier = InterprocessBarrier::create(3);
  std::atomic<int> broken{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 2; ++i) waiters.emplace_back([&] { broken += wait_code(barrier) == exit_broken ? 1 : 0; });
  ASSERT_TRUE(becomes_true([&] { return barrier.n_waiting() == 2; }, 10s));
  barrier.abort();
  for (std::thread& t : waiters) t.join();
  EXPECT_EQ(broken.load(), 2);
  EXPECT_TRUE(barrier.broken());
  EXPECT_SYSTEM_ERROR(barrier.wait(), errc::broken_barrier, "broken");
  barrier.reset();
  EXPECT_FALSE(barrier.broken());
  std::vector<std::thread> parties;
  std::atomic<int> passed{0};
  for (int i = 0; i < 3; ++i) parties.emplace_back([&] { passed += wait_code(barrier) == 0 ? 1 : 0; });
  for (std::thread& t : parties) t.join();
  EXPECT_EQ(passed.load(), 3);
}

TEST(Barrier, InProcessResetBreaksTheRoundItEnds) {
  auto barrier = InterprocessBarrier::create(2);
  std::atomic<int> code{-1};
  std::thread waiter([&] { code = wait_code(barrier); });
  ASSERT_TRUE(becomes_true([&] { return barrier.n_waiting() == 1; }, 10s));
  barrier.reset();
  waiter.join();
  EXPECT_EQ(code.load(), exit_broken);
  EXPECT_FALSE(barrier.broken()) << "reset leaves a fresh barrier";
  std::thread partner([&] { code = wait_code(barrier); });
  EXPECT_EQ(wait_code(barrier), 0);
  partner.join();
  EXPECT_EQ(code.load(), 0);
}

TEST(Barrier, InProcessATimeoutBreaksItForEveryone) {
  auto barrier = InterprocessBarrier::create(3);
  std::atomic<int> code{-1};
  std::thread waiter([&] { code = wait_code(barrier); });
  ASSERT_TRUE(becomes_true([&] { return barrier.n_waiting() == 1; }, 10s));
  EXPECT_EQ(barrier.wait_for(30ms), std::nullopt);
  waiter.join();
  EXPECT_EQ(code.load(), exit_broken);
  EXPECT_TRUE(barrier.broken());
  EXPECT_SYSTEM_ERROR(InterprocessBarrier::create(0), errc::invalid_argument, "parties");
  auto one = InterprocessBarrier::create(1);
  EXPECT_EQ(one.wait(), 0u);
  EXPECT_EQ(one.wait_for(0ms), 0u);
}

// ---- InterprocessBarrier between processes ----

// args: rounds. Objects: the barrier, a counter of arrivals, the arrival indices per round.
INTERPROC_CHILD_ENTRY(barrier_rounds) {
  InterprocessBarrier& barrier = ctx.barrier(0);
  auto& arrivals = ctx.value<long>(1);
  auto& seen = ctx.array<int>(2);
  const int rounds = std::stoi(ctx.args().at(0));
  const long parties = static_cast<long>(barrier.parties());
  for (int r = 0; r < rounds; ++r) {
    arrivals.with_lock([](long& n) { ++n; });
    const std::uint32_t index = barrier.wait();
    if (arrivals.with_lock([](long& n) { return n; }) < (r + 1) * parties) return 2;  // passed too early
    seen.with_lock([&](gsl::span<int> s) { ++s[static_cast<std::size_t>(r * parties) + index]; });
  }
  return 0;
}

TEST(Barrier, ProcessesPassManyRoundsTogether) {
  const int rounds = test::is_windows() ? 30 : 200;
  for (StartMethod method : test::start_methods()) {
    SCOPED_TRACE(static_cast<int>(method));
    auto barrier = InterprocessBarrier::create(4);
    auto arrivals = SharedValue<long>::create(0);
    auto seen = SharedArray<int>::create(static_cast<std::size_t>(rounds * 4));
    std::vector<Child> children;
    for (int i = 0; i < 4; ++i)
      children.push_back(spawn_child("barrier_rounds", {std::to_string(rounds)}, {barrier, arrivals, seen}, method));
    for (Child& child : children) EXPECT_EQ(exit_within(child, 120s), 0);
    for (int r = 0; r < rounds; ++r)
      for (int k = 0; k < 4; ++k) ASSERT_EQ(seen.span()[static_cast<std::size_t>(r * 4 + k)], 1) << "round " << r;
  }
}

// Waits once; exit code 0 (passed), 23 (broken) or 1.
INTERPROC_CHILD_ENTRY(barrier_wait_once) { return wait_code(ctx.barrier(0)); }

// A party that never arrives: says it started, then waits to be killed.
INTERPROC_CHILD_ENTRY(barrier_never_arrives) {
  ctx.event(1).set();
  test::hang();
}

TEST(Barrier, APartyKilledBreaksItForTheOthers) {
  for (StartMethod method : test::start_methods()) {
    SCOPED_TRACE(static_cast<int>(method));
    auto barrier = InterprocessBarrier::create(4);
    auto started = InterprocessEvent::create();
    std::vector<Child> waiters;
    for (int i = 0; i < 3; ++i) waiters.push_back(spawn_child("barrier_wait_once", {}, {barrier}, method));
    Child victim = spawn_child("barrier_never_arrives", {}, {barrier, started}, method);
    ASSERT_TRUE(started.wait_for(30s));
    ASSERT_TRUE(becomes_true([&] { return barrier.n_waiting() == 3; }, 30s));
    victim.kill();
    EXPECT_EQ(victim.wait(), -9);
    for (Child& waiter : waiters) EXPECT_EQ(exit_within(waiter, 20s), exit_broken) << "a waiter hung or passed";
    EXPECT_TRUE(barrier.broken());
    barrier.reset();  // the dead party's record went with the break
    std::thread partner([&] { EXPECT_EQ(barrier.wait_for(30s).has_value(), true); });
    Child last_three[] = {spawn_child("barrier_wait_once", {}, {barrier}, method),
                          spawn_child("barrier_wait_once", {}, {barrier}, method),
                          spawn_child("barrier_wait_once", {}, {barrier}, method)};
    partner.join();
    for (Child& child : last_three) EXPECT_EQ(exit_within(child, 30s), 0) << "reset left the dead party behind";
  }
}

INTERPROC_CHILD_ENTRY(barrier_leave) {
  (void)ctx.barrier(0);
  return 0;
}

TEST(Barrier, AProcessThatEndsNormallyBreaksNothing) {
  for (StartMethod method : test::start_methods()) {
    SCOPED_TRACE(static_cast<int>(method));
    auto barrier = InterprocessBarrier::create(2);
    EXPECT_EQ(spawn_child("barrier_leave", {}, {barrier}, method).wait(), 0);
    Child partner = spawn_child("barrier_wait_once", {}, {barrier}, method);
    EXPECT_EQ(wait_code(barrier), 0);
    EXPECT_EQ(exit_within(partner, 30s), 0);
  }
}

// Opens the barrier args[0] by name and waits once.
INTERPROC_CHILD_ENTRY(barrier_wait_by_name) {
  auto barrier = InterprocessBarrier::open_named(ctx.args().at(0));
  return wait_code(barrier);
}

TEST(Barrier, NamedBarriersAreSharedAndKeepTheirKind) {
  const std::string name = unique_name("bar");
  auto barrier = InterprocessBarrier::create_named(name, 2);
  EXPECT_SYSTEM_ERROR(InterprocessBarrier::create_named(name, 2), std::errc::file_exists, "");
  Child child = spawn_child("barrier_wait_by_name", {name});
  EXPECT_EQ(wait_code(barrier), 0);
  EXPECT_EQ(exit_within(child, 30s), 0);
  EXPECT_EQ(InterprocessBarrier::open_named(name).parties(), 2u);
  EXPECT_SYSTEM_ERROR(InterprocessBarrier::open_or_create(name, 3), errc::invalid_argument, "2 parties");
  EXPECT_SYSTEM_ERROR(InterprocessEvent::open_named(name), errc::foreign_object, "");
  EXPECT_TRUE(InterprocessBarrier::remove_named(name));
  const std::string event_name = unique_name("ev");
  auto event = InterprocessEvent::create_named(event_name);
  EXPECT_SYSTEM_ERROR(InterprocessBarrier::open_named(event_name), errc::foreign_object, "");
  InterprocessEvent::remove_named(event_name);
}

// ---- InterprocessRecursiveMutex ----

TEST(RecursiveMutex, InProcessTheHolderReentersAndOthersWait) {
  auto m = InterprocessRecursiveMutex::create();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(m.lock(), LockResult::acquired);
  EXPECT_EQ(m.depth(), 1000u);
  EXPECT_TRUE(m.try_lock());
  EXPECT_TRUE(m.try_lock_for(1ms));
  const auto other_gets_it = [&] {
    bool got = false;
    std::thread other([&] {
      got = m.try_lock();
      if (got) m.unlock();
    });
    other.join();
    return got;
  };
  for (int i = 0; i < 1001; ++i) m.unlock();
  EXPECT_EQ(m.depth(), 1u);
  EXPECT_FALSE(other_gets_it()) << "released before its count reached 0";
  m.unlock();
  EXPECT_EQ(m.depth(), 0u);
  EXPECT_TRUE(other_gets_it());
  { std::scoped_lock both(m); }
}

// Locks the recursive mutex 1000 times, says so, and waits to be killed.
INTERPROC_CHILD_ENTRY(rlock_deep_then_hang) {
  InterprocessRecursiveMutex& m = ctx.recursive_mutex(0);
  for (int i = 0; i < 1000; ++i) m.lock();
  if (m.depth() != 1000) return 2;
  ctx.event(1).set();
  test::hang();
}

TEST(RecursiveMutex, AnOwnerKilledDeepInItsCountIsReportedToTheNextLocker) {
  for (StartMethod method : test::start_methods()) {
    SCOPED_TRACE(static_cast<int>(method));
    auto m = InterprocessRecursiveMutex::create();
    auto held = InterprocessEvent::create();
    Child holder = spawn_child("rlock_deep_then_hang", {}, {m, held}, method);
    ASSERT_TRUE(held.wait_for(30s));
    EXPECT_FALSE(m.try_lock());
    holder.kill();
    holder.wait();
    ASSERT_TRUE(m.try_lock_for(30s)) << "the dead holder's lock was never taken over";
    EXPECT_TRUE(m.previous_owner_died());
    EXPECT_EQ(m.depth(), 1u) << "the dead holder's count is not the new holder's";
    EXPECT_EQ(m.lock(), LockResult::owner_died) << "re-entry keeps the report";
    m.mark_consistent();
    m.unlock();
    m.unlock();
    EXPECT_EQ(m.lock(), LockResult::acquired);
    m.unlock();
  }
}

// Unlocks a recursive mutex it never locked: a caller's bug, which ends the process.
INTERPROC_CHILD_ENTRY(rlock_unlock_unheld) {
  ctx.recursive_mutex(0).unlock();
  return 0;
}

TEST(RecursiveMutex, UnlockByANonOwnerIsACallersBug) {
  auto m = InterprocessRecursiveMutex::create();
  const int code = spawn_child("rlock_unlock_unheld", {}, {m}).wait();
  EXPECT_NE(code, 0);
  EXPECT_NE(code, interproc::exit_entry_threw) << "a caller's bug is an Expects failure, not an exception";
}

TEST(RecursiveMutex, NamedRecursiveAndPlainMutexesKeepTheirKind) {
  const std::string name = unique_name("rl");
  auto m = InterprocessRecursiveMutex::create_named(name);
  m.lock();
  m.lock();
  {
    auto again = InterprocessRecursiveMutex::open_named(name);
    std::thread other([&] { EXPECT_FALSE(again.try_lock()); });
    other.join();
  }
  m.unlock();
  m.unlock();
  EXPECT_SYSTEM_ERROR(InterprocessMutex::open_named(name), errc::foreign_object, "");
  EXPECT_TRUE(InterprocessRecursiveMutex::remove_named(name));
  const std::string plain = unique_name("pm");
  auto p = InterprocessMutex::create_named(plain);
  EXPECT_SYSTEM_ERROR(InterprocessRecursiveMutex::open_named(plain), errc::foreign_object, "");
  InterprocessMutex::remove_named(plain);
}

// ---- bounded semaphores ----

TEST(Semaphore, ABoundedOneRefusesAReleasePastItsInitialCount) {
  auto s = InterprocessSemaphore::create_bounded(2);
  EXPECT_EQ(s.limit(), 2u);
  EXPECT_SYSTEM_ERROR(s.release(), errc::count_overflow, "bound");
  EXPECT_EQ(s.value(), 2u);
  EXPECT_TRUE(s.try_acquire());
  EXPECT_TRUE(s.try_acquire());
  EXPECT_FALSE(s.try_acquire());
  s.release(2);
  EXPECT_SYSTEM_ERROR(s.release(), errc::count_overflow, "bound");
  EXPECT_EQ(InterprocessSemaphore::create(2).limit(), InterprocessSemaphore::max());
  const std::string name = unique_name("bsem");
  auto named = InterprocessSemaphore::create_named_bounded(name, 1);
  auto opened = InterprocessSemaphore::open_named(name);
  EXPECT_EQ(opened.limit(), 1u);
  EXPECT_SYSTEM_ERROR(opened.release(), errc::count_overflow, "bound");
  InterprocessSemaphore::remove_named(name);
}

// ---- open_or_create ----

TEST(OpenOrCreate, TheFirstCallCreatesTheNextOpensTheSameObject) {
  const std::string n = unique_name("oc");
  auto seg = SharedSegment::open_or_create(n + "s", 64);
  seg.bytes()[0] = std::byte{7};
  EXPECT_EQ(SharedSegment::open_or_create(n + "s", 128).bytes()[0], std::byte{7});
  EXPECT_EQ(SharedSegment::open_or_create(n + "s", 128).size(), 64u);
  auto value = SharedValue<int>::open_or_create(n + "v", 5);
  EXPECT_EQ(SharedValue<int>::open_or_create(n + "v", 9).value(), 5);
  auto array = SharedArray<int>::open_or_create(n + "a", 3);
  EXPECT_EQ(SharedArray<int>::open_or_create(n + "a", 8).size(), 3u);
  auto event = InterprocessEvent::open_or_create(n + "e");
  event.set();
  EXPECT_TRUE(InterprocessEvent::open_or_create(n + "e").is_set());
  auto sem = InterprocessSemaphore::open_or_create(n + "sm", 3);
  EXPECT_EQ(InterprocessSemaphore::open_or_create(n + "sm", 0).value(), 3u);
  auto cond = InterprocessCondition::open_or_create(n + "c");
  auto cond2 = InterprocessCondition::open_or_create(n + "c");
  auto queue = SharedQueue<int>::open_or_create(n + "q", 4);
  queue.push(1);
  EXPECT_EQ(SharedQueue<int>::open_or_create(n + "q", 9).size(), 1u);
  auto mutex = InterprocessMutex::open_or_create(n + "m");
  mutex.lock();
  {
    auto again = InterprocessMutex::open_or_create(n + "m");
    std::thread other([&] { EXPECT_FALSE(again.try_lock()); });
    other.join();
  }
  mutex.unlock();
  auto rlock = InterprocessRecursiveMutex::open_or_create(n + "r");
  auto barrier = InterprocessBarrier::open_or_create(n + "b", 1);
  EXPECT_EQ(InterprocessBarrier::open_or_create(n + "b", 1).wait(), 0u);
  EXPECT_SYSTEM_ERROR(InterprocessEvent::open_or_create(n + "sm"), errc::foreign_object, "");
  for (const char* suffix : {"s", "e", "sm", "c", "m", "r", "b"}) SharedSegment::remove_named(n + suffix);
  SharedValue<int>::remove_named(n + "v");
  SharedArray<int>::remove_named(n + "a");
  SharedQueue<int>::remove_named(n + "q");
}

// Opens or creates the object `name` of `kind`, leaves a mark that two objects would split,
// and calls `while_open` before letting go: 0 on success, 3 on an error, 4 for a barrier that
// never filled.
template <class Object, class Mark>
int race_with(Object object, Mark mark, const std::function<void()>& while_open) {
  const int code = mark(object);
  while_open();
  return code;
}

int race_once(const std::string& kind, const std::string& name, const std::function<void()>& while_open) {
  const auto done = [](auto&&) { return 0; };
  try {
    if (kind == "segment") {
      return race_with(
          SharedSegment::open_or_create(name, sizeof(std::atomic<int>)),
          [](SharedSegment& s) {
            reinterpret_cast<std::atomic<int>*>(s.bytes().data())->fetch_add(1);
            return 0;
          },
          while_open);
    }
    if (kind == "value") {
      return race_with(
          SharedValue<int>::open_or_create(name, 0),
          [](SharedValue<int>& v) {
            v.with_lock([](int& n) { ++n; });
            return 0;
          },
          while_open);
    }
    if (kind == "array") {
      return race_with(
          SharedArray<int>::open_or_create(name, 2),
          [](SharedArray<int>& a) {
            a.with_lock([](gsl::span<int> s) { ++s[0]; });
            return 0;
          },
          while_open);
    }
    if (kind == "semaphore") {
      return race_with(
          InterprocessSemaphore::open_or_create(name, 0),
          [](InterprocessSemaphore& sem) {
            sem.release();
            return 0;
          },
          while_open);
    }
    if (kind == "queue") {
      return race_with(
          SharedQueue<int>::open_or_create(name, 8),
          [](SharedQueue<int>& q) {
            q.push(1);
            return 0;
          },
          while_open);
    }
    if (kind == "barrier") {
      return race_with(
          InterprocessBarrier::open_or_create(name, 4),
          [](InterprocessBarrier& b) {
            return b.wait_for(30s) ? 0 : 4;  // 4: the others reached another barrier
          },
          while_open);
    }
    if (kind == "event") return race_with(InterprocessEvent::open_or_create(name), done, while_open);
    if (kind == "condition") return race_with(InterprocessCondition::open_or_create(name), done, while_open);
    if (kind == "mutex") return race_with(InterprocessMutex::open_or_create(name), done, while_open);
    if (kind == "rlock") return race_with(InterprocessRecursiveMutex::open_or_create(name), done, while_open);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "open_or_create(%s): %s\n", kind.c_str(), e.what());
    while_open();
    return 3;
  }
  return 3;
}

// args: the kind, the name. Objects: the start event, a semaphore released once done, and
// an event to leave on: the object must outlive the racers on Windows, where it lives only
// while a handle is open, until the parent has counted.
INTERPROC_CHILD_ENTRY(open_or_create_racer) {
  if (!ctx.event(0).wait_for(30s)) return 2;
  bool left_in_time = true;
  const int code = race_once(ctx.args().at(0), ctx.args().at(1), [&] {
    ctx.semaphore(1).release();
    left_in_time = ctx.event(2).wait_for(60s);
  });
  return left_in_time ? code : 2;
}

// The count the racers left in the object `name` of `kind`, or -1 where nothing counts.
int count_left(const std::string& kind, const std::string& name) {
  if (kind == "segment")
    return reinterpret_cast<std::atomic<int>*>(SharedSegment::open_named(name).bytes().data())->load();
  if (kind == "value") return SharedValue<int>::open_named(name).value();
  if (kind == "array") return SharedArray<int>::open_named(name).span()[0];
  if (kind == "semaphore") return static_cast<int>(InterprocessSemaphore::open_named(name).value());
  if (kind == "queue") return static_cast<int>(SharedQueue<int>::open_named(name).size());
  return -1;
}

void remove_any(const std::string& kind, const std::string& name) {
  if (kind == "value" || kind == "array" || kind == "queue") {
    SharedValue<int>::remove_named(name);  // the data's and the lock's names, as for the others
  } else {
    SharedSegment::remove_named(name);
  }
}

TEST(OpenOrCreate, ProcessesRacingOnOneNameShareOneObject) {
  const int rounds = test::is_windows() ? 2 : 6;
  const char* kinds[] = {"segment", "value", "array",     "semaphore", "queue",
                         "barrier", "event", "condition", "mutex",     "rlock"};
  for (StartMethod method : test::start_methods()) {
    SCOPED_TRACE(static_cast<int>(method));
    for (int round = 0; round < rounds; ++round) {
      for (const std::string kind : kinds) {
        SCOPED_TRACE(kind);
        const std::string name = unique_name("race");
        auto go = InterprocessEvent::create();
        auto finished = InterprocessSemaphore::create(0);
        auto leave = InterprocessEvent::create();
        std::vector<Child> racers;
        for (int i = 0; i < 4; ++i)
          racers.push_back(spawn_child("open_or_create_racer", {kind, name}, {go, finished, leave}, method));
        go.set();
        int done = 0;
        while (done < 4 && finished.try_acquire_for(60s)) ++done;
        EXPECT_EQ(done, 4) << "a racer never finished";
        int left = -1;
        try {
          if (done == 4) left = count_left(kind, name);
        } catch (const std::system_error& e) {
          ADD_FAILURE() << "the object the racers made cannot be opened: " << e.what();
        }
        leave.set();
        for (Child& racer : racers) EXPECT_EQ(exit_within(racer, 60s), 0);
        if (left != -1) {
          EXPECT_EQ(left, 4) << "the racers did not all reach one object";
        }
        remove_any(kind, name);
      }
    }
  }
}
