// SPDX-License-Identifier: MIT
// Read-only sharing (SharedSegment / SharedValue / SharedArray ::read_only): a child reads
// the bytes, a real store faults in a real child, and the mapping cannot be made writable,
// under every start method this OS has.
#include "support/expect.hpp"
#include "support/forged_token.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>

using interproc::errc;
using interproc::SharedArray;
using interproc::SharedSegment;
using interproc::SharedValue;
using interproc::spawn_child;
using interproc::StartMethod;
namespace test = interproc::test;

namespace {

constexpr std::size_t segment_bytes = 10000;  // more than a page: the record's page is not the first

void fill(SharedSegment& s) {
  auto bytes = s.bytes();
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = std::byte(static_cast<unsigned char>(i * 13 + 5));
}

bool filled(const SharedSegment& s) {
  auto bytes = s.bytes();
  for (std::size_t i = 0; i < bytes.size(); ++i)
    if (bytes[i] != std::byte(static_cast<unsigned char>(i * 13 + 5))) return false;
  return true;
}

// A real store, which the compiler may not drop: the child dies of it if the page is read-only.
void store_into(void* address) {
  test::let_faults_kill();
  *static_cast<volatile unsigned char*>(address) = 0x5a;
}

// 0 if the mapping cannot be made writable, nor the segment mapped anew for writing.
int denied(void* address, std::size_t size, const SharedSegment* segment = nullptr) {
  const int error = test::make_writable(address, size);
  if (error == 0) return 30;  // the child made the mapping writable
  if (!test::is_write_refusal(error)) return 31;
  if (segment == nullptr) return 0;
  const int mapped = test::map_for_writing(interproc::detail::SegmentAccess::handle(*segment), segment->size());
  if (mapped == 0) return 32;  // its handle maps for writing
  return test::is_write_refusal(mapped) ? 0 : 33;
}

std::string method_name(StartMethod method) {
  return method == StartMethod::fork ? "fork" : method == StartMethod::spawn ? "spawn" : "forkserver";
}

}  // namespace

INTERPROC_CHILD_ENTRY(read_only_reads) {
  SharedSegment& s = ctx.segment(0);
  if (!s.is_read_only()) return 10;
  if (s.size() != segment_bytes) return 11;
  return filled(s) ? 0 : 12;
}

INTERPROC_CHILD_ENTRY(read_only_stores) {
  SharedSegment& s = ctx.segment(0);
  store_into(s.bytes().data() + s.size() / 2);
  return 20;  // not reached: the store faults
}

INTERPROC_CHILD_ENTRY(read_only_unprotects) {
  SharedSegment& s = ctx.segment(0);
  return denied(s.bytes().data(), s.size(), &s);
}

// Passes its read-only segment on to a grandchild of the same start method, as given.
INTERPROC_CHILD_ENTRY(read_only_passes_on) {
  const auto method = static_cast<StartMethod>(std::stoi(ctx.args().at(0)));
  SharedSegment& s = ctx.segment(0);
  int reads = spawn_child("read_only_reads", {}, {s}, method).wait();
  int stores = spawn_child("read_only_stores", {}, {s}, method).wait();
  if (reads != 0) return 40;
  return test::is_memory_fault(stores) ? 0 : 41;
}

INTERPROC_CHILD_ENTRY(read_only_value) {
  SharedValue<long>& v = ctx.value<long>(0);
  if (!v.is_read_only()) return 10;
  const long seen = v.with_lock([](long& x) { return x; });  // the lock works
  if (seen != 4242) return 11;
  if (ctx.args().at(0) == "store") store_into(&v.value());
  return denied(&v.value(), sizeof(long));
}

INTERPROC_CHILD_ENTRY(read_only_array) {
  SharedArray<int>& a = ctx.array<int>(0);
  if (!a.is_read_only() || a.size() != 3000) return 10;
  if (a.with_lock([](gsl::span<int> s) { return s[2999]; }) != 2999) return 11;
  if (ctx.args().at(0) == "store") store_into(&a.span()[1500]);
  return denied(a.span().data(), a.size() * sizeof(int));
}

// Runs child_main on a token that marks this process's writable descriptor read-only.
INTERPROC_CHILD_ENTRY(read_only_forged) {
  SharedSegment writable = SharedSegment::create(segment_bytes);
  const std::string kind =
      std::to_string(static_cast<int>(interproc::detail::ObjectKind::segment) + interproc::detail::read_only_kind_bit);
  const std::string fields = test::segment_fields(writable);
  interproc::detail::SegmentAccess::forget(writable);  // the token hands its descriptor over
  return test::run_child_token(test::forged_token("read_only_reads", kind + "." + fields));
}

