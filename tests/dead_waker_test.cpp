// SPDX-License-Identifier: MIT
// A waker that dies between its change of state and its wake system call must not strand
// the waiters: each returns within a bound while the state it waits for holds. A queue's
// push or pop that reached its wake has done its work: the item is in (or out). The child
// is killed exactly there by a seccomp filter on futex(FUTEX_WAKE) (Linux only; random
// kills never land in that window).

#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

using interproc::Child;
using interproc::InterprocessCondition;
using interproc::InterprocessEvent;
using interproc::InterprocessMutex;
using interproc::InterprocessSemaphore;
using interproc::SharedQueue;
using interproc::SharedValue;
using interproc::spawn_child;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int no_filter = 3;       // the child's code when seccomp was refused
constexpr long long bound = 2000;  // ms: how soon after the waker's death every waiter must be up
constexpr auto patience = 6s;      // the waiters' own timeout: well past the bound
constexpr auto settle = 150ms;     // for the waiters to be asleep before the waker runs

// Threads that each run `wait` once, recording whether it succeeded and when it returned.
class Waiters {
 public:
  Waiters(int count, std::function<bool()> wait) {
    for (int i = 0; i < count; ++i) {
      threads_.emplace_back([this, wait] {
        const bool ok = wait();
        std::lock_guard<std::mutex> hold(lock_);
        returns_.push_back(Clock::now());
        succeeded_ += ok ? 1 : 0;
      });
    }
    std::this_thread::sleep_for(settle);
  }
  ~Waiters() { join(); }
  void join() {
    for (std::thread& t : threads_)
      if (t.joinable()) t.join();
  }
  std::size_t returned() {
    std::lock_guard<std::mutex> hold(lock_);
    return returns_.size();
  }
  // Waits (up to `patience`) until `n` of them returned.
  void await(std::size_t n) {
    const auto end = Clock::now() + patience;
    while (returned() < n && Clock::now() < end) std::this_thread::sleep_for(5ms);
  }
  // The latest return among the first `n`, in ms after `since`.
  long long latest(std::size_t n, Clock::time_point since) {
    std::lock_guard<std::mutex> hold(lock_);
    if (returns_.size() < n) return std::chrono::milliseconds::max().count();
    return std::chrono::duration_cast<std::chrono::milliseconds>(returns_[n - 1] - since).count();
  }
  int succeeded() {
    std::lock_guard<std::mutex> hold(lock_);
    return succeeded_;
  }

 private:
  std::mutex lock_;
  std::vector<Clock::time_point> returns_;
  int succeeded_ = 0;
  std::vector<std::thread> threads_;
};

// The waker died at its wake on the futex backend; elsewhere (the portable build polls and
// makes no FUTEX_WAKE) it may have finished.
void expect_died_at_wake(int code) {
#if defined(__linux__) && !defined(INTERPROC_TEST_PORTABLE)
  EXPECT_EQ(code, -SIGSYS) << "the waker was not stopped at futex(FUTEX_WAKE)";
#elif defined(__linux__)
  EXPECT_TRUE(code == 0 || code == -SIGSYS) << code;
#else
  EXPECT_EQ(code, 0);
#endif
}

bool seccomp_os() {
#if defined(__linux__)
  return true;
#else
  return false;
#endif
}

}  // namespace

INTERPROC_CHILD_ENTRY(set_event_then_die_at_wake) {
  if (!interproc::test::die_at_next_futex_wake()) return no_filter;
  ctx.event(0).set();
  return 0;
}

TEST(DeadWaker, AnEventSetterKilledAtItsWakeStrandsNoWaiter) {
  if (!seccomp_os()) GTEST_SKIP() << "seccomp filters are Linux only";
  auto ev = InterprocessEvent::create();
  Waiters waiters(2, [&] { return ev.wait_for(patience); });
  const int code = spawn_child("set_event_then_die_at_wake", {}, {ev}).wait();
  const auto died = Clock::now();
  if (code == no_filter) {
    ev.set();
    GTEST_SKIP() << "seccomp refused";
  }
  expect_died_at_wake(code);
  EXPECT_TRUE(ev.is_set());
  waiters.join();
  EXPECT_EQ(waiters.succeeded(), 2);
  EXPECT_LT(waiters.latest(2, died), bound) << "a waiter slept on beside a set event";
  // The event stays usable: set again while set, and after a clear.
  ev.set();
  EXPECT_TRUE(ev.wait_for(0ms));
  ev.clear();
  Waiters again(2, [&] { return ev.wait_for(patience); });
  const auto set_at = Clock::now();
  ev.set();
  again.join();
  EXPECT_EQ(again.succeeded(), 2);
  EXPECT_LT(again.latest(2, set_at), bound);
}

INTERPROC_CHILD_ENTRY(release_then_die_at_wake) {
  if (!interproc::test::die_at_next_futex_wake()) return no_filter;
  ctx.semaphore(0).release(1);
  return 0;
}

