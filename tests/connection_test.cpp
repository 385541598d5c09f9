// SPDX-License-Identifier: MIT
// Pipe and Connection: whole messages of codec types between processes for every start
// method, a peer killed outright, refused types and sizes, forged headers written past the
// framing, and interproc::wait over connections, children and queues.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include "common/connection_backend.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using interproc::Child;
using interproc::Connection;
using interproc::errc;
using interproc::Pipe;
using interproc::SharedQueue;
using interproc::spawn_child;
using interproc::StartMethod;
using interproc::Waitable;
using namespace std::chrono_literals;
namespace test = interproc::test;

namespace {

using Names = std::optional<std::vector<std::string>>;

// The payload sizes that travel as raw bytes: empty, tiny, around the receive buffer, several MiB.
const std::vector<std::size_t> byte_sizes{0, 1, 7, 65535, 65536, 65537, 1u << 20, (3u << 20) + 5};

std::vector<std::byte> pattern(std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>((i * 31 + size) & 0xff);
  return bytes;
}

std::intptr_t channel_of(const Connection& c) { return interproc::detail::ConnectionAccess::state(c)->channel.get(); }

// A header as Connection writes it (common/connection.cpp), with fields a test chooses.
std::vector<unsigned char> header(std::uint32_t magic, std::uint64_t length, std::uint64_t fingerprint) {
  std::vector<unsigned char> bytes(24);
  const std::uint32_t zero = 0;
  std::memcpy(bytes.data(), &magic, 4);
  std::memcpy(bytes.data() + 4, &zero, 4);
  std::memcpy(bytes.data() + 8, &length, 8);
  std::memcpy(bytes.data() + 16, &fingerprint, 8);
  return bytes;
}
constexpr std::uint32_t magic = 0x4d435049;

void write_forged(const Connection& c, const std::vector<unsigned char>& bytes) {
  ASSERT_TRUE(test::write_raw(channel_of(c), bytes.data(), bytes.size()));
}

// The example of the API's description, as written there.
INTERPROC_CHILD_ENTRY(talker) {
  auto& conn = ctx.connection(0);
  conn.send(conn.recv<long>() + 1);
  return 0;
}

// Sends back each typed message as it came, then echoes raw messages until a negative size.
INTERPROC_CHILD_ENTRY(conn_echo) {
  Connection& conn = ctx.connection(0);
  conn.send(conn.recv<std::string>());
  conn.send(conn.recv<std::vector<double>>());
  conn.send(conn.recv<std::pair<std::string, long>>());
  conn.send(conn.recv<Names>());
  for (;;) {
    const long size = conn.recv<long>();
    if (size < 0) return 0;
    std::vector<std::byte> bytes = conn.recv_bytes();
    if (bytes.size() != static_cast<std::size_t>(size)) return 3;
    conn.send_bytes(bytes);
  }
}

INTERPROC_CHILD_ENTRY(conn_send_then_die) {
  ctx.connection(0).send(7L);
  test::die_abruptly();
}

INTERPROC_CHILD_ENTRY(conn_hang) {
  (void)ctx.connection(0);
  test::hang();
}

INTERPROC_CHILD_ENTRY(conn_send_later) {
  std::this_thread::sleep_for(300ms);
  ctx.connection(0).send(std::string("late"));
  return ctx.connection(0).recv<long>() == 1 ? 0 : 3;  // stays until the parent has read
}

INTERPROC_CHILD_ENTRY(conn_exit_later) {
  std::this_thread::sleep_for(300ms);
  return 5;
}

INTERPROC_CHILD_ENTRY(conn_queue_push_later) {
  std::this_thread::sleep_for(300ms);
  ctx.queue<long>(0).push(42);
  return 0;
}

INTERPROC_CHILD_ENTRY(conn_line_push_later) {
  std::this_thread::sleep_for(300ms);
  ctx.queue<std::string>(0).push("a line");
  ctx.joinable_queue<long>(1).push(7);
  return 0;
}

INTERPROC_CHILD_ENTRY(conn_asks_for_mutex) {
  ctx.mutex(0);
  return 0;
}

INTERPROC_TASK(conn_task_sends) {
  ctx.connection(0).send(std::string("from a task"));
  return "sent";
}

// The parent's half of conn_echo: every value and size comes back equal.
void round_trip(Connection& conn) {
  conn.send(std::string("hello"));
  EXPECT_EQ(conn.recv<std::string>(), "hello");
  conn.send(std::vector<double>{1.5, 2.5});
  EXPECT_EQ(conn.recv<std::vector<double>>(), (std::vector<double>{1.5, 2.5}));
  conn.send(std::make_pair(std::string("file.txt"), 1234L));
  EXPECT_EQ((conn.recv<std::pair<std::string, long>>()), std::make_pair(std::string("file.txt"), 1234L));
  const Names names = std::vector<std::string>{"", std::string(100000, 'x'), "z"};
  conn.send(names);
  EXPECT_EQ(conn.recv<Names>(), names);
  for (std::size_t size : byte_sizes) {
    const std::vector<std::byte> bytes = pattern(size);
    conn.send(static_cast<long>(size));
    conn.send_bytes(bytes);
    EXPECT_EQ(conn.recv_bytes(), bytes) << size << " bytes";
  }
  conn.send(-1L);
}

}  // namespace

