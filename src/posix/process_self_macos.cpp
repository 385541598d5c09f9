// SPDX-License-Identifier: MIT
// What a macOS process knows about itself: its executable, from _NSGetExecutablePath(3)
// made canonical with realpath(3) (it may go through symlinks or ".."), its environment,
// from _NSGetEnviron() (a shared library cannot link against `environ` there), and the
// state of other processes (sysctl(3) KERN_PROC_PID).

#include "common/fail.hpp"
#include "common/spawn_backend.hpp"
#include "posix/process_self.hpp"

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <crt_externs.h>
#include <mach-o/dyld.h>
#include <sys/sysctl.h>

namespace interproc::detail {

std::string executable_path() {
  std::uint32_t size = 0;
  _NSGetExecutablePath(nullptr, &size);
  std::string raw(size, '\0');
  if (_NSGetExecutablePath(raw.data(), &size) != 0) fail_errno(ENAMETOOLONG, "_NSGetExecutablePath");
  raw.resize(std::strlen(raw.c_str()));
  // A file deleted or replaced since start-up does not resolve: keep the raw path, so
  // that posix_spawn reports what is wrong with it.
  char resolved[PATH_MAX];
  return ::realpath(raw.c_str(), resolved) != nullptr ? std::string(resolved) : raw;
}

char** process_environment() noexcept { return *_NSGetEnviron(); }

// macOS has no handle on its own image by path; a replaced file is run as it now is.
std::string executable_image(const std::string& path) { return path; }

bool process_is_zombie(int pid) noexcept {
  // XNU's bsd/sys/proc.h: p_stat SZOMB for a process that exited and awaits its wait().
  int query[] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, pid};
  struct kinfo_proc info {};
  std::size_t size = sizeof info;
  return ::sysctl(query, 4, &info, &size, nullptr, 0) == 0 && size == sizeof info && info.kp_proc.p_stat == SZOMB;
}

}  // namespace interproc::detail
