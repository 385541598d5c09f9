// SPDX-License-Identifier: MIT
// SharedQueue<T> of types the codec encodes (strings, vectors, pairs): items of any size up
// to the declared maximum travel whole or not at all, in one process (the InProcess tests,
// which the tsan preset runs), between children for every start method, by name, with
// producers and consumers killed at random moments, and with lengths forged in the ring.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include "common/waiting.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using interproc::Child;
using interproc::errc;
using interproc::SharedQueue;
using interproc::spawn_child;
using interproc::StartMethod;
using namespace std::chrono_literals;
namespace test = interproc::test;

namespace {

using Strings = SharedQueue<std::string>;

using interproc::test::unique_name;

// An item that shows whether it arrived whole: its length and every byte follow from its
// producer and sequence number, and its lengths vary from 16 bytes to 4 KiB.
std::string make_line(std::uint64_t producer, std::uint64_t sequence) {
  std::string line = std::to_string(producer) + ":" + std::to_string(sequence) + ":";
  const std::size_t length = 16 + (producer * 7919 + sequence * 104729) % 4080;
  for (std::size_t i = line.size(); i < length; ++i) line += static_cast<char>('a' + (sequence + i) % 26);
  return line;
}

// The producer and sequence of a whole line, or std::nullopt for a torn one.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_line(const std::string& line) {
  const std::size_t colon = line.find(':');
  const std::size_t second = line.find(':', colon + 1);
  if (colon == std::string::npos || second == std::string::npos) return std::nullopt;
  const auto producer = std::stoull(line.substr(0, colon));
  const auto sequence = std::stoull(line.substr(colon + 1, second - colon - 1));
  if (make_line(producer, sequence) != line) return std::nullopt;
  return std::make_pair(producer, sequence);
}

// The bytes of `q`'s shared memory, where a test forges what a hostile process could write.
gsl::span<std::byte> shared_bytes(const Strings& q) {
  const auto& core = interproc::detail::SharedDataAccess::core(q);
  return interproc::detail::WaitAccess::state(core).words.bytes();
}

// Where the 8-byte length of the queued item `text` (unique in the ring) is.
std::byte* length_of_item(const Strings& q, const std::string& text) {
  const gsl::span<std::byte> bytes = shared_bytes(q);
  const std::string_view all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const std::size_t at = all.find(text);
  EXPECT_NE(at, std::string_view::npos);
  return bytes.data() + at - 16;  // the slot's length, then the string's own 8-byte count
}

}  // namespace

TEST(CodecQueue, InProcessStringsVectorsAndPairsTravelWhole) {
  auto q = Strings::create(64, 1 << 20);  // the example: 64 items of up to 1 MiB
  EXPECT_EQ(q.capacity(), 64u);
  EXPECT_EQ(q.max_item_bytes(), 1u << 20);
  q.push("a line");
  q.push(std::string(1000000, 'x'));
  q.push("");
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.pop().value(), "a line");
  EXPECT_EQ(q.pop().value(), std::string(1000000, 'x'));
  EXPECT_EQ(q.try_pop().value(), "");
  EXPECT_FALSE(q.try_pop());
  EXPECT_FALSE(q.pop_for(10ms));

  auto vectors = SharedQueue<std::vector<double>>::create(4);
  vectors.push({1.5, 2.5});
  EXPECT_EQ(vectors.pop().value(), (std::vector<double>{1.5, 2.5}));
  auto pairs = SharedQueue<std::pair<std::string, long>>::create(4);
  pairs.push({"file.txt", 42});
  EXPECT_EQ(pairs.pop().value(), (std::pair<std::string, long>("file.txt", 42)));
}

TEST(CodecQueue, InProcessIsBoundedAndClosable) {
  auto q = Strings::create(2, 64);
  EXPECT_TRUE(q.try_push("one"));
  EXPECT_TRUE(q.push_for(std::string("two"), 10ms));
  EXPECT_FALSE(q.try_push("three"));
  EXPECT_FALSE(q.push_until(std::string("three"), std::chrono::steady_clock::now() + 10ms));
  q.close();
  EXPECT_TRUE(q.closed());
  EXPECT_SYSTEM_ERROR(q.push("four"), errc::closed, "closed");
  EXPECT_EQ(q.pop().value(), "one");
  EXPECT_EQ(q.pop().value(), "two");
  EXPECT_FALSE(q.pop());
}

