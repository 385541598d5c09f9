// SPDX-License-Identifier: MIT
// The library's promises under hostile and careless use: owners that end in every way,
// zombies, closed standard streams, standard lock algorithms, huge timeouts, time points,
// full shared memory, forged tokens, too many objects, element types, NUL arguments,
// permissions and error messages.

#include "support/expect.hpp"
#include "support/forged_token.hpp"
#include "support/test_os.hpp"

#include "common/segment_backend.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using interproc::Child;
using interproc::errc;
using interproc::InterprocessMutex;
using interproc::LockResult;
using interproc::SharedSegment;
using interproc::SharedValue;
using interproc::spawn_child;
using interproc::StartMethod;
using namespace std::chrono_literals;
namespace test = interproc::test;

namespace {

std::string unique_name(const std::string& stem) {
  return "h" + stem + std::to_string(std::random_device{}() % 1000000);
}

// Ends the calling child while it holds `m`, in the way `how` names.
[[noreturn]] void end_holding(InterprocessMutex& m, const std::string& how) {
  m.lock();
  if (how == "throw") throw std::runtime_error("entry threw holding the lock");
  if (how == "exit") std::exit(3);
  if (how == "_exit") std::_Exit(4);
  if (how == "crash") test::die_abruptly();
  throw std::logic_error("unknown way to end: " + how);
}

}  // namespace

INTERPROC_CHILD_ENTRY(return_holding) {
  ctx.value<int>(0).get_lock().lock();
  ctx.value<int>(0).value() = -1;
  return 0;  // the context, and the mutex with it, is destroyed while still locked
}

INTERPROC_CHILD_ENTRY(end_holding) { end_holding(ctx.value<int>(0).get_lock(), ctx.args().at(0)); }

class OwnerEnds : public testing::TestWithParam<std::string> {};

TEST_P(OwnerEnds, TheNextLockerIsToldWhateverTheWay) {
  for (StartMethod method : test::start_methods()) {
    auto value = SharedValue<int>::create(0);
    Child child = GetParam() == "return" ? spawn_child("return_holding", {}, {value}, method)
                                         : spawn_child("end_holding", {GetParam()}, {value}, method);
    child.wait();
    ASSERT_TRUE(value.get_lock().try_lock_for(2s)) << GetParam() << ": the lock stayed held after its owner ended";
    EXPECT_TRUE(value.get_lock().previous_owner_died()) << GetParam();
    value.get_lock().mark_consistent();
    value.get_lock().unlock();
  }
}

INSTANTIATE_TEST_SUITE_P(Hardening, OwnerEnds, testing::Values("return", "throw", "exit", "_exit", "crash"));

TEST(Hardening, AThreadThatEndsHoldingTheLockIsAnOwnerThatDied) {
  if (!test::thread_end_detected()) GTEST_SKIP() << "the portable owner word sees processes end, not threads";
  InterprocessMutex m = InterprocessMutex::create();
  std::thread([&] { m.lock(); }).join();
  ASSERT_TRUE(m.try_lock_for(2s));
  EXPECT_TRUE(m.previous_owner_died());
  m.unlock();
}

// Waiters already asleep in the kernel when the owner ends must be woken by that end, not
// by their own deadline: each allows 20 s and must be done well within 5 s. Two waiters: the
// one woken first must leave the second a wake-up when it unlocks.
struct SleepingWaiter {
  std::thread thread;
  bool acquired = false;
  bool told = false;
  std::chrono::steady_clock::duration waited{};

  explicit SleepingWaiter(InterprocessMutex& m) : thread([this, &m] { wait_on(m); }) {}
  void wait_on(InterprocessMutex& m) {
    const auto start = std::chrono::steady_clock::now();
    acquired = m.try_lock_for(20s);
    waited = std::chrono::steady_clock::now() - start;
    if (!acquired) return;
    told = m.previous_owner_died();
    m.unlock();
  }
};

