// SPDX-License-Identifier: MIT
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <string>

using interproc::errc;
using interproc::SharedSegment;
using interproc::StartMethod;
namespace test = interproc::test;

namespace {

// A name unique to this test process, so parallel runs never collide.
std::string unique_name(const std::string& stem) {
  return stem + "." + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 100000000);
}

// Fills a segment with the byte pattern the child entries below check for.
void write_pattern(SharedSegment& s, unsigned char seed) {
  auto bytes = s.bytes();
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = std::byte(static_cast<unsigned char>(seed + i * 7));
}

bool has_pattern(const SharedSegment& s, unsigned char seed) {
  auto bytes = s.bytes();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != std::byte(static_cast<unsigned char>(seed + i * 7))) return false;
  }
  return true;
}

}  // namespace

// Checks the parent's pattern, then writes its own for the parent to read back.
INTERPROC_CHILD_ENTRY(segment_roundtrip) {
  SharedSegment& s = ctx.segment(0);
  if (!has_pattern(s, 1)) return 10;
  write_pattern(s, 2);
  return 0;
}

// Opens a named segment by the name in args[0] and writes a pattern into it.
INTERPROC_CHILD_ENTRY(segment_open_named) {
  SharedSegment s = SharedSegment::open_named(ctx.args().at(0));
  if (s.size() != std::stoul(ctx.args().at(1))) return 11;
  if (!has_pattern(s, 3)) return 12;
  write_pattern(s, 4);
  return 0;
}

TEST(SharedSegment, CreateIsZeroFilledWithTheRequestedSize) {
  SharedSegment s = SharedSegment::create(100);
  EXPECT_EQ(s.size(), 100u);
  ASSERT_EQ(s.bytes().size(), 100u);
  EXPECT_TRUE(std::all_of(s.bytes().begin(), s.bytes().end(), [](std::byte b) { return b == std::byte{0}; }));
  s.bytes()[99] = std::byte{42};
  EXPECT_EQ(s.bytes()[99], std::byte{42});
}

TEST(SharedSegment, MoveLeavesAnEmptySegment) {
  SharedSegment a = SharedSegment::create(64);
  a.bytes()[0] = std::byte{7};
  SharedSegment b = std::move(a);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): the documented moved-from state
  EXPECT_FALSE(a);
  EXPECT_EQ(b.bytes()[0], std::byte{7});
  a = std::move(b);
  EXPECT_EQ(a.bytes()[0], std::byte{7});
}

TEST(SharedSegment, ZeroAndImpossibleSizesAreRejected) {
  EXPECT_SYSTEM_ERROR(SharedSegment::create(0), errc::invalid_size, "size 0");
  EXPECT_SYSTEM_ERROR(SharedSegment::create(std::numeric_limits<std::size_t>::max()), errc::invalid_size,
                      "exceeds the address space");
  EXPECT_SYSTEM_ERROR(SharedSegment::create_named(unique_name("zero"), 0), errc::invalid_size, "size 0");
}

TEST(SharedSegment, SizesBeyondTheOsLimitGiveAnOsError) {
  // 2^62 bytes: below the library's own bound, beyond any 64-bit address space in use.
  try {
    SharedSegment s = SharedSegment::create(std::size_t{1} << 62);
    ADD_FAILURE() << "an OS mapped 4 EiB";
  } catch (const std::system_error& e) {
    EXPECT_NE(e.code().category(), interproc::error_category()) << e.what();
    EXPECT_FALSE(std::string(e.what()).empty());
  }
}

TEST(SharedSegment, OneGibibyteCreatesAndMaps) {
  SharedSegment s = SharedSegment::create(std::size_t{1} << 30);
  ASSERT_EQ(s.size(), std::size_t{1} << 30);
  s.bytes()[0] = std::byte{1};
  s.bytes()[s.size() - 1] = std::byte{2};
  EXPECT_EQ(s.bytes()[s.size() - 1], std::byte{2});
}

TEST(SharedSegment, AnonymousSegmentIsSharedWithASpawnedChild) {
  SharedSegment s = SharedSegment::create(10000);
  write_pattern(s, 1);
  interproc::Child child = interproc::spawn_child("segment_roundtrip", {}, {s});
  EXPECT_EQ(child.wait(), 0);
  EXPECT_TRUE(has_pattern(s, 2));
}