TEST(Connection, InProcessCarriesCodecValuesAndBytes) {
  auto [left, right] = Pipe::create();
  left.send(std::string("hello"));
  left.send(std::vector<double>{1.5, 2.5});
  left.send(std::tuple<int, std::string, bool>{3, "three", true});
  EXPECT_TRUE(right.poll(std::chrono::milliseconds(10)));
  EXPECT_EQ(right.recv<std::string>(), "hello");
  EXPECT_EQ(right.recv<std::vector<double>>(), (std::vector<double>{1.5, 2.5}));
  EXPECT_EQ((right.recv<std::tuple<int, std::string, bool>>()), (std::tuple<int, std::string, bool>{3, "three", true}));
  EXPECT_FALSE(right.poll(std::chrono::milliseconds(10)));
  // Duplex, and a several-MiB message from a thread while this one reads.
  const std::vector<std::byte> big = pattern(5u << 20);
  Connection& writer = right;  // a lambda captures no structured binding before C++20
  std::thread sender([&] { writer.send_bytes(big); });
  EXPECT_EQ(left.recv_bytes(), big);
  sender.join();
  left.send_bytes({});
  EXPECT_TRUE(right.recv_bytes().empty());
}

TEST(Connection, RoundTripsThroughAChildForEveryStartMethod) {
  for (StartMethod method : test::start_methods()) {
    auto [left, right] = Pipe::create();
    Child child = spawn_child("conn_echo", {}, {right}, method);
    right.close();
    round_trip(left);
    EXPECT_EQ(child.wait(), 0) << static_cast<int>(method);
  }
}

TEST(Connection, TheDocumentedTalkerAnswers) {
  for (StartMethod method : test::start_methods()) {
    auto [left, right] = Pipe::create();
    Child c = spawn_child("talker", {}, {right}, method);
    right.close();
    left.send(41L);
    EXPECT_EQ(left.recv<long>(), 42);
    EXPECT_EQ(c.wait(), 0);
    // The child is gone and so is its end.
    EXPECT_TRUE(left.poll(5s));
    EXPECT_SYSTEM_ERROR(left.recv<long>(), errc::closed, "closed");
  }
}

TEST(Connection, AKilledPeerIsClosedNotAHang) {
  for (StartMethod method : test::start_methods()) {
    {
      auto [left, right] = Pipe::create();
      Child child = spawn_child("conn_send_then_die", {}, {right}, method);
      right.close();
      EXPECT_EQ(left.recv<long>(), 7);  // what it sent before it died is still there
      EXPECT_SYSTEM_ERROR(left.recv<long>(), errc::closed, "closed");
      EXPECT_EQ(child.wait(), test::is_windows() ? 99 : -9);  // die_abruptly's code
    }
    {
      auto [left, right] = Pipe::create();
      Child child = spawn_child("conn_hang", {}, {right}, method);
      right.close();
      EXPECT_FALSE(left.poll(100ms));
      std::thread killer([&] {
        std::this_thread::sleep_for(200ms);
        child.kill();
      });
      EXPECT_SYSTEM_ERROR(left.recv<long>(), errc::closed, "closed");  // blocked when the kill came
      killer.join();
      EXPECT_EQ(child.wait(), -9);
      EXPECT_TRUE(left.poll(0ms));
      EXPECT_SYSTEM_ERROR(left.send(1L), errc::closed, "closed");
    }
  }
}

TEST(Connection, ATaskGetsItsConnection) {
  auto [left, right] = Pipe::create();
  interproc::ProcessPool pool(1, {right});
  EXPECT_EQ(pool.submit("conn_task_sends", {}).get(), "sent");
  EXPECT_EQ(left.recv<std::string>(), "from a task");
}

TEST(Connection, AChildAskingForAnotherKindIsRefused) {
  auto [left, right] = Pipe::create();
  EXPECT_NE(spawn_child("conn_asks_for_mutex", {}, {right}).wait(), 0);
}

