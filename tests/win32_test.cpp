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
