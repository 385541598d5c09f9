// SPDX-License-Identifier: MIT
#include "support/expect.hpp"
#include "support/forged_token.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

using interproc::Child;
using interproc::errc;
using interproc::SharedSegment;
using interproc::spawn_child;
using interproc::StartMethod;
using namespace std::chrono_literals;
namespace test = interproc::test;
using test::start_methods;

namespace {

const std::vector<std::string> tricky_args = {"plain",
                                              "with space",
                                              "",
                                              "quote\"inside",
                                              "back\\slash",
                                              "trailing\\",
                                              "\\\\\"",
                                              "tab\there",
                                              "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",
                                              "--looks-like-a-flag=1:x::0"};


}  // namespace

INTERPROC_CHILD_ENTRY(exit_with) { return std::stoi(ctx.args().at(0)); }

INTERPROC_CHILD_ENTRY(check_args) {
  if (ctx.args() != tricky_args) return 20;
  return ctx.object_count() == 0 ? 0 : 21;
}

INTERPROC_CHILD_ENTRY(increment_value) {
  ctx.value<long>(0).with_lock([](long& v) { v += 1; });
  return 0;
}

INTERPROC_CHILD_ENTRY(sum_array) {
  auto& array = ctx.array<int>(0);
  long sum = 0;
  for (int v : array.span()) sum += v;
  return sum == 120 ? 0 : 22;
}

// args: handles (as numbers) that must NOT be open in this child.
INTERPROC_CHILD_ENTRY(check_not_inherited) {
  for (const std::string& handle : ctx.args()) {
    if (test::holds_parent_handle(std::stoll(handle))) return 23;
  }
  return ctx.segment(0).size() == 64 ? 0 : 24;
}

INTERPROC_CHILD_ENTRY(wrong_kinds) {
  int failures = 0;
  try {
    ctx.mutex(0);
  } catch (const std::system_error& e) {
    failures += e.code() == errc::wrong_object_kind;
  }
  try {
    ctx.value<int>(0);
  } catch (const std::system_error& e) {
    failures += e.code() == errc::wrong_object_kind;
  }
  try {
    ctx.segment(5);
  } catch (const std::system_error& e) {
    failures += e.code() == errc::wrong_object_kind;
  }
  try {
    ctx.value<short>(1);  // a SharedValue<long> asked for as short
  } catch (const std::system_error& e) {
    failures += e.code() == errc::wrong_object_kind;
  }
  return failures == 4 ? 0 : 25;
}

INTERPROC_CHILD_ENTRY(throw_error) { throw std::runtime_error("entry failed on purpose"); }

INTERPROC_CHILD_ENTRY(crash) { test::die_abruptly(); }

INTERPROC_CHILD_ENTRY(sleep_forever) { test::hang(); }

// A child that starts a grandchild: spawn_child is legitimate after child_main.
INTERPROC_CHILD_ENTRY(spawn_grandchild) { return spawn_child("exit_with", {"6"}).wait() == 6 ? 0 : 26; }

TEST(SpawnChild, ExitCodesReachTheParent) {
  for (StartMethod method : start_methods()) {
    EXPECT_EQ(spawn_child("exit_with", {"0"}, {}, method).wait(), 0);
    EXPECT_EQ(spawn_child("exit_with", {"42"}, {}, method).wait(), 42);
  }
}

TEST(SpawnChild, ArgumentsSurviveTheTrip) {
  for (StartMethod method : start_methods()) EXPECT_EQ(spawn_child("check_args", tricky_args, {}, method).wait(), 0);
}

TEST(SpawnChild, ChildIncrementsASharedValue) {
  for (StartMethod method : start_methods()) {
    auto counter = interproc::SharedValue<long>::create(41);
    EXPECT_EQ(spawn_child("increment_value", {}, {counter}, method).wait(), 0);
    EXPECT_EQ(counter.value(), 42);
  }
}

TEST(SpawnChild, ChildReadsASharedArray) {
  auto array = interproc::SharedArray<int>::create(15);
  for (std::size_t i = 0; i < array.size(); ++i) array.span()[i] = static_cast<int>(i + 1);
  EXPECT_EQ(spawn_child("sum_array", {}, {array}).wait(), 0);
}

TEST(SpawnChild, OnlyPassedHandlesReachTheChild) {
  SharedSegment passed = SharedSegment::create(64);
  SharedSegment kept = SharedSegment::create(64);
  auto value = interproc::SharedValue<int>::create(0);
  const auto kept_handle = std::to_string(interproc::detail::SegmentAccess::handle(kept));
  EXPECT_EQ(spawn_child("check_not_inherited", {kept_handle}, {passed}).wait(), 0);
}

TEST(SpawnChild, AskingForTheWrongKindIsAClearError) {
  SharedSegment s = SharedSegment::create(8);
  auto value = interproc::SharedValue<long>::create(0);
  EXPECT_EQ(spawn_child("wrong_kinds", {}, {s, value}).wait(), 0);
}

TEST(SpawnChild, EntryThatThrowsExitsWithEntryThrew) {
  for (StartMethod method : start_methods()) {
    EXPECT_EQ(spawn_child("throw_error", {}, {}, method).wait(), interproc::exit_entry_threw);
  }
}

