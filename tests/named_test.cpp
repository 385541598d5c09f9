// SPDX-License-Identifier: MIT
// Objects shared by name: InterprocessMutex, SharedValue and SharedArray created by one
// process and opened by another that was never given a handle. The other process is this
// test binary started as an unrelated program (test::run_unrelated_child), running one of
// the Probe tests below, which skip when run directly; INTERPROC_TEST_PROBE carries the names.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include "common/mutex_backend.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <future>
#include <random>
#include <sstream>
#include <string>
#include <thread>

using interproc::errc;
using interproc::InterprocessMutex;
using interproc::LockResult;
using interproc::SharedArray;
using interproc::SharedSegment;
using interproc::SharedValue;
using namespace std::chrono_literals;
namespace test = interproc::test;

namespace {

// "n<8 hex digits>.<tag>": one random stem per test process, so parallel runs never collide.
std::string unique_name(const std::string& tag) {
  static const std::string stem = [] {
    std::ostringstream text;
    text << 'n' << std::hex
         << (std::random_device{}() ^
             static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
    return text.str().substr(0, 9);
  }();
  return stem + "." + tag;
}

// The names a probe was given, or empty when run directly.
std::string probe_argument() {
  const char* probe = std::getenv("INTERPROC_TEST_PROBE");
  return probe != nullptr ? probe : "";
}

// The counter two processes share in a named segment: `arrived` lines them up, `count` is
// updated non-atomically, so only the named mutex keeps updates from being lost.
struct Shared {
  std::atomic<int> arrived;
  std::atomic<int> held;
  long count;
};

Shared& shared_in(const SharedSegment& segment) { return *reinterpret_cast<Shared*>(segment.bytes().data()); }

int increments() { return test::is_windows() ? 20000 : 200000; }

// One read-modify-write with a window between the read and the write.
void slow_increment(Shared& s) {
  const long seen = s.count;
  for (volatile int spin = 0; spin < 100; spin = spin + 1) {
  }
  s.count = seen + 1;
}

// Waits until `flag` reaches `value`, for at most 60 s (a lost child must not hang the suite);
// polls without sleeping, so that both processes start counting together.
bool wait_until(const std::atomic<int>& flag, int value) {
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (flag.load() < value && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  return flag.load() >= value;
}

// Runs a probe test in an unrelated child on another thread; get() gives its exit code.
std::future<int> start_probe(const std::string& probe, const std::string& argument) {
  return std::async(std::launch::async,
                    [=] { return test::run_unrelated_child({"--gtest_filter=Named.Probe" + probe}, argument); });
}

}  // namespace

TEST(Named, MutexCreateOpenRemoveRoundTrip) {
  const std::string name = unique_name("mutex");
  InterprocessMutex created = InterprocessMutex::create_named(name);
  InterprocessMutex opened = InterprocessMutex::open_named(name);
  EXPECT_EQ(test::named_segment_access_bits(name), 0600);
  EXPECT_EQ(created.lock(), LockResult::acquired);
  bool taken = true;
  std::thread([&] { taken = opened.try_lock(); }).join();
  EXPECT_FALSE(taken) << "the opened mutex is not the created one";
  created.unlock();
  std::thread([&] {
    taken = opened.try_lock();
    if (taken) opened.unlock();
  }).join();
  EXPECT_TRUE(taken);
  EXPECT_TRUE(InterprocessMutex::remove_named(name));
  if (!test::is_windows()) {
    EXPECT_FALSE(InterprocessMutex::remove_named(name));
    EXPECT_SYSTEM_ERROR(InterprocessMutex::open_named(name), std::errc::no_such_file_or_directory, name);
  }
  EXPECT_EQ(opened.lock(), LockResult::acquired) << "a removed name still works for those who have it";
  opened.unlock();
}

TEST(Named, MutexCreateTwiceOrOpenMissingFails) {
  const std::string name = unique_name("twice");
  InterprocessMutex first = InterprocessMutex::create_named(name);
  EXPECT_SYSTEM_ERROR(InterprocessMutex::create_named(name), std::errc::file_exists, name);
  EXPECT_EQ(first.lock(), LockResult::acquired) << "a refused create touched the existing mutex";
  first.unlock();
  EXPECT_TRUE(InterprocessMutex::remove_named(name));
  const std::string missing = unique_name("missing");
  EXPECT_SYSTEM_ERROR(InterprocessMutex::open_named(missing), std::errc::no_such_file_or_directory, missing);
}

TEST(Named, WindowsMutexLivesWhileAHandleIsOpen) {
  if (!test::is_windows()) GTEST_SKIP() << "POSIX names live until remove_named";
  const std::string name = unique_name("life");
  { InterprocessMutex m = InterprocessMutex::create_named(name); }
  EXPECT_FALSE(InterprocessMutex::remove_named(name)) << "the last handle closed: nothing is left";
  InterprocessMutex again = InterprocessMutex::create_named(name);  // the name is free again
  EXPECT_TRUE(InterprocessMutex::remove_named(name));
}

TEST(Named, BadNamesAreRejected) {
  EXPECT_SYSTEM_ERROR(InterprocessMutex::create_named(""), errc::invalid_name, "InterprocessMutex: empty name");
  EXPECT_SYSTEM_ERROR(InterprocessMutex::create_named(std::string(31, 'm')), errc::name_too_long, "31 characters");
  EXPECT_SYSTEM_ERROR(InterprocessMutex::open_named("a/b"), errc::invalid_name, "'/'");
  EXPECT_SYSTEM_ERROR(InterprocessMutex::remove_named(".."), errc::invalid_name, "reserved");
  EXPECT_SYSTEM_ERROR(SharedValue<long>::create_named(std::string(26, 'v')), errc::name_too_long, "at most 25");
  EXPECT_SYSTEM_ERROR(SharedArray<int>::open_named(std::string(26, 'a')), errc::name_too_long, "at most 25");
  EXPECT_SYSTEM_ERROR(SharedValue<long>::open_named("a b"), errc::invalid_name,
                      "SharedValue/SharedArray/SharedQueue: name \"a b\"");
  EXPECT_SYSTEM_ERROR(SharedArray<int>::remove_named(""), errc::invalid_name, "empty name");
  EXPECT_NO_THROW(SharedValue<long>::remove_named(std::string(25, 'v')));
  EXPECT_NO_THROW(InterprocessMutex::remove_named(std::string(30, 'm')));
}

TEST(Named, ObjectsThatAreNoMutexAreRefused) {
  const std::string size_of_words = unique_name("plain");
  const SharedSegment plain = SharedSegment::create_named(size_of_words, 100);
  EXPECT_SYSTEM_ERROR(InterprocessMutex::open_named(size_of_words), errc::foreign_object, size_of_words);
  SharedSegment::remove_named(size_of_words);

  // A plain segment of the words' own size, and one tagged as a mutex whose first word is what tells.
  const std::size_t words = interproc::detail::MutexAccess::state(InterprocessMutex::create()).words.size();
  const std::string impostor = unique_name("imp");
  const SharedSegment same_size = SharedSegment::create_named(impostor, words);
  EXPECT_SYSTEM_ERROR(InterprocessMutex::open_named(impostor), errc::foreign_object, "not an InterprocessMutex");
  SharedSegment::remove_named(impostor);
  const std::string name = unique_name("early");
  using interproc::detail::SegmentKind;
  const SharedSegment unfinished = interproc::detail::create_tagged_segment(
      name, words, interproc::detail::segment_tag(SegmentKind::mutex, interproc::detail::mutex_magic));
  EXPECT_SYSTEM_ERROR(InterprocessMutex::open_named(name), errc::not_ready, "not finished");
  const std::uint32_t other = 0x12345678;
  std::memcpy(unfinished.bytes().data(), &other, sizeof other);
  EXPECT_SYSTEM_ERROR(InterprocessMutex::open_named(name), errc::foreign_object, "not an InterprocessMutex");
  SharedSegment::remove_named(name);
}

// Counts under the named mutex while its parent does the same (see the test below).
TEST(Named, ProbeCount) {
  const std::string name = probe_argument();
  if (name.empty()) GTEST_SKIP() << "only run as an unrelated child";
  InterprocessMutex lock = InterprocessMutex::open_named(name + ".m");
  const SharedSegment segment = SharedSegment::open_named(name + ".s");
  Shared& s = shared_in(segment);
  s.arrived.fetch_add(1);
  ASSERT_TRUE(wait_until(s.arrived, 2));
  for (int i = 0; i < increments(); ++i) {
    std::lock_guard<InterprocessMutex> hold(lock);
    slow_increment(s);
  }
}

TEST(Named, UnrelatedProcessesCountExactlyUnderANamedMutex) {
  const std::string name = unique_name("count");
  InterprocessMutex lock = InterprocessMutex::create_named(name + ".m");
  const SharedSegment segment = SharedSegment::create_named(name + ".s", sizeof(Shared));
  Shared& s = shared_in(segment);
  std::future<int> child = start_probe("Count", name);
  ASSERT_TRUE(wait_until(s.arrived, 1)) << "the unrelated child never arrived";
  s.arrived.fetch_add(1);
  for (int i = 0; i < increments(); ++i) {
    std::lock_guard<InterprocessMutex> hold(lock);
    slow_increment(s);
  }
  EXPECT_EQ(child.get(), 0);
  EXPECT_EQ(s.count, 2L * increments()) << "updates were lost: the processes did not exclude each other";
  EXPECT_TRUE(InterprocessMutex::remove_named(name + ".m"));
  EXPECT_TRUE(SharedSegment::remove_named(name + ".s"));
}

// Takes the named mutex, says so, and is killed holding it (SIGKILL / TerminateProcess).
TEST(Named, ProbeDieHolding) {
  const std::string name = probe_argument();
  if (name.empty()) GTEST_SKIP() << "only run as an unrelated child";
  InterprocessMutex lock = InterprocessMutex::open_named(name + ".m");
  const SharedSegment segment = SharedSegment::open_named(name + ".s");
  lock.lock();
  shared_in(segment).count = -1;  // half-written data for the next locker to find
  shared_in(segment).held.store(1);
  std::this_thread::sleep_for(200ms);  // long enough for the parent to be waiting
  test::die_abruptly();
}

class NamedOwnerDeath : public testing::TestWithParam<bool> {};

// GetParam(): whether the parent waits for the lock while its holder is killed, or only
// locks after the holder is gone.
TEST_P(NamedOwnerDeath, TheNextLockerIsToldNeverDeadlocked) {
  const std::string name = unique_name(GetParam() ? "dieW" : "dieA");
  InterprocessMutex lock = InterprocessMutex::create_named(name + ".m");
  const SharedSegment segment = SharedSegment::create_named(name + ".s", sizeof(Shared));
  std::future<int> child = start_probe("DieHolding", name);
  ASSERT_TRUE(wait_until(shared_in(segment).held, 1)) << "the unrelated child never took the lock";
  const bool waiting = GetParam();
  int code = waiting ? 0 : child.get();
  ASSERT_TRUE(lock.try_lock_for(30s)) << "deadlock: the dead holder's lock was never taken over";
  EXPECT_TRUE(lock.previous_owner_died());
  EXPECT_EQ(shared_in(segment).count, -1);
  lock.unlock();
  EXPECT_EQ(lock.lock(), LockResult::owner_died) << "the report vanished unacknowledged";
  shared_in(segment).count = 0;
  lock.mark_consistent();
  lock.unlock();
  EXPECT_EQ(lock.lock(), LockResult::acquired);
  lock.unlock();
  if (waiting) code = child.get();
  EXPECT_NE(code, 0) << "the holder was not killed";
  InterprocessMutex::remove_named(name + ".m");
  SharedSegment::remove_named(name + ".s");
}

INSTANTIATE_TEST_SUITE_P(Named, NamedOwnerDeath, testing::Bool());

// Opens the parent's named value and array, checks their first contents and changes them.
TEST(Named, ProbeValueAndArray) {
  const std::string name = probe_argument();
  if (name.empty()) GTEST_SKIP() << "only run as an unrelated child";
  auto value = SharedValue<long>::open_named(name + ".v");
  auto array = SharedArray<int>::open_named(name + ".a");
  ASSERT_EQ(array.size(), 16u);
  value.with_lock([](long& v) {
    EXPECT_EQ(v, 41);
    v += 1;
  });
  array.with_lock([](gsl::span<int> values) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      EXPECT_EQ(values[i], static_cast<int>(i));
      values[i] *= 2;
    }
  });
}

