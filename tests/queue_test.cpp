// SPDX-License-Identifier: MIT
// SharedQueue: a bounded queue between processes. In one process (the InProcess tests,
// which the tsan preset runs), between children for every start method, by name, and with
// producers and consumers killed at random moments: an item is in whole or not at all, and
// nobody waits on a process that died.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

using interproc::Child;
using interproc::errc;
using interproc::InterprocessEvent;
using interproc::SharedQueue;
using interproc::spawn_child;
using interproc::StartMethod;
using namespace std::chrono_literals;
namespace test = interproc::test;

namespace {

// An item that shows whether it was copied whole: every word is derived from the first two.
struct Item {
  std::uint64_t producer;
  std::uint64_t sequence;
  std::uint64_t check[6];
};

Item make_item(std::uint64_t producer, std::uint64_t sequence) {
  Item item{producer, sequence, {}};
  for (std::uint64_t i = 0; i < 6; ++i) item.check[i] = (producer * 1000003u + sequence) ^ (i * 0x9e3779b97f4a7c15u);
  return item;
}

bool is_whole(const Item& item) {
  const Item expected = make_item(item.producer, item.sequence);
  for (int i = 0; i < 6; ++i) {
    if (item.check[i] != expected.check[i]) return false;
  }
  return true;
}

using interproc::test::unique_name;

}  // namespace

TEST(SharedQueue, InProcessIsFirstInFirstOutAndBounded) {
  auto q = SharedQueue<int>::create(3);
  EXPECT_EQ(q.capacity(), 3u);
  EXPECT_EQ(q.try_pop(), std::nullopt);
  q.push(1);
  EXPECT_TRUE(q.try_push(2));
  EXPECT_TRUE(q.push_for(3, 10ms));
  EXPECT_FALSE(q.try_push(4));
  EXPECT_FALSE(q.push_for(4, 20ms));
  EXPECT_FALSE(q.push_until(4, std::chrono::system_clock::now() + 5ms));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.pop(), 1);
  EXPECT_EQ(q.try_pop(), 2);
  EXPECT_EQ(q.pop_for(10ms), 3);
  EXPECT_EQ(q.pop_for(20ms), std::nullopt);
  EXPECT_EQ(q.pop_until(std::chrono::steady_clock::now() + 5ms), std::nullopt);
  EXPECT_EQ(q.size(), 0u);
}

TEST(SharedQueue, InProcessCloseDrainsThenEnds) {
  auto q = SharedQueue<int>::create(4);
  q.push(7);
  q.push(8);
  q.close();
  EXPECT_TRUE(q.closed());
  EXPECT_SYSTEM_ERROR(q.push(9), errc::closed, "closed");
  EXPECT_FALSE(q.closed() && q.size() != 2);
  EXPECT_EQ(q.pop(), 7);
  EXPECT_EQ(q.pop(), 8);
  EXPECT_EQ(q.pop(), std::nullopt);  // closed and drained: no wait
}

TEST(SharedQueue, InProcessCloseWakesWaitingThreads) {
  auto q = SharedQueue<int>::create(1);
  std::atomic<int> ended{0};
  std::thread consumer([&] { ended += q.pop() == std::nullopt ? 1 : 0; });
  std::this_thread::sleep_for(30ms);
  q.close();
  consumer.join();
  EXPECT_EQ(ended.load(), 1);
}

TEST(SharedQueue, InProcessThreadsPassEveryItemOnce) {
  auto q = SharedQueue<Item>::create(8);
  constexpr int per_producer = 2000;
  std::vector<std::thread> producers;
  for (std::uint64_t p = 0; p < 2; ++p) {
    producers.emplace_back([&q, p] {
      for (std::uint64_t s = 0; s < per_producer; ++s) q.push(make_item(p, s));
    });
  }
  std::set<std::pair<std::uint64_t, std::uint64_t>> seen;
  for (int i = 0; i < 2 * per_producer; ++i) {
    const auto item = q.pop_for(30s);
    ASSERT_TRUE(item.has_value());
    EXPECT_TRUE(is_whole(*item));
    EXPECT_TRUE(seen.insert({item->producer, item->sequence}).second);
  }
  for (std::thread& t : producers) t.join();
  EXPECT_EQ(q.try_pop(), std::nullopt);
}

TEST(SharedQueue, ZeroCapacityIsRefused) {
  EXPECT_SYSTEM_ERROR(SharedQueue<int>::create(0), errc::invalid_size, "capacity");
}

// The classic file-size counter, with a queue: each child puts its number in.
INTERPROC_CHILD_ENTRY(queue_put_number) {
  ctx.queue<long>(0).push(std::stol(ctx.args().at(0)));
  return 0;
}

TEST(SharedQueue, ChildrenPutAndTheParentAddsUp) {
  for (StartMethod method : test::start_methods()) {
    auto q = SharedQueue<long>::create(2);  // smaller than the number of children: they wait
    std::vector<Child> children;
    for (long n = 1; n <= 5; ++n) children.push_back(spawn_child("queue_put_number", {std::to_string(n)}, {q}, method));
    long total = 0;
    for (int i = 0; i < 5; ++i) total += q.pop_for(30s).value_or(1000);
    for (Child& c : children) EXPECT_EQ(c.wait(), 0);
    EXPECT_EQ(total, 15);
  }
}

