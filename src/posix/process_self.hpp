// SPDX-License-Identifier: MIT
#pragma once
// Per-OS facts a POSIX process reads about itself (process_self_linux.cpp,
// process_self_macos.cpp); executable_path() is declared in common/spawn_backend.hpp.

#include <string>

namespace interproc::detail {

// The current environment, as `environ` would give it.
char** process_environment() noexcept;

// The file to hand to posix_spawn to run this program's own image again, given
// executable_path(). Linux: /proc/self/exe, which still reaches the running image after the
// file was replaced or deleted; elsewhere the path itself.
std::string executable_image(const std::string& path);

// True if `pid` has ended but was not reaped yet (a zombie): kill(pid, 0) still succeeds
// on it. False when it runs, is gone, or cannot be asked.
bool process_is_zombie(int pid) noexcept;


}  // namespace interproc::detail
