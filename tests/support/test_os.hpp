#pragma once
// What the tests need to ask the OS directly, with one implementation per OS
// (test_os_posix.cpp, test_os_win.cpp), so the test files themselves stay portable.

#include <cstddef>
#include <cstdint>
#include <string>

namespace interproc::test {

// Open file descriptors (POSIX) or handles (Windows) of this process.
std::size_t open_handle_count();
// Whether `handle` (an fd or HANDLE value) is open in this process.
bool handle_is_open(std::intptr_t handle);
// POSIX: the permission bits of the named segment; Windows: 0600 if its DACL grants
// access to the current user only, else 0777. -1 if it cannot be opened.
int named_segment_access_bits(const std::string& name);
// Whether this build runs under the portable POSIX or the Windows owner-word mutex.
bool is_windows();
// Sleeps forever (a child waiting to be killed).
[[noreturn]] void hang();
// Ends this process at once the way a crash would (SIGKILL / TerminateProcess).
[[noreturn]] void die_abruptly();

}  // namespace interproc::test
