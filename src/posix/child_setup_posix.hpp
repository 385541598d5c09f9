// SPDX-License-Identifier: MIT
#pragma once
// What SpawnOptions asks a POSIX child to start with (its standard streams, directory and
// environment), made ready in this process before any start method starts the child, so
// that a file or directory that cannot be opened is refused before a child exists.

#include "common/process_backend.hpp"

#include <optional>
#include <string>
#include <vector>

namespace interproc::detail {

struct ChildSetup {
  ScopedHandle streams[3];  // the child's stdin, stdout, stderr (>= 3, close-on-exec); invalid: this process's own
  ScopedHandle directory;   // the child's working directory, open; invalid: this process's
  // "NAME=value" entries without the library's markers; std::nullopt: this process's environment
  std::optional<std::vector<std::string>> environment;
  ChildPipes pipes;  // this process's ends of the piped streams (non-blocking, close-on-exec)
};

// Opens the files, the directory and the pipes `options` asks for and makes the environment.
// Throws std::system_error with the OS code (ENOENT, ENOTDIR, EACCES ...) naming the path.
ChildSetup prepare_child_setup(const SpawnOptions& options);

// The current environment. macOS: _NSGetEnviron(), since a shared library cannot link
// against `environ` there (environ(7)).
char** process_environment() noexcept;

// In a forked child, before its entry: takes `streams` (-1: keep) as descriptors 0, 1, 2,
// enters `directory` (-1: stay), and uses `environment` (null: keep), a null-ended array that
// must outlive the process. Async-signal-safe (dup2, fchdir, an assignment to environ); a
// failure is reported on stderr and ends the child with exit_bad_child_argument.
void enter_child_setup(const int (&streams)[3], int directory, char** environment) noexcept;

// The strings' pointers with a null after them, for exec-style calls.
std::vector<char*> pointers(std::vector<std::string>& strings);

}  // namespace interproc::detail