INTERPROC_CHILD_ENTRY(queue_wrong_type) {
  try {
    ctx.queue<int>(0);
    return 1;
  } catch (const std::system_error& e) {
    return e.code() == interproc::errc::wrong_object_kind ? 0 : 2;
  }
}

TEST(SharedQueue, AChildAskingForAnotherItemTypeIsRefused) {
  auto q = SharedQueue<float>::create(2);
  for (StartMethod method : test::start_methods())
    EXPECT_EQ(spawn_child("queue_wrong_type", {}, {q}, method).wait(), 0);
}

// Opens the named queue args[0] and pushes 1..args[1], then closes it.
INTERPROC_CHILD_ENTRY(queue_named_producer) {
  auto q = SharedQueue<long>::open_named(ctx.args().at(0));
  for (long i = 1, n = std::stol(ctx.args().at(1)); i <= n; ++i) q.push(i);
  q.close();
  return 0;
}

TEST(SharedQueue, NamedQueuesAreSharedByName) {
  const std::string name = unique_name("q");
  auto q = SharedQueue<long>::create_named(name, 4);
  EXPECT_SYSTEM_ERROR(SharedQueue<long>::create_named(name, 4), std::errc::file_exists, "");
  EXPECT_SYSTEM_ERROR(SharedQueue<char>::open_named(name), errc::wrong_object_kind, "");
  EXPECT_SYSTEM_ERROR(SharedQueue<long>::create_named(std::string(26, 'q'), 4), errc::name_too_long, ".lock");
  Child child = spawn_child("queue_named_producer", {name, "100"});
  long total = 0;
  while (const auto item = q.pop_for(30s)) total += *item;
  EXPECT_EQ(child.wait(), 0);
  EXPECT_EQ(total, 5050);
  EXPECT_TRUE(SharedQueue<long>::remove_named(name));
  // Windows: a name lives as long as a handle to it (`q` here), and removing only reports it.
  if (!test::is_windows()) {
    EXPECT_FALSE(SharedQueue<long>::remove_named(name));
  }
}

// Pushes items of producer args[0] until killed.
INTERPROC_CHILD_ENTRY(queue_produce_forever) {
  auto& q = ctx.queue<Item>(0);
  const auto producer = std::stoull(ctx.args().at(0));
  for (std::uint64_t s = 0;; ++s) q.push(make_item(producer, s));
}

// Pops items into the report queue until killed.
INTERPROC_CHILD_ENTRY(queue_consume_forever) {
  auto& q = ctx.queue<Item>(0);
  auto& report = ctx.queue<Item>(1);
  for (;;) {
    if (const auto item = q.pop()) report.push(*item);
  }
}

// Producers and consumers are killed at random moments while the queue is full, empty and
// in between; afterwards every item left is whole, each arrives once, each producer's items
// in order, and neither a push nor a pop waits for the dead.
TEST(SharedQueue, ProcessesKilledAtRandomMomentsLeaveItConsistent) {
  std::mt19937 random(17);
  const int rounds = test::is_windows() ? 4 : 20;
  auto q = SharedQueue<Item>::create(16);
  auto report = SharedQueue<Item>::create(4096);
  std::map<std::uint64_t, std::uint64_t> next_sequence;
  std::uint64_t lost = 0;
  const auto collect = [&](const Item& item) {
    ASSERT_TRUE(is_whole(item)) << "a torn item from producer " << item.producer;
    auto& next = next_sequence[item.producer];
    ASSERT_GE(item.sequence, next) << "producer " << item.producer << " item " << item.sequence << " seen twice";
    lost += item.sequence - next;  // popped by a consumer killed before it reported them
    next = item.sequence + 1;
  };
  for (int round = 0; round < rounds; ++round) {
    const StartMethod method = test::start_methods()[static_cast<std::size_t>(round) % test::start_methods().size()];
    Child producer = spawn_child("queue_produce_forever", {std::to_string(round)}, {q}, method);
    Child consumer = spawn_child("queue_consume_forever", {}, {q, report}, method);
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(1000, 30000)(random)));
    (round % 2 == 0 ? producer : consumer).kill();
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 5000)(random)));
    (round % 2 == 0 ? consumer : producer).kill();
    producer.wait();
    consumer.wait();
    while (const auto item = report.try_pop()) collect(*item);
  }
  // Nobody is left: what the queue holds is whole, and it still works both ways.
  while (const auto item = q.try_pop()) collect(*item);
  EXPECT_TRUE(q.push_for(make_item(1000, 0), 10s));
  EXPECT_EQ(q.pop_for(10s).value().producer, 1000u);
  // A consumer killed between its pop and its report loses that one item, no more.
  EXPECT_LE(lost, static_cast<std::uint64_t>(rounds)) << "items lost";
}
