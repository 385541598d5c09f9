// SPDX-License-Identifier: MIT
// JoinableQueue<T>: task_done() / join() in one process and between processes of every
// start method, by name, and with a consumer killed holding items it never marked done,
// which join() reports instead of waiting for ever.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include "common/waiting.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using interproc::Child;
using interproc::errc;
using interproc::InterprocessEvent;
using interproc::JoinableQueue;
using interproc::spawn_child;
using interproc::StartMethod;
using namespace std::chrono_literals;
namespace test = interproc::test;

namespace {

using interproc::test::unique_name;

}  // namespace

TEST(JoinableQueue, InProcessJoinWaitsForEveryTaskDone) {
  auto jq = JoinableQueue<long>::create(1024);  // the example
  jq.push(1);
  auto item = jq.pop();
  EXPECT_EQ(item.value(), 1);
  jq.task_done();
  jq.join();

  jq.push(2);
  jq.push(3);
  EXPECT_EQ(jq.unfinished_tasks(), 2u);
  EXPECT_FALSE(jq.join_for(10ms));
  std::thread worker([&] {
    while (const auto n = jq.pop_for(200ms)) {
      std::this_thread::sleep_for(5ms);
      jq.task_done();
    }
  });
  jq.join();
  EXPECT_EQ(jq.unfinished_tasks(), 0u);
  worker.join();
}

TEST(JoinableQueue, TaskDonePastTheItemsTakenIsRefused) {
  auto jq = JoinableQueue<std::string>::create(4);
  EXPECT_SYSTEM_ERROR(jq.task_done(), errc::invalid_argument, "more times than");
  jq.push("work");
  EXPECT_SYSTEM_ERROR(jq.task_done(), errc::invalid_argument, "ValueError");  // pushed, not popped
  EXPECT_EQ(jq.pop().value(), "work");
  jq.task_done();
  EXPECT_SYSTEM_ERROR(jq.task_done(), errc::invalid_argument, "");
  EXPECT_TRUE(jq.join_for(0ms));
  EXPECT_SYSTEM_ERROR(JoinableQueue<std::string>::create(4, 8).push(std::string(1, 'x')), errc::message_too_large,
                      "maximum of 8");
}

// An item forged in shared memory is refused and counts as done: no caller holds it, so
// join() does not wait for it.
TEST(JoinableQueue, AForgedItemIsRefusedAndNeverWaitedFor) {
  auto jq = JoinableQueue<std::string>::create(4, 64);
  jq.push("forged-length-item");
  jq.push("forged-bytes-item");
  const gsl::span<std::byte> bytes =
      interproc::detail::WaitAccess::state(interproc::detail::SharedDataAccess::core(jq)).words.bytes();
  const std::string_view all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const std::uint64_t huge = 1u << 30;
  std::memcpy(bytes.data() + all.find("forged-length-item") - 16, &huge, sizeof huge);
  const std::uint64_t shorter = 9;
  std::memcpy(bytes.data() + all.find("forged-bytes-item") - 16, &shorter, sizeof shorter);
  EXPECT_SYSTEM_ERROR(jq.pop(), errc::invalid_message, "maximum of 64");
  EXPECT_SYSTEM_ERROR(jq.pop(), errc::invalid_message, "");
  EXPECT_TRUE(jq.join_for(0ms));
  EXPECT_SYSTEM_ERROR(jq.task_done(), errc::invalid_argument, "");
}

// Pops and marks done until the queue is closed and drained.
INTERPROC_CHILD_ENTRY(joinable_worker) {
  auto& jq = ctx.joinable_queue<long>(0);
  auto& sum = ctx.value<long>(1);
  while (const auto n = jq.pop()) {
    sum.value() += *n;  // one worker per run: no race
    jq.task_done();
  }
  return 0;
}

TEST(JoinableQueue, ChildrenOfEveryStartMethodFinishTheWork) {
  for (StartMethod method : test::start_methods()) {
    auto jq = JoinableQueue<long>::create(8);
    auto sum = interproc::SharedValue<long>::create(0);
    Child worker = spawn_child("joinable_worker", {}, {jq, sum}, method);
    for (long n = 1; n <= 100; ++n) jq.push(n);
    jq.join();
    EXPECT_EQ(sum.value(), 5050);
    jq.close();
    EXPECT_EQ(worker.wait(), 0);
  }
}

// Pops one item, says so, and never marks it done: it waits to be killed.
INTERPROC_CHILD_ENTRY(joinable_taker) {
  auto& jq = ctx.joinable_queue<long>(0);
  (void)jq.pop();
  ctx.event(1).set();
  for (;;) std::this_thread::sleep_for(1s);
}

TEST(JoinableQueue, JoinReportsAConsumerThatDiedHoldingItems) {
  for (StartMethod method : test::start_methods()) {
    auto jq = JoinableQueue<long>::create(8);
    auto took = InterprocessEvent::create();
    jq.push(1);
    Child taker = spawn_child("joinable_taker", {}, {jq, took}, method);
    ASSERT_TRUE(took.wait_for(30s));
    EXPECT_FALSE(jq.join_for(50ms));  // alive: join waits
    taker.kill();
    // Not reaped yet (a zombie) on POSIX: ended all the same.
    EXPECT_SYSTEM_ERROR(jq.join(), errc::unfinished_tasks, "never marked done");
    taker.wait();
    EXPECT_SYSTEM_ERROR(jq.join_for(10s), errc::unfinished_tasks, "1 item(s)");
  }
}

INTERPROC_CHILD_ENTRY(joinable_wrong_kind) {
  try {
    ctx.queue<long>(0);
    return 1;
  } catch (const std::system_error& e) {
    if (e.code() != errc::wrong_object_kind) return 2;
  }
  try {
    ctx.joinable_queue<int>(0);
    return 3;
  } catch (const std::system_error& e) {
    return e.code() == errc::wrong_object_kind ? 0 : 4;
  }
}

TEST(JoinableQueue, AChildAskingForAnotherKindOrTypeIsRefused) {
  auto jq = JoinableQueue<long>::create(2);
  for (StartMethod method : test::start_methods())
    EXPECT_EQ(spawn_child("joinable_wrong_kind", {}, {jq}, method).wait(), 0);
}

// Opens the named queue args[0], takes every item and marks it done, until closed.
INTERPROC_CHILD_ENTRY(joinable_named_worker) {
  auto jq = JoinableQueue<std::string>::open_named(ctx.args().at(0));
  while (const auto line = jq.pop()) jq.task_done();
  return 0;
}

TEST(JoinableQueue, NamedQueuesAreSharedByName) {
  const std::string name = unique_name("jq");
  auto jq = JoinableQueue<std::string>::create_named(name, 4, 256);
  EXPECT_SYSTEM_ERROR(JoinableQueue<long>::open_named(name), errc::wrong_object_kind, "not a JoinableQueue");
  EXPECT_SYSTEM_ERROR(interproc::SharedQueue<std::string>::open_named(name), errc::wrong_object_kind, "");
  Child worker = spawn_child("joinable_named_worker", {name});
  for (int i = 0; i < 50; ++i) jq.push("task " + std::to_string(i));
  jq.join();
  jq.close();
  EXPECT_EQ(worker.wait(), 0);
  EXPECT_TRUE(JoinableQueue<std::string>::remove_named(name));
}