TEST(SharedSegment, AnonymousSegmentIsSharedWithAForkedChild) {
  if (test::is_windows()) GTEST_SKIP() << "fork is POSIX-only";
  SharedSegment s = SharedSegment::create(5000);
  write_pattern(s, 1);
  EXPECT_EQ(interproc::spawn_child("segment_roundtrip", {}, {s}, StartMethod::fork).wait(), 0);
  EXPECT_TRUE(has_pattern(s, 2));
}

TEST(SharedSegment, NamedSegmentIsSharedByName) {
  const std::string name = unique_name("ip-test");
  SharedSegment s = SharedSegment::create_named(name, 3000);
  write_pattern(s, 3);
  EXPECT_EQ(interproc::spawn_child("segment_open_named", {name, "3000"}).wait(), 0);
  EXPECT_TRUE(has_pattern(s, 4));
  EXPECT_TRUE(SharedSegment::remove_named(name));
}

TEST(SharedSegment, OpenNamedLearnsTheSize) {
  const std::string name = unique_name("ip-size");
  SharedSegment created = SharedSegment::create_named(name, 12345);
  SharedSegment opened = SharedSegment::open_named(name);
  EXPECT_EQ(opened.size(), 12345u);
  created.bytes()[12344] = std::byte{9};
  EXPECT_EQ(opened.bytes()[12344], std::byte{9});
  EXPECT_TRUE(SharedSegment::remove_named(name));
}

TEST(SharedSegment, NamedSegmentIsOwnerOnly) {
  const std::string name = unique_name("ip-perm");
  SharedSegment s = SharedSegment::create_named(name, 100);
  EXPECT_EQ(test::named_segment_access_bits(name), 0600);
  SharedSegment::remove_named(name);
}

TEST(SharedSegment, CreatingAnExistingNameFails) {
  const std::string name = unique_name("ip-excl");
  SharedSegment s = SharedSegment::create_named(name, 100);
  EXPECT_SYSTEM_ERROR(SharedSegment::create_named(name, 100), std::errc::file_exists, name);
  SharedSegment::remove_named(name);
}

TEST(SharedSegment, OpeningAMissingNameFails) {
  EXPECT_SYSTEM_ERROR(SharedSegment::open_named("ip-never-created"), std::errc::no_such_file_or_directory,
                      "ip-never-created");
}

TEST(SharedSegment, RemoveReportsWhetherTheNameExisted) {
  const std::string name = unique_name("ip-rm");
  { SharedSegment s = SharedSegment::create_named(name, 100); }
  if (test::is_windows()) {
    // A Windows section disappears with its last handle: nothing remains to remove.
    EXPECT_FALSE(SharedSegment::remove_named(name));
    return;
  }
  EXPECT_TRUE(SharedSegment::remove_named(name));
  EXPECT_FALSE(SharedSegment::remove_named(name));
}

TEST(SharedSegment, BadNamesAreRejectedTheSameWayEverywhere) {
  EXPECT_SYSTEM_ERROR(SharedSegment::create_named("", 10), errc::invalid_name, "empty name");
  EXPECT_SYSTEM_ERROR(SharedSegment::create_named(std::string(31, 'a'), 10), errc::name_too_long, "31 characters");
  EXPECT_SYSTEM_ERROR(SharedSegment::open_named("a/b"), errc::invalid_name, "'/'");
  EXPECT_SYSTEM_ERROR(SharedSegment::open_named("a b"), errc::invalid_name, "' '");
  EXPECT_SYSTEM_ERROR(SharedSegment::open_named("a\\b"), errc::invalid_name, "'\\'");
  EXPECT_SYSTEM_ERROR(SharedSegment::remove_named(".."), errc::invalid_name, "reserved");
  EXPECT_SYSTEM_ERROR(SharedSegment::remove_named("x:y"), errc::invalid_name, "':'");
  EXPECT_NO_THROW(SharedSegment::remove_named(std::string(30, 'a')));
}

TEST(SharedSegment, CreateAndDestroyLeakNoHandles) {
  const std::size_t before = test::open_handle_count();
  for (int i = 0; i < 200; ++i) {
    SharedSegment s = SharedSegment::create(4096);
    SharedSegment moved = std::move(s);
  }
  const std::string name = unique_name("ip-leak");
  for (int i = 0; i < 50; ++i) {
    SharedSegment s = SharedSegment::create_named(name, 4096);
    SharedSegment o = SharedSegment::open_named(name);
    SharedSegment::remove_named(name);
  }
  try {
    SharedSegment::open_named("ip-never-created");
  } catch (const std::system_error&) {
  }
  EXPECT_EQ(test::open_handle_count(), before);
}
