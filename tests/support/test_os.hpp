// SPDX-License-Identifier: MIT
#pragma once
// What the tests need to ask the OS directly, with one implementation per OS
// (test_os_posix.cpp, test_os_win.cpp), so the test files themselves stay portable.

#include <interproc/spawn.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace interproc::test {

// `base` with a suffix that no other test, nor another run of the tests at the same time,
// uses: short enough for a queue's name (at most 25 characters with a base of 8).
inline std::string unique_name(const std::string& base) {
  static std::atomic<int> counter{0};
  const auto clock = std::chrono::steady_clock::now().time_since_epoch().count() % 10000000;
  return base + "." + std::to_string(clock) + "." + std::to_string(counter++);
}

// Open file descriptors (POSIX) or handles (Windows) of this process. Windows: every handle
// value (multiples of 4) is probed with GetHandleInformation up to handle_probe_limit, since
// GetProcessHandleCount reports 0 under Wine.
std::size_t open_handle_count();
inline constexpr std::uintptr_t handle_probe_limit = 1 << 16;
// CPU time (user and kernel) this process has used so far.
std::chrono::milliseconds cpu_time();
// Whether `handle` (an fd or HANDLE value) is open in this process.
bool handle_is_open(std::intptr_t handle);
// Whether this process holds the very object its parent holds as `parent_handle`. POSIX:
// whether that descriptor is open (inherited descriptors keep their numbers). Windows: a
// handle of this process may take the same value for an object of its own, so it asks
// whether any handle here refers to the parent's object (CompareObjectHandles).
bool holds_parent_handle(std::intptr_t parent_handle);
// POSIX: the permission bits of the named segment; Windows: 0600 if its DACL grants
// access to the current user only, else 0777. -1 if it cannot be opened.
int named_segment_access_bits(const std::string& name);
// Whether this test binary was built for Windows (test_os_win.cpp); true under Wine too.
bool is_windows();

// This process's id.
long current_pid();
// POSIX: the id of this process's parent (a forkserver child's is its server); Windows: -1.
long parent_pid();
// The start methods this OS has: spawn, fork and forkserver on POSIX, spawn on Windows.
inline std::vector<StartMethod> start_methods() {
  if (is_windows()) return {StartMethod::spawn};
  return {StartMethod::spawn, StartMethod::fork, StartMethod::forkserver};
}
// Sets a variable in this process's environment, where spawn_child reads it (POSIX setenv,
// Windows SetEnvironmentVariableW).
void set_environment_variable(const std::string& name, const std::string& value);
// Writes `size` bytes to `handle` (a descriptor / HANDLE) as they are, past any framing:
// for tests that forge what a peer sends. True if all were written.
bool write_raw(std::intptr_t handle, const void* bytes, std::size_t size);
// Sleeps forever (a child waiting to be killed).
[[noreturn]] void hang();
// Ends this process at once the way a crash would (SIGKILL / TerminateProcess).
[[noreturn]] void die_abruptly();
// Whether process `pid` is running; a POSIX zombie (ended, not reaped) counts as gone.
bool process_exists(long pid);
// Whether process `pid` has ended within `timeout` (looking every 20 ms).
inline bool gone_within(long pid, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (process_exists(pid)) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}
// Ends process `pid` (SIGKILL / TerminateProcess), for a process no Child owns.
void kill_by_pid(long pid);
// POSIX: this process ignores SIGTERM from now on. Windows: nothing (there is no such request).
void ignore_terminate_request();
// POSIX: this process exits with `code` on SIGTERM. Windows: nothing.
void exit_on_terminate_request(int code);

}  // namespace interproc::test

namespace interproc::test {

// Starts this test binary with `args` the way an unrelated program would: POSIX
// posix_spawn with no file actions (every descriptor without FD_CLOEXEC is inherited),
// Windows CreateProcessW with bInheritHandles = TRUE, and INTERPROC_TEST_PROBE set to
// `probe` in its environment. `program` runs instead of this binary when given. Returns
// its exit code.
int run_unrelated_child(const std::vector<std::string>& args, const std::string& probe,
                        const std::string& program = "");
// POSIX as root: runs `body` in a forked process that has become user "nobody" with a
// process limit (RLIMIT_NPROC) it already exceeds, and returns body's result; std::nullopt
// where that cannot be tried (not root, or Windows).
std::optional<int> run_with_process_limit(int (*body)());
// A copy of this test binary named `file_name` (UTF-8), beside it so that a shared build
// still finds its libraries; returns its path.
std::string copy_of_self(const std::string& file_name);
// Deletes a file named by a UTF-8 path; false if it could not.
bool remove_file(const std::string& path);
// Renames a file named by a UTF-8 path (Windows: a running program's too); false if it could not.
bool rename_file(const std::string& from, const std::string& to);
// POSIX: writes an executable shell script to `path` that exits with `code`, and another of
// the same code at "<path> (deleted)", the name Linux shows for a replaced executable.
void write_script(const std::string& path, int code);
// Whether a spawn-style child runs this process's own image even after its file was
// deleted or replaced (Linux: /proc/self/exe); elsewhere the path is run as it now is.
bool spawns_running_image();
// Children of this process that have ended but were never waited for (POSIX zombies);
// 0 on Windows, where an ended process holds no slot.
int unreaped_children();
// Names that anonymous segments left in the OS namespace (/dev/shm entries starting with
// "interproc-"); empty where there is no such directory to list.
std::vector<std::string> leftover_anonymous_names();
// Names of grown pool arenas (/dev/shm entries "ip<nonce>.<slot><i|o><generation>"); empty
// where there is no listing (Windows removes a section with its last handle).
std::vector<std::string> pool_arena_names();
// The arena names not in `before` that last: still there after up to 10 s of waiting for
// them to go, since pools of tests running at the same time make and remove names too.
std::vector<std::string> lasting_new_pool_arena_names(const std::vector<std::string>& before);
// POSIX: lowers this process's soft RLIMIT_NOFILE so that it can open only `spare` more
// descriptors; false where that cannot be done (Windows has no such per-process limit to
// lower). allow_new_descriptors() puts the soft limit back.
bool forbid_new_descriptors(int spare = 0);
void allow_new_descriptors();
// POSIX as root: whether a process running as user "nobody" can open the named segment
// for reading. std::nullopt where that cannot be tried (not root, or Windows).
std::optional<bool> other_user_can_open(const std::string& name);

}  // namespace interproc::test