TEST(CodecQueue, AnItemOverTheMaximumIsRefusedNotTruncated) {
  auto q = Strings::create(4, 100);
  q.push(std::string(92, 'a'));  // 92 characters and their 8-byte count: exactly 100 bytes
  EXPECT_SYSTEM_ERROR(q.push(std::string(93, 'b')), errc::message_too_large, "101 bytes");
  EXPECT_SYSTEM_ERROR(q.try_push(std::string(5000, 'c')), errc::message_too_large, "maximum of 100");
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.pop().value(), std::string(92, 'a'));
  EXPECT_FALSE(q.try_pop());
  EXPECT_SYSTEM_ERROR(Strings::create(0, 100), errc::invalid_size, "capacity");
  EXPECT_SYSTEM_ERROR(Strings::create(4, 0), errc::invalid_size, "maximum item size");
  EXPECT_SYSTEM_ERROR(Strings::create(SIZE_MAX / 2, 1 << 20), errc::invalid_size, "capacity");
}

TEST(CodecQueue, InProcessThreadsPassEveryItemOnce) {
  auto q = Strings::create(8, 8192);
  std::vector<std::thread> producers;
  for (std::uint64_t p = 0; p < 3; ++p) {
    producers.emplace_back([&q, p] {
      for (std::uint64_t s = 0; s < 300; ++s) q.push(make_line(p, s));
    });
  }
  std::map<std::uint64_t, std::uint64_t> next;
  for (int i = 0; i < 900; ++i) {
    const auto item = parse_line(q.pop_for(30s).value_or(""));
    ASSERT_TRUE(item) << "a torn item";
    EXPECT_EQ(item->second, next[item->first]++);
  }
  for (std::thread& t : producers) t.join();
  EXPECT_FALSE(q.try_pop());
}

// A forged length (a hostile or broken process writing the ring) is refused, and the queue
// goes on with the next item; a length that fits but does not match the encoding is too.
TEST(CodecQueue, AForgedLengthInTheRingIsRefused) {
  auto q = Strings::create(4, 256);
  q.push("first-forged-item");
  q.push("second-forged-item");
  q.push("third-item");
  const std::uint64_t huge = UINT64_MAX - 3;
  std::memcpy(length_of_item(q, "first-forged-item"), &huge, sizeof huge);
  EXPECT_SYSTEM_ERROR(q.pop(), errc::invalid_message, "more than the queue's maximum of 256");
  const std::uint64_t shorter = 10;
  std::memcpy(length_of_item(q, "second-forged-item"), &shorter, sizeof shorter);
  EXPECT_SYSTEM_ERROR(q.pop(), errc::invalid_message, "");
  EXPECT_EQ(q.pop().value(), "third-item");
  EXPECT_FALSE(q.try_pop());
}

INTERPROC_CHILD_ENTRY(codec_queue_send_lines) {
  auto& q = ctx.queue<std::string>(0);
  for (std::uint64_t s = 0; s < 50; ++s) q.push(make_line(std::stoull(ctx.args().at(0)), s));
  return 0;
}

TEST(CodecQueue, ChildrenOfEveryStartMethodSendLines) {
  for (StartMethod method : test::start_methods()) {
    auto q = Strings::create(4, 8192);  // smaller than what they send: they wait
    std::vector<Child> children;
    for (int p = 0; p < 3; ++p)
      children.push_back(spawn_child("codec_queue_send_lines", {std::to_string(p)}, {q}, method));
    std::map<std::uint64_t, std::uint64_t> next;
    for (int i = 0; i < 150; ++i) {
      const auto item = parse_line(q.pop_for(30s).value_or(""));
      ASSERT_TRUE(item) << "a torn or missing item";
      EXPECT_EQ(item->second, next[item->first]++);
    }
    for (Child& c : children) EXPECT_EQ(c.wait(), 0);
  }
}

