// SPDX-License-Identifier: MIT
#pragma once
// The seam between spawn_child / child_main (src/common/spawn.cpp) and the backends:
// starting a process, forking, waiting, and the guard marker in the environment.

#include "common/handle_argument.hpp"
#include "common/native_handle.hpp"

#include <interproc/spawn.hpp>

#include <functional>
#include <string>
#include <vector>

namespace interproc::detail {

// Set in a spawn-style child's environment by the parent and removed by child_main():
// a spawn_child() that still sees it runs in a child whose main() skipped the guard.
inline constexpr char guard_marker_name[] = "INTERPROC_SPAWNED_CHILD";
bool guard_marker_present() noexcept;
void remove_guard_marker() noexcept;

struct ChildAccess {
  static Child make(long pid, native_handle process) noexcept { return Child(pid, process); }
};

// main()'s arguments as UTF-8. Windows: from the UTF-16 command line when argv is this
// process's own (main()'s argv is in the ANSI code page); POSIX: argv as it is.
std::vector<std::string> program_arguments(int argc, char** argv);

// This program's own executable, as an absolute UTF-8 path (never argv[0]).
std::string executable_path();

// Starts `path` (UTF-8) as a spawn-style child running `token`, with `args` after the
// token argument and the guard marker added to the environment. `token` names the objects
// by this process's handles: the backend gives the child its own copies of exactly those
// (nothing else of the parent's), rewrites the token's handle fields (handle_fields) to the
// child's values, and passes it on. Throws std::system_error when the OS refuses or the
// executable cannot be run.
Child launch_executable(const std::string& path, ChildToken token, const std::vector<std::string>& args);

// Child side: the token text that child_main() found after child_flag, made whole (POSIX:
// the argument itself; Windows: read from where the parent put it).
std::string received_token(std::string_view argument);

// POSIX: forks; the child runs `body` and leaves with _exit(body()). Windows: throws
// errc::not_supported.
Child launch_fork(const std::function<int()>& body);

}  // namespace interproc::detail