void expect_woken_and_told(std::vector<std::unique_ptr<SleepingWaiter>>& waiters) {
  for (auto& waiter : waiters) {
    waiter->thread.join();
    EXPECT_TRUE(waiter->acquired) << "a sleeping waiter was never woken";
    EXPECT_LT(waiter->waited, 5s) << "a sleeping waiter woke only at its deadline";
    EXPECT_TRUE(waiter->told);
  }
}

std::vector<std::unique_ptr<SleepingWaiter>> start_sleeping_waiters(InterprocessMutex& m) {
  std::vector<std::unique_ptr<SleepingWaiter>> waiters;
  for (int i = 0; i < 2; ++i) waiters.push_back(std::make_unique<SleepingWaiter>(m));
  std::this_thread::sleep_for(300ms);  // past any spinning: both sleep in the kernel now
  return waiters;
}

TEST(Hardening, WaitersAsleepWhenTheOwnerThreadEndsAreWokenAndTold) {
  if (!test::thread_end_detected()) GTEST_SKIP() << "the portable owner word sees processes end, not threads";
  InterprocessMutex m = InterprocessMutex::create();
  std::promise<void> locked;
  std::promise<void> end;
  std::thread owner([&] {
    m.lock();
    locked.set_value();
    end.get_future().wait();
  });  // ends holding the lock
  locked.get_future().wait();
  auto waiters = start_sleeping_waiters(m);
  end.set_value();
  owner.join();
  expect_woken_and_told(waiters);
}

INTERPROC_CHILD_ENTRY(hold_until_killed) {
  ctx.value<int>(0).get_lock().lock();
  ctx.value<int>(0).value() = 1;
  for (;;) std::this_thread::sleep_for(1s);
}