TEST(SpawnChild, CrashAndKillAreReportedDistinctly) {
  for (StartMethod method : start_methods()) {
    const int crashed = spawn_child("crash", {}, {}, method).wait();
    Child sleeper = spawn_child("sleep_forever", {}, {}, method);
    EXPECT_EQ(sleeper.wait_for(50ms), std::nullopt);
    sleeper.kill();
    const int killed = sleeper.wait();
    if (test::is_windows()) {
      EXPECT_EQ(crashed, 99);
      EXPECT_EQ(killed, -9);  // kill()'s own exit code, reported as POSIX reports SIGKILL
    } else {
      EXPECT_EQ(crashed, -9);  // -SIGKILL: a signal death, not an exit code
      EXPECT_EQ(killed, -9);
    }
    EXPECT_EQ(sleeper.wait(), killed) << "wait() is idempotent";
    EXPECT_NO_THROW(sleeper.kill()) << "kill() after wait() is harmless";
  }
}

TEST(SpawnChild, GrandchildrenCanBeStartedFromAnEntry) { EXPECT_EQ(spawn_child("spawn_grandchild").wait(), 0); }

TEST(SpawnChild, UnknownEntryIsRejectedInTheParent) {
  EXPECT_SYSTEM_ERROR(spawn_child("no_such_entry"), errc::unknown_entry, "no_such_entry");
}

TEST(SpawnChild, ForkIsRejectedOnWindows) {
  if (!test::is_windows()) GTEST_SKIP() << "fork works here";
  EXPECT_SYSTEM_ERROR(spawn_child("exit_with", {"0"}, {}, StartMethod::fork), errc::not_supported, "spawn");
}

// ---- fork: buffered output is written once, by the process that wrote it ----

namespace {
std::FILE* fork_log = nullptr;  // a stdio stream the fork child inherits
}  // namespace

// args: what to leave in fork_log's buffer, or in the buffer of std::cout ("cout") or std::clog.
INTERPROC_CHILD_ENTRY(leave_buffered) {
  const std::string& where = ctx.args().at(0);
  if (where == "stdio") return std::fputs("child;", fork_log) >= 0 ? 0 : 30;
  (where == "cout" ? std::cout : std::clog) << "child;";
  return 0;
}