TEST(Named, ValueAndArrayRoundTripAcrossProcesses) {
  const std::string name = unique_name("data");
  auto value = SharedValue<long>::create_named(name + ".v", 41L);
  auto array = SharedArray<int>::create_named(name + ".a", 16);
  EXPECT_EQ(test::named_segment_access_bits(name + ".v"), 0600);
  EXPECT_EQ(test::named_segment_access_bits(name + ".a.lock"), 0600);
  array.with_lock([](gsl::span<int> values) {
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<int>(i);
  });
  EXPECT_EQ(start_probe("ValueAndArray", name).get(), 0);
  EXPECT_EQ(value.value(), 42);
  for (std::size_t i = 0; i < array.size(); ++i) EXPECT_EQ(array.span()[i], static_cast<int>(2 * i));
  EXPECT_TRUE(SharedValue<long>::remove_named(name + ".v"));
  EXPECT_TRUE(SharedArray<int>::remove_named(name + ".a"));
  if (!test::is_windows()) {
    EXPECT_FALSE(SharedValue<long>::remove_named(name + ".v"));
    EXPECT_SYSTEM_ERROR(InterprocessMutex::open_named(name + ".v.lock"), std::errc::no_such_file_or_directory,
                        ".v.lock");
  }
}

TEST(Named, NamedObjectsCanAlsoBePassedToSpawnedChildren) {
  const std::string name = unique_name("pass");
  auto counter = SharedValue<long>::create_named(name, 1L);
  for (interproc::StartMethod method : test::start_methods()) {
    EXPECT_EQ(interproc::spawn_child("increment_value", {}, {counter}, method).wait(), 0);  // spawn_test.cpp
  }
  EXPECT_EQ(SharedValue<long>::open_named(name).value(), 1 + static_cast<long>(test::start_methods().size()));
  SharedValue<long>::remove_named(name);
}