TEST(Hardening, WaitersAsleepWhenTheOwnerProcessIsKilledAreWokenAndTold) {
  for (StartMethod method : test::start_methods()) {
    auto value = SharedValue<int>::create(0);
    Child owner = spawn_child("hold_until_killed", {}, {value}, method);
    const volatile int& held = value.value();  // set by the owner once it holds the lock
    for (int i = 0; i < 3000 && held == 0; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_EQ(held, 1) << "the owner never took the lock";
    auto waiters = start_sleeping_waiters(value.get_lock());
    owner.kill();
    expect_woken_and_told(waiters);
    owner.wait();
  }
}

TEST(Hardening, DestroyingAHeldMutexCorruptsNothing) {
  {
    InterprocessMutex doomed = InterprocessMutex::create();
    doomed.lock();
  }  // destroyed while this thread holds it
  // New mappings, filled with a pattern, while other mutexes are locked and unlocked: the
  // robust-list bookkeeping must never write into them.
  std::vector<SharedSegment> segments;
  for (int i = 0; i < 16; ++i) {
    segments.push_back(SharedSegment::create(4096));
    for (std::byte& b : segments.back().bytes()) b = std::byte{0x5a};
  }
  for (int i = 0; i < 16; ++i) {
    InterprocessMutex other = InterprocessMutex::create();
    other.lock();
    other.unlock();
  }
  for (const SharedSegment& s : segments) {
    for (std::byte b : s.bytes()) ASSERT_EQ(b, std::byte{0x5a});
  }
}

// ---- zombies ----

INTERPROC_CHILD_ENTRY(lock_then_die) {
  ctx.value<int>(0).get_lock().lock();
  ctx.value<int>(0).value() = -1;
  test::die_abruptly();
}

INTERPROC_CHILD_ENTRY(sibling_locks) {
  auto& value = ctx.value<int>(0);
  if (!value.get_lock().try_lock_for(5s)) return 30;  // deadlock: the dead sibling counted as alive
  const bool told = value.get_lock().previous_owner_died();
  value.get_lock().unlock();
  return told ? 0 : 31;
}

TEST(Hardening, AnUnreapedDeadOwnerIsDeadToItsSiblings) {
  for (StartMethod method : test::start_methods()) {
    auto value = SharedValue<int>::create(0);
    Child dead = spawn_child("lock_then_die", {}, {value}, method);
    // Let it die, but do not reap it: the parent waits for the sibling first.
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(spawn_child("sibling_locks", {}, {value}, method).wait(), 0);
    dead.wait();
  }
}

// ---- standard lock algorithms ----

TEST(Hardening, ScopedLockBackOffKeepsTheOwnerDeathReport) {
  auto first = SharedValue<int>::create(0);
  auto second = InterprocessMutex::create();
  EXPECT_NE(spawn_child("lock_then_die", {}, {first}).wait(), 0);

  // Another thread holds the second mutex, so std::lock takes the first, fails on the
  // second and releases the first again: the back-off must not consume the report.
  std::atomic<bool> held{false};
  std::thread holder([&] {
    std::lock_guard<InterprocessMutex> hold(second);
    held = true;
    std::this_thread::sleep_for(200ms);
  });
  while (!held) std::this_thread::yield();
  {
    std::scoped_lock both(first.get_lock(), second);
    EXPECT_TRUE(first.get_lock().previous_owner_died()) << "the owner-death report vanished in std::lock's back-off";
    EXPECT_EQ(first.value(), -1);
    first.value() = 0;
    first.get_lock().mark_consistent();
  }
  holder.join();
  EXPECT_EQ(first.get_lock().lock(), LockResult::acquired);
  first.get_lock().unlock();
}

TEST(Hardening, MarkConsistentNeedsTheLock) {
  InterprocessMutex m = InterprocessMutex::create();
  EXPECT_SYSTEM_ERROR(m.mark_consistent(), errc::not_owner, "does not hold");
}

// ---- timeouts and time points ----

// Runs `attempt` while another thread holds `m` for `hold`; returns attempt's result and
// how long it took.
template <class Attempt>
std::pair<bool, std::chrono::steady_clock::duration> while_held(InterprocessMutex& m, std::chrono::milliseconds hold,
                                                                Attempt attempt) {
  std::atomic<bool> held{false};
  std::thread holder([&] {
    m.lock();
    held = true;
    std::this_thread::sleep_for(hold);
    m.unlock();
  });
  while (!held) std::this_thread::yield();
  const auto start = std::chrono::steady_clock::now();
  const bool got = attempt();
  const auto took = std::chrono::steady_clock::now() - start;
  holder.join();
  if (got) m.unlock();
  return {got, took};
}

TEST(Hardening, HugeTimeoutsWaitAsLongAsItTakes) {
  InterprocessMutex m = InterprocessMutex::create();
  const auto check = [&](auto timeout, const char* what) {
    const auto [got, took] = while_held(m, 150ms, [&] { return m.try_lock_for(timeout); });
    EXPECT_TRUE(got) << what << " gave up";
    EXPECT_GE(took, 100ms) << what;
  };
  check(std::chrono::seconds::max(), "seconds::max()");
  check(std::chrono::milliseconds::max(), "milliseconds::max()");
  check(std::chrono::nanoseconds::max(), "nanoseconds::max()");
  check(std::chrono::hours(1LL << 40), "hours(1 << 40)");
  check(std::chrono::duration<double>(1e300), "1e300 s as double");
}

INTERPROC_CHILD_ENTRY(sleep_briefly) {
  std::this_thread::sleep_for(150ms);
  return 7;
}

TEST(Hardening, ChildWaitForHugeTimeoutsWaits) {
  EXPECT_EQ(spawn_child("sleep_briefly").wait_for(std::chrono::milliseconds::max()), 7);
  EXPECT_EQ(spawn_child("sleep_briefly").wait_for(std::chrono::hours(24 * 365 * 1000)), 7);
}

TEST(Hardening, TimePointsOfAnyClockAndRatioWorkThroughUniqueLock) {
  InterprocessMutex m = InterprocessMutex::create();
  using Hours = std::chrono::time_point<std::chrono::system_clock, std::chrono::hours>;
  {
    std::unique_lock<InterprocessMutex> lock(m, std::chrono::steady_clock::now() + 10ms);
    EXPECT_TRUE(lock.owns_lock());
  }
  {
    std::unique_lock<InterprocessMutex> lock(m, std::chrono::system_clock::now() + 10ms);
    EXPECT_TRUE(lock.owns_lock());
  }
  {
    std::unique_lock<InterprocessMutex> lock(m, std::chrono::duration<float, std::milli>(2.5f));
    EXPECT_TRUE(lock.owns_lock());
  }
  // Held elsewhere: a deadline in the past gives up at once, one ahead waits until then.
  auto [got, took] = while_held(m, 300ms, [&] { return m.try_lock_until(Hours(std::chrono::hours(0))); });
  EXPECT_FALSE(got);
  EXPECT_LT(took, 100ms);
  std::tie(got, took) = while_held(m, 300ms, [&] {
    std::unique_lock<InterprocessMutex> lock(m, std::chrono::steady_clock::now() + 50ms);
    const bool owned = lock.owns_lock();
    if (owned) (void)lock.release();  // while_held unlocks it
    return owned;
  });
  EXPECT_FALSE(got);
  EXPECT_GE(took, 50ms);
  std::tie(got, took) = while_held(m, 100ms, [&] { return m.try_lock_until(Hours::max()); });
  EXPECT_TRUE(got);
  std::tie(got, took) = while_held(m, 100ms, [&] {
    return m.try_lock_until(std::chrono::time_point<std::chrono::steady_clock, std::chrono::nanoseconds>::max());
  });
  EXPECT_TRUE(got);
}

// ---- arguments ----

TEST(Hardening, MoreObjectsThanTheTokenCarriesAreRefusedInTheParent) {
  std::vector<SharedSegment> segments;
  for (int i = 0; i < 65; ++i) segments.push_back(SharedSegment::create(1));
  const std::vector<interproc::SharedObject> objects(segments.begin(), segments.end());
  for (StartMethod method : test::start_methods()) {
    EXPECT_SYSTEM_ERROR(spawn_child("exit_with", {"0"}, objects, method), errc::invalid_argument, "at most 64");
  }
  const std::vector<interproc::SharedObject> most(segments.begin(), segments.begin() + 64);
  for (StartMethod method : test::start_methods()) EXPECT_EQ(spawn_child("exit_with", {"0"}, most, method).wait(), 0);
}

TEST(Hardening, ArgumentsWithNulAreRefusedOnEveryOs) {
  for (StartMethod method : test::start_methods()) {
    EXPECT_SYSTEM_ERROR(spawn_child("exit_with",
                                    {std::string("1\0"
                                                 "2",
                                                 3)},
                                    {}, method),
                        errc::invalid_argument, "NUL");
  }
}

INTERPROC_CHILD_ENTRY(value_as_float) {
  try {
    ctx.value<float>(0);  // the parent passed a SharedValue<int>: same size, another type
    return 40;
  } catch (const std::system_error& e) {
    if (e.code() != errc::wrong_object_kind) return 41;
  }
  try {
    ctx.array<unsigned>(1);  // a SharedArray<int>
    return 42;
  } catch (const std::system_error& e) {
    if (e.code() != errc::wrong_object_kind) return 43;
  }
  return ctx.value<int>(0).value() == 5 && ctx.array<int>(1).size() == 3 ? 0 : 44;
}

TEST(Hardening, AnotherElementTypeOfTheSameSizeIsRefused) {
  auto value = SharedValue<int>::create(5);
  auto array = interproc::SharedArray<int>::create(3);
  for (StartMethod method : test::start_methods())
    EXPECT_EQ(spawn_child("value_as_float", {}, {value, array}, method).wait(), 0);
}

// ---- forged tokens ----

namespace {

int run_forged_segment(const std::string& entry, std::intptr_t handle, std::size_t size) {
  const std::string fields = std::to_string(handle) + "." + std::to_string(size);
  return test::run_child_token(
      test::forged_token(entry, test::object_text(interproc::detail::ObjectKind::segment, fields)));
}

}  // namespace

INTERPROC_CHILD_ENTRY(scribble) {
  for (std::byte& b : ctx.segment(0).bytes()) b = std::byte{'!'};
  return 0;
}

TEST(Hardening, AForgedTokenCannotMakeAnEntryWriteIntoAFile) {
  if (test::is_windows()) GTEST_SKIP() << "Windows tokens name a bootstrap section, not handles";
  const std::string path = test::temporary_file_with("not shared memory, keep me", 4096);
  const std::intptr_t fd = test::open_read_write(path);
  ASSERT_GE(fd, 3);
  EXPECT_EQ(run_forged_segment("scribble", fd, 26), interproc::exit_bad_child_argument);
  std::ifstream in(path);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content.substr(0, 26), "not shared memory, keep me");
  test::close_handle(fd);
  test::remove_file(path);
}