namespace {
std::string contents_of(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST(SpawnChild, ForkWritesStdioOutputOnceOnEachSide) {
  if (test::is_windows()) GTEST_SKIP() << "fork is POSIX-only";
  const std::string path = test::temporary_file_with("", 0);
  fork_log = std::fopen(path.c_str(), "w");
  ASSERT_NE(fork_log, nullptr);
  ASSERT_EQ(std::setvbuf(fork_log, nullptr, _IOFBF, 4096), 0);
  std::fputs("parent;", fork_log);
  EXPECT_EQ(spawn_child("leave_buffered", {"stdio"}, {}, StartMethod::fork).wait(), 0);
  std::fclose(fork_log);
  fork_log = nullptr;
  EXPECT_EQ(contents_of(path), "parent;child;");
  test::remove_file(path);
}

// A standard stream with a buffer of its own, as after sync_with_stdio(false).
TEST(SpawnChild, ForkWritesBufferedStandardStreamsOnceOnEachSide) {
  if (test::is_windows()) GTEST_SKIP() << "fork is POSIX-only";
  for (const char* name : {"cout", "clog"}) {
    std::ostream& stream = std::string(name) == "cout" ? std::cout : std::clog;
    const std::string path = test::temporary_file_with("", 0);
    std::filebuf file;
    ASSERT_NE(file.open(path, std::ios::out | std::ios::binary), nullptr);
    std::streambuf* const original = stream.rdbuf(&file);
    stream << "parent;";
    const int code = spawn_child("leave_buffered", {name}, {}, StartMethod::fork).wait();
    stream.rdbuf(original);
    file.close();
    EXPECT_EQ(code, 0) << name;
    EXPECT_EQ(contents_of(path), "parent;child;") << name;
    test::remove_file(path);
  }
}

TEST(SpawnChild, PassingOneObjectTwiceIsRejected) {
  SharedSegment s = SharedSegment::create(8);
  EXPECT_SYSTEM_ERROR(spawn_child("exit_with", {"0"}, {s, s}), errc::invalid_argument, "passed twice");
}

TEST(SpawnChild, DestroyingAnUnwaitedChildWaitsForIt) {
  auto counter = interproc::SharedValue<long>::create(0);
  { Child child = spawn_child("increment_value", {}, {counter}); }
  EXPECT_EQ(counter.value(), 1) << "the destructor returned before the child ended";
}

// Python's `Process(target=worker, daemon=True)` with `while True: q.get()`: a program whose
// daemon child never ends must still end, its child killed and reaped on the way out.
INTERPROC_CHILD_ENTRY(pop_forever) {
  auto& queue = ctx.queue<int>(0);
  while (queue.pop()) {
  }
  return 0;
}

INTERPROC_CHILD_ENTRY(leave_a_daemon_behind) {
  const auto method = static_cast<StartMethod>(std::stoi(ctx.args().at(0)));
  auto queue = interproc::SharedQueue<int>::create(4);
  // die_with_parent too: should this program be killed, its daemon goes with it.
  Child daemon = spawn_child("pop_forever", {}, {queue}, {method, true, false, /*daemon=*/true});
  return daemon.wait_for(50ms) ? 1 : 0;  // still running: the destructor must end it
}

TEST(SpawnChild, DaemonChildDoesNotKeepItsParentFromEnding) {
  for (StartMethod method : start_methods()) {
    SCOPED_TRACE(static_cast<int>(method));
    Child program = spawn_child("leave_a_daemon_behind", {std::to_string(static_cast<int>(method))}, {},
                                {StartMethod::spawn, false, /*own_process_group=*/true});
    const std::optional<int> code = program.wait_for(60s);
    if (!code) program.kill_tree();
    EXPECT_EQ(code, 0) << "the program did not end: its daemon child was waited for";
  }
}

TEST(SpawnChild, ManySpawnsLeakNoHandles) {
  auto counter = interproc::SharedValue<long>::create(0);
  const std::size_t before = test::open_handle_count();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(spawn_child("increment_value", {}, {counter}).wait(), 0);
  EXPECT_EQ(counter.value(), 20);
  EXPECT_EQ(test::open_handle_count(), before);
}

TEST(ChildMain, ReturnsNulloptInTheParent) {
  std::string self = "self";
  std::string other = "--verbose";
  char* argv[] = {self.data(), other.data(), nullptr};
  EXPECT_EQ(interproc::child_main(2, argv), std::nullopt);
  EXPECT_EQ(interproc::child_main(1, argv), std::nullopt);
}

TEST(ChildMain, MalformedTokensAreRejected) {
  const int bad = interproc::exit_bad_child_argument;
  using interproc::detail::sealed;
  using interproc::test::forged_token;
  using interproc::test::run_child_token;
  const std::string segment = std::to_string(static_cast<int>(interproc::detail::ObjectKind::segment));
  EXPECT_EQ(run_child_token(""), bad);
  EXPECT_EQ(run_child_token("garbage"), bad);
  EXPECT_EQ(run_child_token(sealed("1:exit_with:")), bad);   // an older version
  EXPECT_EQ(run_child_token(sealed("99:exit_with:")), bad);  // unknown version
  const std::string good = forged_token("exit_with", "");
  EXPECT_EQ(run_child_token(good.substr(0, good.size() - 8) + "00000000"), bad);  // wrong checksum
  EXPECT_EQ(run_child_token(good.substr(0, good.size() - 3)), bad);               // truncated
  EXPECT_EQ(run_child_token(forged_token("no_such_entry", "")), bad);
  EXPECT_EQ(run_child_token(forged_token("bad-name", "")), bad);
  EXPECT_EQ(run_child_token(forged_token("exit_with", "99.0.3.8")), bad);            // unknown kind
  EXPECT_EQ(run_child_token(forged_token("exit_with", segment + ".0.3")), bad);      // too few fields
  EXPECT_EQ(run_child_token(forged_token("exit_with", segment + ".0.3.8.9")), bad);  // too many fields
  EXPECT_EQ(run_child_token(forged_token("exit_with", segment + ".1.3.8")), bad);    // companions on a segment
  EXPECT_EQ(run_child_token(forged_token("exit_with", segment + ".0.03.8")), bad);   // leading zero
  EXPECT_EQ(run_child_token(forged_token("exit_with", segment + ".0.3.-8")), bad);   // sign
  EXPECT_EQ(run_child_token(forged_token("exit_with", segment + ".0.3.99999999999999999999")), bad);  // overflow
  EXPECT_EQ(run_child_token(forged_token("exit_with", segment + ".0.3.8,")), bad);                    // empty object
  EXPECT_EQ(run_child_token(forged_token("exit_with", segment + ".0.987654.8")), bad);  // not an open handle
}

TEST(ChildMain, ForgedHandlesAreRejected) {
  using interproc::detail::ObjectKind;
  using interproc::test::forged_token;
  using interproc::test::object_text;
  using interproc::test::run_child_token;
  const int bad = interproc::exit_bad_child_argument;
  SharedSegment s = SharedSegment::create(64);
  const std::string fields = interproc::test::segment_fields(s);
  const std::string object = object_text(ObjectKind::segment, fields);
  // A segment's handle listed twice, or presented as a mutex (with and without a companion),
  // or as larger than it is.
  EXPECT_EQ(run_child_token(forged_token("exit_with", object + "," + object)), bad);
  EXPECT_EQ(run_child_token(forged_token("exit_with", object_text(ObjectKind::mutex, fields))), bad);
  EXPECT_EQ(run_child_token(forged_token("exit_with", object_text(ObjectKind::mutex, fields + ".0", 1))), bad);
  const std::string handle = std::to_string(interproc::detail::SegmentAccess::handle(s));
  EXPECT_EQ(run_child_token(forged_token("exit_with", object_text(ObjectKind::segment, handle + ".999999999"))), bad);
}
