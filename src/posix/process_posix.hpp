// SPDX-License-Identifier: MIT
#pragma once
// What the fork server's files share with process_posix.cpp.

#include "common/process_backend.hpp"

#include <string>
#include <sys/types.h>

namespace interproc::detail {

// A ChildProcess for a child just started with pid `pid`.
ChildProcess started_child(pid_t pid, bool own_group);

// In a forked child, before its entry: die_with_parent(parent, watch), or the reason on stderr
// and _exit(exit_bad_child_argument) if the OS refuses.
void die_with_parent_or_exit(pid_t parent, int watch) noexcept;

// Ends a forked child (fork start method, or forked by the fork server): flushes its output,
// then _exit(code), so that no destructor or atexit handler of the program it copies runs.
[[noreturn]] void leave_forked_child(int code) noexcept;

// A waitpid(2) status as wait_process() reports it: the exit code, or -N for signal N.
int decode_status(int status) noexcept;

// Starts this program as a fork server (its argument child_flag + forkserver_argument) with
// `control` as its descriptor server_descriptor and nothing else of this process's but the
// standard streams. Returns its pid. Throws std::system_error when posix_spawn fails.
pid_t launch_fork_server(int control);

// Starts this program as the name watcher (child_flag + name_watcher_argument) with
// `control` as its descriptor 3, in a process group of its own. Returns its pid.
pid_t launch_name_watcher(int control);

}  // namespace interproc::detail