TEST(Hardening, AForgedTokenNamingAStandardStreamLeavesItOpen) {
  if (test::is_windows()) GTEST_SKIP() << "Windows tokens name a bootstrap section, not handles";
  for (int stream = 0; stream <= 2; ++stream) {
    EXPECT_EQ(run_forged_segment("scribble", stream, 64), interproc::exit_bad_child_argument);
    EXPECT_TRUE(test::handle_is_open(stream)) << "descriptor " << stream << " was closed by a rejected token";
  }
}

// ---- descriptors the program opened itself ----

// args: handles of the parent that must not have reached this child.
INTERPROC_CHILD_ENTRY(holds_none_of) {
  for (const std::string& handle : ctx.args()) {
    if (test::holds_parent_handle(std::stoll(handle))) return 50;
  }
  return 0;
}

TEST(Hardening, HandlesOpenedWithoutCloseOnExecStayOutOfSpawnedChildren) {
  const std::string path = test::temporary_file_with("private", 64);
  const std::intptr_t handle = test::open_read_write(path);  // inheritable: no O_CLOEXEC / bInheritHandle
  ASSERT_NE(handle, -1);
  // No object passed: on POSIX the child's objects take the numbers from 3 up, which the
  // parent's own descriptor may have too. Fork children inherit everything by design.
  for (StartMethod method : test::start_methods()) {
    if (method == StartMethod::fork) continue;
    EXPECT_EQ(spawn_child("holds_none_of", {std::to_string(handle)}, {}, method).wait(), 0)
        << "a handle the program opened without close-on-exec reached the child";
  }
  test::close_handle(handle);
  test::remove_file(path);
}