TEST(Named, ValueCreateOpenAndErrors) {
  const std::string name = unique_name("val");
  auto created = SharedValue<double>::create_named(name, 2.5);
  auto opened = SharedValue<double>::open_named(name);
  EXPECT_EQ(opened.value(), 2.5);
  opened.with_lock([](double& v) { v = 7.0; });
  EXPECT_EQ(created.value(), 7.0);
  EXPECT_SYSTEM_ERROR(SharedValue<double>::create_named(name, 1.0), std::errc::file_exists, name);
  EXPECT_EQ(created.value(), 7.0) << "a refused create changed the existing value";
  EXPECT_TRUE(SharedValue<double>::remove_named(name));
  const std::string missing = unique_name("none");
  EXPECT_SYSTEM_ERROR(SharedValue<double>::open_named(missing), std::errc::no_such_file_or_directory, missing);
  EXPECT_SYSTEM_ERROR(SharedArray<int>::create_named(unique_name("empty"), 0), errc::invalid_size, "size 0");
}

TEST(Named, AFailedCreateLeavesNoLockBehind) {
  const std::string name = unique_name("taken");
  const SharedSegment squatter = SharedSegment::create_named(name, 8);
  EXPECT_SYSTEM_ERROR(SharedValue<long>::create_named(name, 1L), std::errc::file_exists, name);
  EXPECT_SYSTEM_ERROR(InterprocessMutex::open_named(name + ".lock"), std::errc::no_such_file_or_directory, ".lock");
  SharedSegment::remove_named(name);

  const std::string locked = unique_name("lockd");
  const InterprocessMutex other = InterprocessMutex::create_named(locked + ".lock");
  EXPECT_SYSTEM_ERROR(SharedArray<int>::create_named(locked, 4), std::errc::file_exists, ".lock");
  EXPECT_SYSTEM_ERROR(SharedSegment::open_named(locked), std::errc::no_such_file_or_directory, locked);
  InterprocessMutex::remove_named(locked + ".lock");
}

