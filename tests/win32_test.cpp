// SPDX-License-Identifier: MIT
// Windows-only tests: what the Win32 backend promises beyond the portable tests.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include "common/segment_backend.hpp"

#include <gtest/gtest.h>

#include <windows.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using interproc::Child;
using interproc::spawn_child;
using namespace std::chrono_literals;
namespace test = interproc::test;

INTERPROC_CHILD_ENTRY(win32_hang) { test::hang(); }

INTERPROC_CHILD_ENTRY(win32_exit_one) { return 1; }

// kill() ends a child with an exit code of its own, reported as -9 like SIGKILL on POSIX,
// so a killed child is never taken for one whose entry returned 1.
TEST(Win32Kill, KilledChildReportsMinusNine) {
  Child child = spawn_child("win32_hang");
  EXPECT_EQ(child.wait_for(50ms), std::nullopt);
  child.kill();
  EXPECT_EQ(child.wait_for(10s), std::optional<int>(-9));
  EXPECT_EQ(child.wait(), -9);
}

TEST(Win32Kill, EntryReturningOneReportsOne) {
  Child child = spawn_child("win32_exit_one");
  EXPECT_EQ(child.wait(), 1);
  Child waited_for = spawn_child("win32_exit_one");
  EXPECT_EQ(waited_for.wait_for(30s), std::optional<int>(1));
}

namespace {

// A named section planted the way another user's would look to us: a DACL that grants
// nobody anything. The handle that created it keeps it alive.
class PlantedSection {
 public:
  explicit PlantedSection(const std::string& name) {
    InitializeAcl(reinterpret_cast<ACL*>(acl_), sizeof acl_, ACL_REVISION);
    InitializeSecurityDescriptor(&descriptor_, SECURITY_DESCRIPTOR_REVISION);
    SetSecurityDescriptorDacl(&descriptor_, TRUE, reinterpret_cast<ACL*>(acl_), FALSE);
    SECURITY_ATTRIBUTES attributes{sizeof attributes, &descriptor_, FALSE};
    const std::wstring wide = L"Local\\interproc." + std::wstring(name.begin(), name.end());
    handle_ = CreateFileMappingW(INVALID_HANDLE_VALUE, &attributes, PAGE_READWRITE, 0, 4096, wide.c_str());
  }
  PlantedSection(const PlantedSection&) = delete;
  PlantedSection& operator=(const PlantedSection&) = delete;
  ~PlantedSection() {
    if (handle_ != nullptr) CloseHandle(handle_);
  }
  bool valid() const { return handle_ != nullptr; }

 private:
  alignas(DWORD) unsigned char acl_[64];
  SECURITY_DESCRIPTOR descriptor_{};
  HANDLE handle_ = nullptr;
};

std::string unique_name(const char* prefix) {
  return std::string(prefix) + "." + std::to_string(GetCurrentProcessId()) + "." + std::to_string(GetTickCount());
}

}  // namespace

TEST(Win32Segment, NameHeldByAnotherUserIsReportedAsExisting) {
  const std::string name = unique_name("ip-denied");
  PlantedSection planted(name);
  ASSERT_TRUE(planted.valid()) << "CreateFileMappingW failed: " << GetLastError();
  EXPECT_SYSTEM_ERROR(interproc::SharedSegment::create_named(name, 64), std::errc::file_exists, "CreateFileMappingW(");
  try {
    interproc::SharedSegment opened = interproc::SharedSegment::open_named(name);
    ADD_FAILURE() << "open_named mapped a section that grants nobody access";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("OpenFileMappingW("), std::string::npos) << e.what();
  }
  EXPECT_TRUE(interproc::SharedSegment::remove_named(name)) << "the name exists";
}

// ---- no inheritable handle of a shared object ever exists ----

namespace {

// Whether some handle of this process (values 4..4096) is a section whose first bytes are
// `cookie`.
bool some_section_starts_with(const std::string& cookie) {
  for (std::uintptr_t value = 4; value <= 4096; value += 4) {
    const auto h = reinterpret_cast<HANDLE>(value);
    DWORD flags = 0;
    if (!GetHandleInformation(h, &flags)) continue;
    void* view = MapViewOfFile(h, FILE_MAP_READ, 0, 0, cookie.size());  // fails for anything but a section
    if (view == nullptr) continue;
    const bool found = std::memcmp(view, cookie.data(), cookie.size()) == 0;
    UnmapViewOfFile(view);
    if (found) return true;
  }
  return false;
}

std::string make_cookie() {
  return "interproc-cookie." + std::to_string(GetCurrentProcessId()) + "." + std::to_string(GetTickCount64());
}

interproc::SharedSegment segment_with(const std::string& cookie) {
  interproc::SharedSegment segment = interproc::SharedSegment::create(4096);
  std::memcpy(segment.bytes().data(), cookie.data(), cookie.size());
  return segment;
}

}  // namespace

INTERPROC_CHILD_ENTRY(win32_has_cookie) {
  const std::string& cookie = ctx.args().at(0);
  return std::memcmp(ctx.segment(0).bytes().data(), cookie.data(), cookie.size()) == 0 ? 0 : 1;
}