TEST(Connection, InProcessAnotherTypeIsRefusedAndTheMessageKept) {
  auto [left, right] = Pipe::create();
  left.send(std::string("text"));
  left.send(5L);
  EXPECT_SYSTEM_ERROR(right.recv<long>(), errc::type_mismatch, "another type");
  EXPECT_SYSTEM_ERROR(right.recv<int>(), errc::type_mismatch, "another type");  // still kept
  EXPECT_TRUE(right.poll(0ms));
  EXPECT_EQ(right.recv<std::string>(), "text");
  EXPECT_EQ(right.recv<long>(), 5);
  left.send_bytes(pattern(3));
  EXPECT_SYSTEM_ERROR(right.recv<std::vector<std::byte>>(), errc::type_mismatch, "another type");
  EXPECT_EQ(right.recv_bytes(), pattern(3));
  left.send(9L);
  EXPECT_EQ(right.recv_bytes().size(), sizeof(long));  // raw: any message's payload
}

TEST(Connection, InProcessMessagesOverTheMaximumAreRefused) {
  EXPECT_SYSTEM_ERROR(Pipe::create(0), errc::invalid_size, "0");
  auto [left, right] = Pipe::create(1000);
  EXPECT_EQ(left.max_message(), 1000u);
  EXPECT_SYSTEM_ERROR(left.send_bytes(pattern(1001)), errc::message_too_large, "1001");
  EXPECT_SYSTEM_ERROR(left.send(std::string(1000, 'x')), errc::message_too_large, "maximum");  // + its count
  left.send_bytes(pattern(1000));
  EXPECT_EQ(right.recv_bytes(), pattern(1000));
  // A header claiming more than the maximum: refused before anything is allocated, and the
  // stream is not trusted after it.
  write_forged(left, header(magic, std::uint64_t(1) << 40, 0));
  EXPECT_SYSTEM_ERROR(right.recv_bytes(), errc::message_too_large, "maximum");
  left.send(1L);
  EXPECT_SYSTEM_ERROR(right.recv<long>(), errc::invalid_message, "out of step");
}

TEST(Connection, InProcessForgedAndTornHeadersAreInvalid) {
  {
    auto [left, right] = Pipe::create();
    write_forged(left, header(0x12345678, 8, 0));
    EXPECT_SYSTEM_ERROR(right.recv_bytes(), errc::invalid_message, "not a message header");
  }
  {
    auto [left, right] = Pipe::create();
    const std::vector<unsigned char> whole = header(magic, 8, 0);
    write_forged(left, std::vector<unsigned char>(whole.begin(), whole.begin() + 10));
    left.close();
    EXPECT_SYSTEM_ERROR(right.recv_bytes(), errc::invalid_message, "within a message header");
  }
  {
    // A length within the maximum but far beyond what comes: the peer's end ends the read.
    auto [left, right] = Pipe::create();
    write_forged(left, header(magic, 60u << 20, 0));
    write_forged(left, std::vector<unsigned char>(100, 1));
    left.close();
    EXPECT_SYSTEM_ERROR(right.recv_bytes(), errc::invalid_message, "within a message");
  }
  {
    // A body that does not decode as the type loses that message only.
    auto [left, right] = Pipe::create();
    write_forged(left, header(magic, 3, interproc::detail::type_fingerprint<long>()));
    write_forged(left, std::vector<unsigned char>(3, 0));
    left.send(8L);
    EXPECT_SYSTEM_ERROR(right.recv<long>(), errc::invalid_message, "truncated");
    EXPECT_EQ(right.recv<long>(), 8);
  }
}

TEST(Connection, InProcessCloseEndsBothSides) {
  auto [left, right] = Pipe::create();
  left.send(1L);
  left.close();
  left.close();
  EXPECT_TRUE(left.closed());
  EXPECT_SYSTEM_ERROR(left.send(2L), errc::closed, "this end is closed");
  EXPECT_SYSTEM_ERROR(left.poll(0ms), errc::closed, "this end is closed");
  EXPECT_EQ(right.recv<long>(), 1);  // sent before the close
  EXPECT_TRUE(right.poll(1s));
  EXPECT_SYSTEM_ERROR(right.recv<long>(), errc::closed, "peer end is closed");
  EXPECT_SYSTEM_ERROR(right.send(3L), errc::closed, "closed");
}

TEST(Wait, InProcessReturnsTheReadyConnectionsInOrder) {
  auto [a, a_peer] = Pipe::create();
  auto [b, b_peer] = Pipe::create();
  EXPECT_TRUE(interproc::wait({a, b}, 50ms).empty());
  b_peer.send(1L);
  std::vector<Waitable> ready = interproc::wait({a, b}, 1s);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_TRUE(ready[0] == b);
  EXPECT_FALSE(ready[0] == a);
  EXPECT_EQ(ready[0].index(), 1u);
  EXPECT_EQ(ready[0].connection(), &b);
  a_peer.close();  // a closed peer is ready too
  ready = interproc::wait({a, b}, 1s);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_TRUE(ready[0] == a);
  EXPECT_TRUE(ready[1] == b);
}

