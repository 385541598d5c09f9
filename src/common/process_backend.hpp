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

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace interproc::detail {

// Per backend: I/O on a child's pipes still under way (Windows: overlapped reads and
// writes); POSIX has none. Destroying it cancels and finishes that I/O.
struct PendingPipeIo;
struct PendingPipeIoDeleter {
  void operator()(PendingPipeIo* io) const noexcept;
};

// This process's ends of a child's pipes (Redirect::pipe()), indexed 0 stdin, 1 stdout,
// 2 stderr, and what was read from them but not yet taken by the Child's read calls.
// NOLINTNEXTLINE(bugprone-reserved-identifier): clang-tidy names the implicit move of its arrays
struct ChildPipes {
  ScopedHandle ends[3];     // invalid: not piped, closed, or at its end
  bool piped[3] = {};       // the stream was piped (stays true once its end is gone)
  std::string received[3];  // [1] and [2]
  std::unique_ptr<PendingPipeIo, PendingPipeIoDeleter> pending;  // destroyed before `ends` close
};

// One step of I/O on `pipes`: waits until a pipe can move bytes or has ended, or until
// `deadline`; then writes what the stdin pipe takes of `input` (removing it from `input`),
// appends what the output pipes hold to `received`, and closes an output pipe at its end.
// false: the deadline passed first, or no pipe was left to wait on. Throws
// std::system_error: std::errc::broken_pipe (stdin's end is then closed) once the child has
// closed its end of the stdin pipe, the OS code when a call fails.
bool pump_pipes(ChildPipes& pipes, std::string_view& input, std::optional<Clock::time_point> deadline);
// Whether a write to the stdin pipe is still under way (Windows); POSIX: never.
bool input_pending(const ChildPipes& pipes) noexcept;
// Closes this process's end of pipe `stream`, cancelling its I/O under way.
void close_pipe(ChildPipes& pipes, int stream) noexcept;

// A started child as its backend knows it. What a Child owns.
struct ChildProcess {
  long pid = -1;
  ScopedHandle handle;           // the OS's process object where it names processes by one (Windows)
  std::optional<int> exit_code;  // once waited for
  bool own_group = false;        // POSIX: it leads a process group of its own (pgid == pid)
  ScopedHandle job;              // Windows: its own job object, for die_with_parent / own_process_group
  ScopedHandle link;             // POSIX forkserver child: the server's socket that reports its end, takes kills
  bool daemon = false;           // SpawnOptions::daemon: killed, not waited for, when its Child is destroyed
  ChildPipes pipes;              // this process's ends of the child's piped standard streams
};

struct ChildAccess {
  static Child make(ChildProcess process, const SpawnOptions& options) {
    process.daemon = options.daemon;
    return Child(new ChildProcess(std::move(process)));
  }
  static const ChildProcess& process(const Child& child) noexcept { return *child.process_; }
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
// Set in a die_with_parent spawn child's environment by a POSIX parent; read and removed by
// follow_parent_lifetime(). SpawnOptions::env may name neither marker.
inline constexpr char lifetime_marker_name[] = "INTERPROC_DIE_WITH_PARENT";
bool guard_marker_present() noexcept;
void remove_guard_marker() noexcept;

// This program's own executable, as an absolute UTF-8 path (never argv[0]).
std::string executable_path();

// main()'s arguments as UTF-8. Windows: from the UTF-16 command line when argv is this
// process's own (main()'s argv is in the ANSI code page); POSIX: argv as it is.
std::vector<std::string> program_arguments(int argc, char** argv);

}  // namespace interproc::detail