TEST(DeadWaker, ASemaphoreReleaserKilledAtItsWakeStrandsNoAcquirer) {
  if (!seccomp_os()) GTEST_SKIP() << "seccomp filters are Linux only";
  auto sem = InterprocessSemaphore::create(0);
  Waiters waiters(2, [&] { return sem.try_acquire_for(patience); });
  const int code = spawn_child("release_then_die_at_wake", {}, {sem}).wait();
  const auto died = Clock::now();
  if (code == no_filter) {
    sem.release(2);
    GTEST_SKIP() << "seccomp refused";
  }
  expect_died_at_wake(code);
  waiters.await(1);
  EXPECT_LT(waiters.latest(1, died), bound) << "an acquirer slept on beside a free unit";
  // A later release wakes the other one.
  const auto released = Clock::now();
  sem.release(1);
  waiters.join();
  EXPECT_EQ(waiters.succeeded(), 2);
  EXPECT_LT(waiters.latest(2, released), bound) << "a later release() woke nobody";
  EXPECT_EQ(sem.value(), 0u);
}

// Sets the flag under the lock, then notifies with the filter in place.
INTERPROC_CHILD_ENTRY(notify_all_then_die_at_wake) {
  {
    std::lock_guard<InterprocessMutex> hold(ctx.mutex(0));
    ctx.value<int>(2).value() = 1;
  }
  if (!interproc::test::die_at_next_futex_wake()) return no_filter;
  ctx.condition(1).notify_all();
  return 0;
}

TEST(DeadWaker, ANotifierKilledAtItsWakeStrandsNoWaiter) {
  if (!seccomp_os()) GTEST_SKIP() << "seccomp filters are Linux only";
  auto m = InterprocessMutex::create();
  auto cv = InterprocessCondition::create();
  auto flag = SharedValue<int>::create(0);
  Waiters waiters(2, [&] {
    std::unique_lock<InterprocessMutex> lk(m);
    return cv.wait_for(lk, patience, [&] { return flag.value() != 0; });
  });
  const int code = spawn_child("notify_all_then_die_at_wake", {}, {m, cv, flag}).wait();
  const auto died = Clock::now();
  if (code == no_filter) {
    cv.notify_all();
    GTEST_SKIP() << "seccomp refused";
  }
  expect_died_at_wake(code);
  waiters.join();
  EXPECT_EQ(waiters.succeeded(), 2);
  EXPECT_LT(waiters.latest(2, died), bound) << "a waiter slept on while its predicate held";
}

// The queue's lock is taken once before the filter: its first use in a process runs a
// pthread_once, whose FUTEX_WAKE would come first.
INTERPROC_CHILD_ENTRY(push_then_die_at_wake) {
  auto& q = ctx.queue<int>(0);
  if (q.try_pop()) return 1;  // empty
  if (!interproc::test::die_at_next_futex_wake()) return no_filter;
  q.push(7);
  return 0;
}

TEST(DeadWaker, APusherKilledAtItsWakeStrandsNoPopper) {
  if (!seccomp_os()) GTEST_SKIP() << "seccomp filters are Linux only";
  auto q = SharedQueue<int>::create(4);
  std::atomic<int> got{0};
  Waiters waiters(1, [&] {
    const std::optional<int> item = q.pop_for(patience);
    if (item) got = *item;
    return item.has_value();
  });
  const int code = spawn_child("push_then_die_at_wake", {}, {q}).wait();
  const auto died = Clock::now();
  if (code == no_filter) {
    q.push(7);
    GTEST_SKIP() << "seccomp refused";
  }
  expect_died_at_wake(code);
  waiters.join();
  EXPECT_EQ(waiters.succeeded(), 1) << "the item of a push that reached its wake is not in the queue";
  EXPECT_EQ(got.load(), 7);
  EXPECT_LT(waiters.latest(1, died), bound) << "a popper slept on beside an item";
  // The queue stays usable both ways.
  EXPECT_TRUE(q.try_push(8));
  EXPECT_EQ(q.try_pop(), 8);
}

INTERPROC_CHILD_ENTRY(pop_then_die_at_wake) {
  auto& q = ctx.queue<int>(0);
  if (q.try_push(0)) return 1;  // full
  if (!interproc::test::die_at_next_futex_wake()) return no_filter;
  return q.pop() == 1 ? 0 : 1;
}

TEST(DeadWaker, APopperKilledAtItsWakeStrandsNoPusher) {
  if (!seccomp_os()) GTEST_SKIP() << "seccomp filters are Linux only";
  auto q = SharedQueue<int>::create(1);
  q.push(1);
  Waiters waiters(1, [&] { return q.push_for(2, patience); });
  const int code = spawn_child("pop_then_die_at_wake", {}, {q}).wait();
  const auto died = Clock::now();
  if (code == no_filter) {
    (void)q.pop();
    GTEST_SKIP() << "seccomp refused";
  }
  expect_died_at_wake(code);
  waiters.join();
  EXPECT_EQ(waiters.succeeded(), 1) << "the item of a pop that reached its wake is still in the queue";
  EXPECT_LT(waiters.latest(1, died), bound) << "a pusher slept on beside free room";
  EXPECT_EQ(q.try_pop(), 2);
  EXPECT_EQ(q.size(), 0u);
}
