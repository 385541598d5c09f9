// SPDX-License-Identifier: MIT
#pragma once
// The seam between the process code written once (spawn_child and child_main in
// common/spawn.cpp, Child in common/child.cpp) and the backends: starting, waiting for and
// killing processes (posix/process_posix.cpp, win32/process_win.cpp), this program's own
// executable (executable_path_*.cpp) and its arguments as UTF-8 (text_*.cpp).

#include "common/deadline.hpp"
#include "common/native_handle.hpp"
#include "common/transfer.hpp"

#include <interproc/spawn.hpp>

#include <optional>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace interproc::detail {

// A started child as its backend knows it. What a Child owns.
struct ChildProcess {
  long pid = -1;
  ScopedHandle handle;           // the OS's process object where it names processes by one (Windows)
  std::optional<int> exit_code;  // once waited for
  bool own_group = false;        // POSIX: it leads a process group of its own (pgid == pid)
  ScopedHandle job;              // Windows: its own job object, for die_with_parent / own_process_group
  ScopedHandle link;             // POSIX forkserver child: the server's socket that reports its end, takes kills
  bool daemon = false;           // SpawnOptions::daemon: killed, not waited for, when its Child is destroyed
};

// This process's id, and whether the process `pid` has certainly ended (an exited process
// not yet reaped included); false while it runs or when the OS will not say. The barrier's
// party records use them: posix/liveness_posix.cpp, win32/process_win.cpp.
std::uint64_t current_process_id() noexcept;
bool process_has_ended(std::uint64_t pid) noexcept;

struct ChildAccess {
  static Child make(ChildProcess process, const SpawnOptions& options) {
    process.daemon = options.daemon;
    return Child(new ChildProcess(std::move(process)));
  }
};

// Starts `path` (UTF-8) as a spawn-style child running `token`, with `args` after the
// token argument and the guard marker added to the environment. `token` names the objects
// by this process's handles: the backend gives the child its own copies of exactly those
// (nothing else of the parent's), rewrites the token's handle fields (handle_fields) to the
// child's values, and passes it on. Throws std::system_error when the OS refuses or the
// executable cannot be run. `options` says how the child's life is tied to this process's
// (its method is the caller's business).
ChildProcess launch_spawn(const std::string& path, ChildToken token, const std::vector<std::string>& args,
                          const SpawnOptions& options);

// POSIX: forks; the child applies `options`, runs `body(data)` and leaves with
// _exit(body(data)). Windows: throws errc::not_supported.
ChildProcess launch_fork(int (*body)(void* data), void* data, const SpawnOptions& options);

// POSIX: asks this process's fork server (started on first use) to fork a child running
// `token` with `args`, the objects' handles travelling over its socket. Windows: throws
// errc::not_supported.
ChildProcess launch_forkserver(ChildToken token, const std::vector<std::string>& args, const SpawnOptions& options);

// Waits until `process` ends, or until `deadline` if there is one: its exit code (-N for
// signal N; -9 after kill_process on every OS), or std::nullopt once the deadline passed.
// Throws std::system_error when the OS fails the wait.
std::optional<int> wait_process(const ChildProcess& process, std::optional<Clock::time_point> deadline);

// Ends `process`, which has not been waited for, now (SIGKILL / TerminateProcess).
void kill_process(const ChildProcess& process);

// Asks `process`, which has not been waited for, to end: POSIX SIGTERM; Windows, which has
// no such request, ends it as kill_process does.
void terminate_process(const ChildProcess& process);

// Ends `process` and its descendants now where it has a group (POSIX) or job (Windows) of
// its own; otherwise as kill_process.
void kill_process_tree(const ChildProcess& process);

// The Child lets go of `process`, which has ended: Windows lifts kill-on-close from its job,
// so that closing the job does not end descendants that outlived it (as on POSIX).
void release_process(ChildProcess& process) noexcept;

// Runs `body` (a start of a die_with_parent child) where the child's tie to this process
// lasts as long as the process, and returns when it has run; rethrows what it threw. Linux
// ties the child to the starting *thread* (prctl(2) PR_SET_PDEATHSIG), so it runs there on
// one thread that lives as long as the process; elsewhere it runs on the calling thread.
void run_on_lasting_thread(const std::function<void()>& body);

// Child side, first thing in a spawn-style child: if the parent asked for die_with_parent
// (its launch_spawn left a marker in the environment), removes the marker and ties this
// process's life to the parent's; ends this process at once if the parent is already gone.
// Throws std::system_error: errc::bad_handle_argument for a marker it cannot use, the OS
// code when the OS refuses.
void follow_parent_lifetime();

// A child of the fork server, prepared in the server before fork(): its objects rebuilt from
// the token and checked, so that the forked child only runs its entry, as a fork-style child
// does. ready(): the objects were rebuilt and own the token's handles; otherwise run() reports
// why not and returns exit_bad_child_argument.
class PreparedChild {
 public:
  virtual ~PreparedChild() = default;
  virtual bool ready() const noexcept = 0;
  virtual int run() = 0;  // in the forked child: its exit code
};
using PrepareChild = std::unique_ptr<PreparedChild> (*)(const std::string& token, std::vector<std::string> args);

// Child side, in a process that child_main() found started as a fork server (its argument
// is forkserver_argument): forks children on the starting program's requests, each prepared
// by `prepare`, until that program ends; returns the server's exit code. A forked child runs
// its PreparedChild and leaves with _exit after flushing its output. Windows: throws
// errc::not_supported.
int serve_forks(PrepareChild prepare);

// Child side: the token text that child_main() found after child_flag, made whole (POSIX:
// the argument itself; Windows: read from where the parent put it).
std::string received_token(std::string_view argument);

// Set in a spawn-style child's environment by the parent and removed by child_main():
// a spawn_child() that still sees it runs in a child whose main() skipped the guard.
inline constexpr char guard_marker_name[] = "INTERPROC_SPAWNED_CHILD";
bool guard_marker_present() noexcept;
void remove_guard_marker() noexcept;

// This program's own executable, as an absolute UTF-8 path (never argv[0]).
std::string executable_path();

// main()'s arguments as UTF-8. Windows: from the UTF-16 command line when argv is this
// process's own (main()'s argv is in the ANSI code page); POSIX: argv as it is.
std::vector<std::string> program_arguments(int argc, char** argv);

}  // namespace interproc::detail
