// SPDX-License-Identifier: MIT
#pragma once
// SpawnOptions::die_with_parent on POSIX, one file per way of doing it:
// lifetime_linux.cpp (prctl(PR_SET_PDEATHSIG)) and lifetime_portable.cpp (a watch pipe, for
// macOS, the BSDs and the portable build on Linux). process_posix.cpp carries the result to
// the child.

#include <csignal>
#include <sys/types.h>
#include <unistd.h>

namespace interproc::detail {

// Parent side: the descriptor a die_with_parent child must hold to learn of this process's
// death (the read end of a pipe only this process can write, created on first use), or -1
// where the kernel tells the child by itself (Linux).
int parent_watch_descriptor();

// Child side: ties this process's life to `parent`'s (its pid when it started the child),
// watching `watch` (parent_watch_descriptor()'s, as the child received it) where there is
// one. Ends this process at once if `parent` is gone already. Throws std::system_error when
// the OS refuses, errc::bad_handle_argument when `watch` is not a pipe.
void die_with_parent(pid_t parent, int watch);

// Ends this process as the parent's death ends it: SIGKILL.
[[noreturn]] inline void die_now() noexcept {
  ::kill(::getpid(), SIGKILL);
  ::_exit(128 + SIGKILL);
}

}  // namespace interproc::detail
