// Windows-only tests: what the Win32 backend promises beyond the portable tests.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <windows.h>

#include <chrono>
#include <string>

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