// Exits 0 if asking for object 0 as args[0] is refused with wrong_object_kind.
INTERPROC_CHILD_ENTRY(codec_queue_wrong_type) {
  try {
    const std::string as = ctx.args().at(0);
    if (as == "vector") ctx.queue<std::vector<char>>(0);
    if (as == "long") ctx.queue<long>(0);
    if (as == "string") ctx.queue<std::string>(0);
    return 1;
  } catch (const std::system_error& e) {
    return e.code() == errc::wrong_object_kind ? 0 : 2;
  }
}

TEST(CodecQueue, AChildAskingForAnotherItemTypeIsRefused) {
  auto strings = Strings::create(2);
  auto longs = SharedQueue<long>::create(2);
  for (StartMethod method : test::start_methods()) {
    EXPECT_EQ(spawn_child("codec_queue_wrong_type", {"vector"}, {strings}, method).wait(), 0);
    EXPECT_EQ(spawn_child("codec_queue_wrong_type", {"long"}, {strings}, method).wait(), 0);
    EXPECT_EQ(spawn_child("codec_queue_wrong_type", {"string"}, {longs}, method).wait(), 0);
  }
}

INTERPROC_CHILD_ENTRY(codec_queue_named_producer) {
  auto q = Strings::open_named(ctx.args().at(0));
  for (std::uint64_t s = 0; s < 20; ++s) q.push(make_line(7, s));
  q.close();
  return 0;
}

TEST(CodecQueue, NamedQueuesAreSharedByNameAndTagged) {
  const std::string name = unique_name("cq");
  auto q = Strings::create_named(name, 4, 8192);
  EXPECT_SYSTEM_ERROR(Strings::create_named(name, 4, 8192), std::errc::file_exists, "");
  EXPECT_SYSTEM_ERROR(SharedQueue<std::vector<char>>::open_named(name), errc::wrong_object_kind, "of this item type");
  EXPECT_SYSTEM_ERROR(SharedQueue<long>::open_named(name), errc::foreign_object, "");
  EXPECT_SYSTEM_ERROR(interproc::JoinableQueue<std::string>::open_named(name), errc::wrong_object_kind, "");
  EXPECT_EQ(Strings::open_named(name).max_item_bytes(), 8192u);
  Child child = spawn_child("codec_queue_named_producer", {name});
  std::uint64_t count = 0;
  while (const auto line = q.pop_for(30s)) {
    EXPECT_EQ(*line, make_line(7, count));
    ++count;
  }
  EXPECT_EQ(child.wait(), 0);
  EXPECT_EQ(count, 20u);
  EXPECT_TRUE(Strings::remove_named(name));
  if (!test::is_windows()) {
    EXPECT_FALSE(Strings::remove_named(name));
  }
}

// Pushes lines of producer args[0] until killed; sets event 1 after the first.
INTERPROC_CHILD_ENTRY(codec_queue_produce_forever) {
  auto& q = ctx.queue<std::string>(0);
  const auto producer = std::stoull(ctx.args().at(0));
  q.push(make_line(producer, 0));
  ctx.event(1).set();
  for (std::uint64_t s = 1;; ++s) q.push(make_line(producer, s));
}

// Pops lines into the report queue until killed.
INTERPROC_CHILD_ENTRY(codec_queue_consume_forever) {
  auto& q = ctx.queue<std::string>(0);
  auto& report = ctx.queue<std::string>(1);
  for (;;) {
    if (const auto line = q.pop()) report.push(*line);
  }
}