// Run by the tests below through an ordinary CreateProcessW with bInheritHandles TRUE and
// no handle list, as system() or _popen start programs; skipped when run directly.
TEST(Win32Inheritance, ProbeFindsNoCookie) {
  const char* cookie = std::getenv("INTERPROC_TEST_PROBE");
  if (cookie == nullptr || *cookie == '\0') GTEST_SKIP() << "only run as a child of the inheritance tests";
  EXPECT_FALSE(some_section_starts_with(cookie)) << "this process inherited a section holding the cookie";
}

// The probe works: a section made inheritable on purpose is found.
TEST(Win32Inheritance, ProbeFindsAnInheritableSection) {
  const std::string cookie = make_cookie();
  const interproc::SharedSegment segment = segment_with(cookie);
  HANDLE inheritable = nullptr;
  ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(),
                              reinterpret_cast<HANDLE>(interproc::detail::SegmentAccess::handle(segment)),
                              GetCurrentProcess(), &inheritable, 0, TRUE, DUPLICATE_SAME_ACCESS));
  EXPECT_NE(test::run_unrelated_child({"--gtest_filter=Win32Inheritance.ProbeFindsNoCookie"}, cookie), 0);
  CloseHandle(inheritable);
}

// While one thread passes a segment to children, another starts unrelated programs that
// inherit every inheritable handle: none of them may ever catch the segment.
TEST(Win32Inheritance, UnrelatedProgramsNeverCatchPassedObjects) {
  const std::string cookie = make_cookie();
  const interproc::SharedSegment segment = segment_with(cookie);
  std::atomic<bool> spawning{true};
  int spawns = 0;
  int spawn_failures = 0;
  std::thread spawner([&] {
    const auto end = std::chrono::steady_clock::now() + 4s;
    for (; spawns < 60 && std::chrono::steady_clock::now() < end; ++spawns) {
      spawn_failures += spawn_child("win32_has_cookie", {cookie}, {segment}).wait() != 0;
    }
    spawning = false;
  });
  int probes = 0;
  int caught = 0;
  for (; spawning && probes < 60; ++probes) {
    caught += test::run_unrelated_child({"--gtest_filter=Win32Inheritance.ProbeFindsNoCookie"}, cookie) != 0;
  }
  spawner.join();
  EXPECT_EQ(spawn_failures, 0) << spawns << " spawns";
  EXPECT_EQ(caught, 0) << caught << " of " << probes << " unrelated programs caught the segment";
  EXPECT_GT(spawns, 0);
  EXPECT_GT(probes, 0);
}

// ---- the tests' proof that a child holds its parent's object ----

// args: a handle value of the parent's. Makes handles of its own until one takes that
// value, which must not be taken for the parent's object.
INTERPROC_CHILD_ENTRY(win32_own_handle_at) {
  const auto value = static_cast<std::intptr_t>(std::stoll(ctx.args().at(0)));
  std::vector<HANDLE> own;
  while (!test::handle_is_open(value) && own.size() < 4096) own.push_back(CreateEventW(nullptr, FALSE, FALSE, nullptr));
  const int result = !test::handle_is_open(value) ? 2 : test::holds_parent_handle(value) ? 1 : 0;
  for (const HANDLE h : own) CloseHandle(h);
  return result;
}

// args: a handle value of the parent's for the segment this child received (under a value
// of its own).
INTERPROC_CHILD_ENTRY(win32_holds_parent) {
  return test::holds_parent_handle(static_cast<std::intptr_t>(std::stoll(ctx.args().at(0)))) ? 0 : 1;
}

TEST(Win32Proof, ChildsOwnHandleOfTheSameValueIsNotTheParentsObject) {
  const interproc::SharedSegment kept = interproc::SharedSegment::create(64);
  const auto value = std::to_string(interproc::detail::SegmentAccess::handle(kept));
  EXPECT_EQ(spawn_child("win32_own_handle_at", {value}).wait(), 0) << "1: fooled; 2: value " << value << " not reached";
}

TEST(Win32Proof, ParentsObjectIsFoundUnderTheChildsValue) {
  const interproc::SharedSegment passed = interproc::SharedSegment::create(64);
  const auto value = std::to_string(interproc::detail::SegmentAccess::handle(passed));
  EXPECT_EQ(spawn_child("win32_holds_parent", {value}, {passed}).wait(), 0);
}

// ---- leak tests count handles after a warm-up spawn ----

namespace interproc::test {
int handle_count_warm_up_result();  // test_os_win.cpp: the warm-up child's exit code, -1 before
}

// Windows opens and caches handles lazily on a process's first CreateProcessW; a baseline
// taken before any spawn would count them as leaked. The first count spawns once first.
TEST(Win32HandleCount, FirstCountFollowsAWarmUpSpawn) {
  const std::size_t before = test::open_handle_count();
  EXPECT_EQ(test::handle_count_warm_up_result(), 0) << "no warm-up spawn before the first count";
  EXPECT_EQ(spawn_child("win32_exit_one").wait(), 1);
  EXPECT_EQ(test::open_handle_count(), before);
}
