// SPDX-License-Identifier: MIT
// die_with_parent on Linux: the kernel sends the child SIGKILL when its parent dies
// (prctl(2) PR_SET_PDEATHSIG). The "parent" there is the thread that created the child, so
// the signal also comes when that thread ends while the process lives on (prctl(2) BUGS);
// README and SpawnOptions say so.

#include "common/fail.hpp"
#include "posix/lifetime_posix.hpp"

#include <cerrno>
#include <csignal>
#include <sys/prctl.h>
#include <unistd.h>

namespace interproc::detail {

int parent_watch_descriptor() { return -1; }

void die_with_parent(pid_t parent, int /*watch*/) {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail_errno(errno, "prctl(PR_SET_PDEATHSIG, SIGKILL)");
  // A parent that died before prctl sent nothing: this process has been reparented since.
  if (::getppid() != parent) die_now();
}

}  // namespace interproc::detail