// As the fixed-size queue's test: producers and consumers killed at random moments, while
// the queue is full, empty and in between; every line left is whole, arrives once and in
// order, and neither a push nor a pop waits for the dead. The random moments count from the
// producer's first push, so that slow starts (Wine) do not leave nothing to kill.
TEST(CodecQueue, ProcessesKilledAtRandomMomentsLeaveItConsistent) {
  std::mt19937 random(29);
  const int rounds = test::is_windows() ? 4 : 20;
  auto q = Strings::create(16, 8192);
  auto report = Strings::create(8192, 8192);
  auto started = interproc::InterprocessEvent::create();
  std::map<std::uint64_t, std::uint64_t> next_sequence;
  std::uint64_t lost = 0;
  const auto collect = [&](const std::string& line) {
    const auto item = parse_line(line);
    ASSERT_TRUE(item) << "a torn item: " << line.substr(0, 40);
    auto& next = next_sequence[item->first];
    ASSERT_GE(item->second, next) << "producer " << item->first << " item " << item->second << " seen twice";
    lost += item->second - next;
    next = item->second + 1;
  };
  for (int round = 0; round < rounds; ++round) {
    const StartMethod method = test::start_methods()[static_cast<std::size_t>(round) % test::start_methods().size()];
    started.clear();
    Child producer = spawn_child("codec_queue_produce_forever", {std::to_string(round)}, {q, started}, method);
    Child consumer = spawn_child("codec_queue_consume_forever", {}, {q, report}, method);
    ASSERT_TRUE(started.wait_for(60s));
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(1000, 30000)(random)));
    (round % 2 == 0 ? producer : consumer).kill();
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 5000)(random)));
    (round % 2 == 0 ? consumer : producer).kill();
    producer.wait();
    consumer.wait();
    while (const auto line = report.try_pop()) collect(*line);
  }
  while (const auto line = q.try_pop()) collect(*line);
  EXPECT_GE(next_sequence.size(), static_cast<std::size_t>(rounds / 2)) << "producers whose lines never arrived";
  EXPECT_TRUE(q.push_for(make_line(1000, 0), 10s));
  EXPECT_EQ(q.pop_for(10s).value(), make_line(1000, 0));
  EXPECT_LE(lost, static_cast<std::uint64_t>(rounds)) << "items lost";
}

// Pushes and pops 1 MiB items until killed: it holds the queue's lock much of the time.
INTERPROC_CHILD_ENTRY(codec_queue_push_big_forever) {
  auto& q = ctx.queue<std::string>(0);
  const std::string big(1 << 20, 'z');
  for (;;) {
    q.push(big);
    (void)q.try_pop();
  }
}

// The owner-death case: a process killed while it holds the queue's lock (copying 1 MiB
// items, most of its time) leaves a queue the others go on using at once.
TEST(CodecQueue, AnOwnerKilledHoldingTheLockLeavesAWorkingQueue) {
  for (StartMethod method : test::start_methods()) {
    auto q = Strings::create(2, (1 << 20) + 8);
    Child child = spawn_child("codec_queue_push_big_forever", {}, {q}, method);
    std::this_thread::sleep_for(50ms);
    child.kill();
    child.wait();
    while (const auto item = q.try_pop()) EXPECT_EQ(*item, std::string(1 << 20, 'z'));
    EXPECT_TRUE(q.push_for(std::string("after"), 10s));
    EXPECT_EQ(q.pop_for(10s).value(), "after");
  }
}

// A pool task sends its argument back through the pool's string queue (object 0), and marks
// a joinable queue's item done (object 1).
INTERPROC_TASK(codec_queue_pool_task) {
  ctx.queue<std::string>(0).push("from task " + ctx.args().at(0));
  auto& work = ctx.joinable_queue<long>(1);
  if (work.pop_for(30s)) work.task_done();
  return {};
}

TEST(CodecQueue, PoolTasksReachStringAndJoinableQueues) {
  for (StartMethod method : test::start_methods()) {
    auto lines = Strings::create(8, 256);
    auto work = interproc::JoinableQueue<long>::create(8);
    interproc::ProcessPool pool(2, {lines, work}, method);
    std::vector<interproc::TaskFuture> results;
    for (int i = 0; i < 4; ++i) {
      work.push(i);
      results.push_back(pool.submit("codec_queue_pool_task", {std::to_string(i)}));
    }
    for (auto& r : results) EXPECT_EQ(r.get(), "");
    work.join();
    std::multiset<std::string> got;
    while (const auto line = lines.try_pop()) got.insert(*line);
    EXPECT_EQ(got, (std::multiset<std::string>{"from task 0", "from task 1", "from task 2", "from task 3"}));
  }
}