TEST(ReadOnly, AChildReadsTheBytesAndItsObjectSaysReadOnly) {
  for (StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    SharedSegment data = SharedSegment::create(segment_bytes);
    fill(data);
    EXPECT_EQ(spawn_child("read_only_reads", {}, {data.read_only()}, method).wait(), 0);
    EXPECT_FALSE(data.is_read_only());
  }
}

TEST(ReadOnly, AStoreInTheChildFaultsAndChangesNothing) {
  for (StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    SharedSegment data = SharedSegment::create(segment_bytes);
    fill(data);
    const int code = spawn_child("read_only_stores", {}, {data.read_only()}, method).wait();
    EXPECT_TRUE(test::is_memory_fault(code)) << "exit code " << code;
    EXPECT_TRUE(filled(data));
    data.bytes()[0] = std::byte{1};  // the parent's own mapping stays writable
  }
}

TEST(ReadOnly, TheChildCannotMakeItsMappingWritable) {
  for (StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    SharedSegment data = SharedSegment::create(segment_bytes);
    EXPECT_EQ(spawn_child("read_only_unprotects", {}, {data.read_only()}, method).wait(), 0);
  }
}

TEST(ReadOnly, ANamedSegmentIsSharedReadOnlyToo) {
  const std::string name = "ro." + std::to_string(test::current_pid());
  SharedSegment::remove_named(name);
  SharedSegment created = SharedSegment::create_named(name, segment_bytes);
  fill(created);
  SharedSegment opened = SharedSegment::open_named(name);
  SharedSegment::remove_named(name);  // the read-only handle needs no name any more
  for (const SharedSegment* s : {&created, &opened}) {
    EXPECT_EQ(spawn_child("read_only_reads", {}, {s->read_only()}).wait(), 0);
    EXPECT_TRUE(test::is_memory_fault(spawn_child("read_only_stores", {}, {s->read_only()}).wait()));
    EXPECT_EQ(spawn_child("read_only_unprotects", {}, {s->read_only()}).wait(), 0);
  }
}

TEST(ReadOnly, AReadOnlySegmentPassedOnStaysReadOnly) {
  for (StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    SharedSegment data = SharedSegment::create(segment_bytes);
    fill(data);
    const std::string how = std::to_string(static_cast<int>(method));
    EXPECT_EQ(spawn_child("read_only_passes_on", {how}, {data.read_only()}, method).wait(), 0);
    EXPECT_TRUE(filled(data));
  }
}

TEST(ReadOnly, AValueAndAnArrayAreReadOnlyWithAWorkingLock) {
  for (StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    auto value = SharedValue<long>::create(4242);
    auto array = SharedArray<int>::create(3000);
    for (std::size_t i = 0; i < array.size(); ++i) array.span()[i] = static_cast<int>(i);
    EXPECT_EQ(spawn_child("read_only_value", {"read"}, {value.read_only()}, method).wait(), 0);
    EXPECT_EQ(spawn_child("read_only_array", {"read"}, {array.read_only()}, method).wait(), 0);
    EXPECT_TRUE(test::is_memory_fault(spawn_child("read_only_value", {"store"}, {value.read_only()}, method).wait()));
    EXPECT_TRUE(test::is_memory_fault(spawn_child("read_only_array", {"store"}, {array.read_only()}, method).wait()));
    EXPECT_EQ(value.value(), 4242);
    EXPECT_EQ(array.span()[1500], 1500);
    value.with_lock([](long& x) { x = 1; });  // the lock is free again, and the parent writes
  }
}

// A token's read-only mark belongs only to kinds with data, and on POSIX only to a
// descriptor without write access: a forged one is refused before any entry runs.
TEST(ReadOnly, AForgedReadOnlyMarkIsRefused) {
  using interproc::detail::ObjectKind;
  using interproc::detail::read_only_kind_bit;
  const std::string mutex_kind = std::to_string(static_cast<int>(ObjectKind::mutex) + read_only_kind_bit);
  EXPECT_EQ(test::run_child_token(test::forged_token("read_only_reads", mutex_kind + ".5.64.0")),
            interproc::exit_bad_child_argument);
  if (!test::is_windows()) {  // a child given a writable descriptor marked read-only refuses it
    EXPECT_EQ(spawn_child("read_only_forged").wait(), interproc::exit_bad_child_argument);
  }
}