TEST(Wait, InProcessWakesForAnotherThread) {
  auto [left, right] = Pipe::create();
  auto q = SharedQueue<long>::create(2);
  Connection& peer = right;
  std::thread sender([&] {
    std::this_thread::sleep_for(100ms);
    peer.send(3L);
    std::this_thread::sleep_for(100ms);
    q.push(4);
  });
  std::vector<Waitable> ready = interproc::wait({left, q}, 20s);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_TRUE(ready[0] == left);
  EXPECT_EQ(left.recv<long>(), 3);
  ready = interproc::wait({q}, 20s);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(q.pop(), 4);
  sender.join();
}

TEST(Wait, WakesForAChildsMessageAndItsExit) {
  for (StartMethod method : test::start_methods()) {
    auto [left, right] = Pipe::create();
    Child talker = spawn_child("conn_send_later", {}, {right}, method);
    Child sleeper = spawn_child("conn_exit_later", {}, {}, method);
    right.close();
    bool got_message = false;
    bool got_exit = false;
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (!(got_message && got_exit) && std::chrono::steady_clock::now() < end) {
      for (const Waitable& w : interproc::wait({left, sleeper}, 20s)) {
        if (w == left && !got_message) {
          EXPECT_EQ(left.recv<std::string>(), "late");
          left.send(1L);
          got_message = true;
        } else if (w == sleeper) {
          EXPECT_EQ(w.kind(), Waitable::Kind::child);
          EXPECT_EQ(sleeper.wait(), 5);
          got_exit = true;
        }
      }
      if (got_exit && got_message) break;
      if (got_exit) {  // a Child that ended stays ready: wait on the connection alone
        while (!got_message && !interproc::wait({left}, 20s).empty()) {
          EXPECT_EQ(left.recv<std::string>(), "late");
          left.send(1L);
          got_message = true;
        }
      }
    }
    EXPECT_TRUE(got_message);
    EXPECT_TRUE(got_exit);
    EXPECT_EQ(talker.wait(), 0);
  }
}

TEST(Wait, WakesForAQueueItem) {
  for (StartMethod method : test::start_methods()) {
    auto q = SharedQueue<long>::create(4);
    auto [left, right] = Pipe::create();
    EXPECT_TRUE(interproc::wait({q}, 30ms).empty());
    Child child = spawn_child("conn_queue_push_later", {}, {q}, method);
    std::vector<Waitable> ready = interproc::wait({q}, 20s);  // the queue alone: its own word
    ASSERT_EQ(ready.size(), 1u);
    EXPECT_TRUE(ready[0] == q);
    EXPECT_EQ(ready[0].kind(), Waitable::Kind::queue);
    EXPECT_EQ(q.pop(), 42);
    EXPECT_EQ(child.wait(), 0);
    q.push(1);
    ready = interproc::wait({left, q}, 20s);  // beside a connection: a slice
    ASSERT_EQ(ready.size(), 1u);
    EXPECT_EQ(ready[0].index(), 1u);
    EXPECT_EQ(q.pop(), 1);
    q.close();  // pop() would not wait: ready
    EXPECT_EQ(interproc::wait({q}, 1s).size(), 1u);
  }
}

TEST(Wait, WakesForAQueueOfEncodedItemsAndAJoinableQueue) {
  for (StartMethod method : test::start_methods()) {
    auto lines = SharedQueue<std::string>::create(4, 256);
    auto work = interproc::JoinableQueue<long>::create(4);
    EXPECT_TRUE(interproc::wait({lines, work}, 30ms).empty());
    Child child = spawn_child("conn_line_push_later", {}, {lines, work}, method);
    std::vector<Waitable> ready = interproc::wait({lines}, 20s);  // alone: in slices
    ASSERT_EQ(ready.size(), 1u);
    EXPECT_TRUE(ready[0] == lines);
    EXPECT_EQ(lines.pop(), "a line");
    EXPECT_EQ(child.wait(), 0);
    ready = interproc::wait({lines, work}, 20s);
    ASSERT_EQ(ready.size(), 1u);
    EXPECT_EQ(ready[0].index(), 1u);
    EXPECT_EQ(work.pop(), 7);
    work.task_done();
    lines.close();
    EXPECT_EQ(interproc::wait({lines, work}, 1s).size(), 1u);
  }
}

TEST(Wait, TimesOutWithNothingReady) {
  auto [left, right] = Pipe::create();
  auto q = SharedQueue<long>::create(1);
  Child child = spawn_child("conn_hang", {}, {right});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(interproc::wait({left, q, child}, 200ms).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  child.kill();
  const std::vector<Waitable> ready = interproc::wait({left, q, child}, 20s);
  ASSERT_GE(ready.size(), 1u);
  EXPECT_TRUE(ready.back() == child);
  EXPECT_EQ(child.wait(), -9);
}
