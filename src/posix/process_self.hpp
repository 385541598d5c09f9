#pragma once
// Per-OS facts a POSIX process reads about itself (process_self_linux.cpp,
// process_self_macos.cpp); executable_path() is declared in common/spawn_backend.hpp.

namespace interproc::detail {

// The current environment, as `environ` would give it.
char** process_environment() noexcept;

}  // namespace interproc::detail