namespace interproc::test {

// Whether an owner thread that ends while its process lives on is detected (Linux robust
// futexes, Windows thread handles); the portable owner word sees only processes end.
bool thread_end_detected();
// A new file holding `text`, padded with zeros to `size` bytes; returns its path.
std::string temporary_file_with(const std::string& text, std::size_t size);
// Opens a file read-write, inheritable (no close-on-exec); returns the fd / HANDLE, -1 on failure.
std::intptr_t open_read_write(const std::string& path);
void close_handle(std::intptr_t handle);
// POSIX: runs this test binary with `args`, INTERPROC_TEST_PROBE=`probe` and descriptors
// 0, 1 and 2 closed; returns its exit code. std::nullopt on Windows.
std::optional<int> run_with_closed_standard_streams(const std::vector<std::string>& args, const std::string& probe);
// POSIX as root: runs `body` in a forked process with its own mount namespace whose
// /dev/shm is a 1 MiB tmpfs, and returns its result. std::nullopt where that cannot be done.
std::optional<int> run_with_small_shm(int (*body)());
// POSIX: runs `body` in a forked process under umask `mask`; std::nullopt on Windows.
std::optional<int> run_with_umask(unsigned mask, int (*body)());
// POSIX: creates a shared-memory object of that name, as another program could, that
// group and others can write (mode 0666); false where that cannot be done.
bool plant_world_writable_segment(const std::string& name);
// What plant_at_name puts where a named object would be, as another program could.
enum class Planted { fifo, directory, symlink, socket, empty_file, unrecorded_file };
// Linux: plants `what` in /dev/shm (where glibc's shm_open keeps names, for the portable
// build too) at `name`; false where names are no files.
bool plant_at_name(const std::string& name, Planted what);
// Whether fstat on a shm object reports its times (macOS's pshm_stat zeroes them).
bool shm_objects_have_times();
// Removes what plant_at_name planted.
void remove_planted(const std::string& name);
// POSIX as root: creates the named segment (64 bytes) with interproc as user "nobody".
// std::nullopt where that cannot be tried.
std::optional<bool> segment_created_by_other_user(const std::string& name);

}  // namespace interproc::test

namespace interproc::test {

// Linux: from now on, this process is killed (SIGSYS) on entry to any futex(FUTEX_WAKE),
// through a seccomp-BPF filter, so a test can stop a waker between its state change and its
// wake system call. false where that cannot be done (other OSes, or seccomp refused).
bool die_at_next_futex_wake();

}  // namespace interproc::test

namespace interproc::test {

// From now on a memory fault ends this process the OS's way (POSIX: SIGSEGV / SIGBUS back
// to SIG_DFL, past a sanitizer's handler; Windows: no error dialog), so a test can see it.
void let_faults_kill();
// Whether `code`, a Child::wait() result, is the OS's ending for a memory fault: -SIGSEGV
// or -SIGBUS, or the access violation 0xC0000005 on Windows.
bool is_memory_fault(int code);
// Asks the OS to make `size` bytes at `address` writable (mprotect PROT_READ | PROT_WRITE /
// VirtualProtect PAGE_READWRITE); 0 if it did, else the OS's error (errno / GetLastError).
int make_writable(void* address, std::size_t size);
// Maps the shared memory object `handle` (an fd / section HANDLE) for writing and unmaps it
// again (mmap PROT_READ | PROT_WRITE, MAP_SHARED / MapViewOfFile FILE_MAP_WRITE); 0 if that
// worked, else the OS's error.
int map_for_writing(std::intptr_t handle, std::size_t size);
// Whether `error`, from make_writable or map_for_writing, is the OS refusing write access to
// memory of a read-only handle: EACCES (mmap(2), mprotect(2)); Windows ERROR_ACCESS_DENIED,
// or ERROR_INVALID_PARAMETER, which Wine's VirtualProtect reports.
bool is_write_refusal(int error);

}  // namespace interproc::test
