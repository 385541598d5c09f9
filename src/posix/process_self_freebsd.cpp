// SPDX-License-Identifier: MIT
// What a FreeBSD process knows about itself: its executable, from sysctl(3)
// KERN_PROC_PATHNAME (FreeBSD mounts no /proc by default), its environment, and the state
// of other processes (sysctl KERN_PROC_PID, struct kinfo_proc's ki_stat).

#include "common/fail.hpp"
#include "common/spawn_backend.hpp"
#include "posix/process_self.hpp"

#include <cerrno>
#include <sys/types.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#include <unistd.h>

extern char** environ;

namespace interproc::detail {

std::string executable_path() {
  int query[] = {CTL_KERN, KERN_PROC, KERN_PROC_PATHNAME, -1};
  std::size_t size = 0;
  if (::sysctl(query, 4, nullptr, &size, nullptr, 0) != 0) fail_errno(errno, "sysctl(KERN_PROC_PATHNAME)");
  std::string path(size, '\0');
  if (::sysctl(query, 4, path.data(), &size, nullptr, 0) != 0) fail_errno(errno, "sysctl(KERN_PROC_PATHNAME)");
  path.resize(size > 0 ? size - 1 : 0);  // the size counts the terminating NUL
  return path;
}

char** process_environment() noexcept { return environ; }

std::string executable_image(const std::string& path) { return path; }

bool process_is_zombie(int pid) noexcept {
  int query[] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, pid};
  struct kinfo_proc info {};
  std::size_t size = sizeof info;
  return ::sysctl(query, 4, &info, &size, nullptr, 0) == 0 && size == sizeof info && info.ki_stat == SZOMB;
}

}  // namespace interproc::detail