// ---- closed standard streams ----

INTERPROC_CHILD_ENTRY(chatty_increment) {
  for (int i = 0; i < 100; ++i) std::printf("child output that must not land in shared memory %d\n", i);
  std::fprintf(stderr, "child error output that must not land in shared memory\n");
  std::fflush(nullptr);
  ctx.value<int>(0).with_lock([](int& v) { v += 1; });
  return 0;
}

// Run with descriptors 0-2 closed by ParentWithClosedStandardStreams; skipped otherwise.
TEST(Hardening, ProbeClosedStandardStreams) {
  const char* probe = std::getenv("INTERPROC_TEST_PROBE");
  if (probe == nullptr || std::string(probe) != "closed-streams") GTEST_SKIP() << "only run as a child";
  auto value = SharedValue<int>::create(0);
  auto guard = SharedSegment::create(4096);
  EXPECT_GE(interproc::detail::SegmentAccess::handle(guard), 3);
  for (StartMethod method : test::start_methods())
    EXPECT_EQ(spawn_child("chatty_increment", {}, {value}, method).wait(), 0);
  EXPECT_EQ(value.value(), static_cast<int>(test::start_methods().size()));
  for (std::byte b : guard.bytes()) ASSERT_EQ(b, std::byte{0});
  EXPECT_EQ(value.get_lock().lock(), LockResult::acquired);
  value.get_lock().unlock();
}