TEST(Named, WrongElementSizeIsAnotherKind) {
  const std::string name = unique_name("kind");
  auto value = SharedValue<long long>::create_named(name + ".v", 5LL);
  auto array = SharedArray<int>::create_named(name + ".a", 3);
  EXPECT_SYSTEM_ERROR(SharedValue<int>::open_named(name + ".v"), errc::wrong_object_kind, "8 bytes, not 4");
  EXPECT_SYSTEM_ERROR(SharedArray<double>::open_named(name + ".a"), errc::wrong_object_kind, "not a multiple of 8");
  EXPECT_EQ(SharedArray<int>::open_named(name + ".a").size(), 3u);
  // Another kind's name is foreign: a value is no array, nor an array a value.
  EXPECT_SYSTEM_ERROR(SharedValue<long long>::open_named(name + ".a"), errc::foreign_object, "not a SharedValue");
  EXPECT_SYSTEM_ERROR(SharedArray<std::int32_t>::open_named(name + ".v"), errc::foreign_object, "not a SharedArray");
  SharedValue<long long>::remove_named(name + ".v");
  SharedArray<int>::remove_named(name + ".a");
}

TEST(Named, AnOpenerWaitsForTheCreatorsFirstValue) {
  // A creator caught between its two steps: the lock is held and the data exists, unwritten.
  const std::string name = unique_name("wait");
  InterprocessMutex lock = InterprocessMutex::create_named(name + ".lock");
  lock.lock();
  const SharedSegment data = interproc::detail::create_tagged_segment(
      name, sizeof(long),
      interproc::detail::segment_tag(interproc::detail::SegmentKind::value,
                                     interproc::detail::type_fingerprint<long>()));
  std::atomic<bool> opened{false};
  std::future<long> seen = std::async(std::launch::async, [&] {
    auto value = SharedValue<long>::open_named(name);
    opened = true;
    return value.value();
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(opened) << "open_named returned before the creator's first value";
  const long first = 99;
  std::memcpy(data.bytes().data(), &first, sizeof first);
  lock.unlock();
  EXPECT_EQ(seen.get(), 99);
  SharedValue<long>::remove_named(name);
}

TEST(Named, AQueueOfAnotherItemTypeOfTheSameSizeIsRefused) {
  const std::string name = unique_name("qtype");
  auto queue = interproc::SharedQueue<int>::create_named(name, 4);
  EXPECT_SYSTEM_ERROR(interproc::SharedQueue<float>::open_named(name), errc::wrong_object_kind, "of this type");
  EXPECT_SYSTEM_ERROR(interproc::SharedQueue<std::uint32_t>::open_named(name), errc::wrong_object_kind, "of this type");
  EXPECT_SYSTEM_ERROR(interproc::SharedQueue<double>::open_named(name), errc::wrong_object_kind, "8-byte items");
  EXPECT_EQ(interproc::SharedQueue<int>::open_named(name).capacity(), 4u);
  interproc::SharedQueue<int>::remove_named(name);
}

TEST(Named, AValueOrArrayOfAnotherTypeOfTheSameSizeIsRefused) {
  const std::string name = unique_name("vtype");
  auto value = SharedValue<int>::create_named(name + ".v", 1);
  auto array = SharedArray<int>::create_named(name + ".a", 2);
  EXPECT_SYSTEM_ERROR(SharedValue<float>::open_named(name + ".v"), errc::wrong_object_kind, "another type");
  EXPECT_SYSTEM_ERROR(SharedValue<unsigned>::open_named(name + ".v"), errc::wrong_object_kind, "another type");
  EXPECT_SYSTEM_ERROR(SharedArray<float>::open_named(name + ".a"), errc::wrong_object_kind, "another type");
  EXPECT_EQ(SharedValue<int>::open_named(name + ".v").value(), 1);
  SharedValue<int>::remove_named(name + ".v");
  SharedArray<int>::remove_named(name + ".a");
}

// Every named kind opened under another kind's name is foreign_object, whatever the OS
// (Windows once reported a missing ".lock" for an event opened as a queue).
TEST(Named, OneKindsNameOpenedAsAnotherKindIsForeign) {
  using interproc::InterprocessEvent;
  using interproc::InterprocessSemaphore;
  using Queue = interproc::SharedQueue<int>;
  const std::string event_name = unique_name("kev");
  const std::string queue_name = unique_name("kqu");
  const std::string value_name = unique_name("kva");
  const std::string mutex_name = unique_name("kmu");
  const std::string plain_name = unique_name("kpl");
  auto event = InterprocessEvent::create_named(event_name);
  auto queue = Queue::create_named(queue_name, 2);
  auto value = SharedValue<std::uint32_t>::create_named(value_name, 0);  // zero: an unpublished header
  auto mutex = InterprocessMutex::create_named(mutex_name);
  auto plain = SharedSegment::create_named(plain_name, 64);

  EXPECT_SYSTEM_ERROR(Queue::open_named(event_name), errc::foreign_object, event_name);
  EXPECT_SYSTEM_ERROR(SharedValue<int>::open_named(event_name), errc::foreign_object, "not a SharedValue");
  EXPECT_SYSTEM_ERROR(SharedArray<int>::open_named(queue_name), errc::foreign_object, "not a SharedArray");
  EXPECT_SYSTEM_ERROR(InterprocessEvent::open_named(queue_name), errc::foreign_object, queue_name);
  EXPECT_SYSTEM_ERROR(InterprocessSemaphore::open_named(event_name), errc::foreign_object, event_name);
  EXPECT_SYSTEM_ERROR(InterprocessEvent::open_named(value_name), errc::foreign_object, value_name);
  EXPECT_SYSTEM_ERROR(Queue::open_named(value_name), errc::foreign_object, value_name);
  EXPECT_SYSTEM_ERROR(InterprocessMutex::open_named(value_name), errc::foreign_object, value_name);
  EXPECT_SYSTEM_ERROR(InterprocessMutex::open_named(event_name), errc::foreign_object, event_name);
  EXPECT_SYSTEM_ERROR(SharedValue<int>::open_named(mutex_name), errc::foreign_object, "not a SharedValue");
  EXPECT_SYSTEM_ERROR(InterprocessEvent::open_named(mutex_name), errc::foreign_object, mutex_name);
  EXPECT_SYSTEM_ERROR(SharedValue<int>::open_named(plain_name), errc::foreign_object, "not a SharedValue");
  EXPECT_SYSTEM_ERROR(InterprocessEvent::open_named(plain_name), errc::foreign_object, plain_name);

  InterprocessEvent::remove_named(event_name);
  Queue::remove_named(queue_name);
  SharedValue<std::uint32_t>::remove_named(value_name);
  InterprocessMutex::remove_named(mutex_name);
  SharedSegment::remove_named(plain_name);
}

// What another program can leave at a name (Linux keeps names as files in /dev/shm) is
// foreign_object, never not_ready, which callers retry.
TEST(Named, AnythingPlantedAtANameIsForeignNotNotReady) {
  using test::Planted;
  for (const Planted what : {Planted::fifo, Planted::directory, Planted::symlink, Planted::socket}) {
    const std::string name = unique_name("plant" + std::to_string(static_cast<int>(what)));
    if (!test::plant_at_name(name, what)) GTEST_SKIP() << "names are no files here";
    SCOPED_TRACE(static_cast<int>(what));
    EXPECT_SYSTEM_ERROR(SharedSegment::open_named(name), errc::foreign_object, name);
    EXPECT_SYSTEM_ERROR(SharedValue<int>::open_named(name), errc::foreign_object, name);
    EXPECT_SYSTEM_ERROR(interproc::InterprocessEvent::open_named(name), errc::foreign_object, name);
    EXPECT_SYSTEM_ERROR(InterprocessMutex::open_named(name), errc::foreign_object, name);
    test::remove_planted(name);
  }
}

// An empty object is what a creator leaves between shm_open and ftruncate: not_ready for a
// moment, then, once no creator can still be finishing it, foreign_object (where the OS
// tells when an object last changed).
TEST(Named, AnObjectLeftUnfinishedTurnsForeign) {
  const std::string empty = unique_name("empty");
  const std::string unrecorded = unique_name("unrec");
  if (!test::plant_at_name(empty, test::Planted::empty_file) ||
      !test::plant_at_name(unrecorded, test::Planted::unrecorded_file))
    GTEST_SKIP() << "names are no files here";
  EXPECT_SYSTEM_ERROR(SharedSegment::open_named(empty), errc::not_ready, empty);
  EXPECT_SYSTEM_ERROR(SharedSegment::open_named(unrecorded), errc::not_ready, unrecorded);
  std::this_thread::sleep_for(4s);
  if (!test::shm_objects_have_times()) {  // macOS: no times, and no files to plant either
    EXPECT_SYSTEM_ERROR(SharedSegment::open_named(empty), errc::not_ready, empty);
    GTEST_SKIP() << "shm objects report no change time here";
  }
  EXPECT_SYSTEM_ERROR(SharedSegment::open_named(empty), errc::foreign_object, "never finished");
  EXPECT_SYSTEM_ERROR(SharedSegment::open_named(unrecorded), errc::foreign_object, "never finished");
  test::remove_planted(empty);
  test::remove_planted(unrecorded);
}