TEST(Hardening, ParentWithClosedStandardStreams) {
  const auto code =
      test::run_with_closed_standard_streams({"--gtest_filter=Hardening.ProbeClosedStandardStreams"}, "closed-streams");
  if (!code) GTEST_SKIP() << "POSIX only: Windows handles are never 0-2";
  EXPECT_EQ(*code, 0);
}

// ---- shared memory limits and permissions ----

int create_beyond_a_full_shm() {
  try {
    SharedSegment s = SharedSegment::create_named("full-shm", 4u << 20);  // 4 MiB into a 1 MiB /dev/shm
    return 1;
  } catch (const std::system_error& e) {
    return e.code() == std::errc::no_space_on_device ? 0 : 2;
  }
}

TEST(Hardening, AFullShmFailsAtCreationNotOnFirstTouch) {
  const auto code = test::run_with_small_shm(&create_beyond_a_full_shm);
  if (!code) GTEST_SKIP() << "needs root and mount namespaces";
  EXPECT_EQ(*code, 0);
}

int create_under_umask() {
  const std::string name = "umask-0277";
  SharedSegment::remove_named(name);
  SharedSegment s = SharedSegment::create_named(name, 64);
  const int bits = test::named_segment_access_bits(name);
  const bool opened = static_cast<bool>(SharedSegment::open_named(name));
  SharedSegment::remove_named(name);
  return bits == 0600 && opened ? 0 : 1;
}

TEST(Hardening, NamedSegmentsAreOwnerReadWriteWhateverTheUmask) {
  const auto code = test::run_with_umask(0277, &create_under_umask);
  if (!code) GTEST_SKIP() << "POSIX only";
  EXPECT_EQ(*code, 0);
}

TEST(Hardening, ANamedSegmentOthersCanWriteIsRefused) {
  const std::string name = unique_name("ww");
  if (!test::plant_world_writable_segment(name)) GTEST_SKIP() << "POSIX only";
  EXPECT_SYSTEM_ERROR(SharedSegment::open_named(name), errc::foreign_object, "writable by others");
  SharedSegment::remove_named(name);
}

TEST(Hardening, ANamedSegmentOfAnotherUserIsRefused) {
  const std::string name = unique_name("ou");
  const auto planted = test::segment_created_by_other_user(name);
  if (!planted) GTEST_SKIP() << "needs root on POSIX";
  ASSERT_TRUE(*planted);
  EXPECT_SYSTEM_ERROR(SharedSegment::open_named(name), errc::foreign_object, "another user");
  SharedSegment::remove_named(name);
}

// ---- error messages ----

namespace {

bool valid_utf8(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = lead < 0x80           ? 1
                               : (lead >> 5) == 0x6  ? 2
                               : (lead >> 4) == 0xe  ? 3
                               : (lead >> 3) == 0x1e ? 4
                                                     : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    }
    i += length;
  }
  return true;
}

}  // namespace

TEST(Hardening, ErrorMessagesNeverCutACharacterInHalf) {
  std::string name;
  for (int i = 0; i < 50; ++i) name += "\xc3\xbc";  // ü, two bytes each: 100 bytes
  for (const std::string& bad : {name, "x" + name, std::string("ab\xe6\x97\xa5")}) {
    try {
      SharedSegment::create_named(bad, 64);
      ADD_FAILURE() << "accepted";
    } catch (const std::system_error& e) {
      EXPECT_TRUE(valid_utf8(e.what())) << e.what();
    }
  }
}
