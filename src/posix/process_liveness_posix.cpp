// SPDX-License-Identifier: MIT
// Process liveness on POSIX: kill(pid, 0), and a look at the process's state for a zombie.

#include "common/process_liveness.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>
#if defined(__APPLE__) || defined(__FreeBSD__)
#include <sys/sysctl.h>
#endif
#if defined(__FreeBSD__)
#include <sys/user.h>
#endif

namespace interproc::detail {
namespace {

#if defined(__linux__)
bool process_is_zombie(pid_t pid) noexcept {
  // proc(5): /proc/PID/stat is "pid (comm) state ..."; comm may hold ')' itself, so the
  // state is the first field after the last ')'. Z: zombie, X: dead.
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char text[512];
  const ssize_t length = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (length <= 0) return false;
  text[length] = '\0';
  const char* close_paren = std::strrchr(text, ')');
  return close_paren != nullptr && close_paren[1] == ' ' && (close_paren[2] == 'Z' || close_paren[2] == 'X');
}
#else
bool process_is_zombie(pid_t pid) noexcept {
  // sysctl(3) KERN_PROC_PID. XNU's bsd/sys/proc.h: p_stat SZOMB for a process that exited
  // and awaits its wait(); FreeBSD's struct kinfo_proc: ki_stat.
  int query[] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, static_cast<int>(pid)};
  struct kinfo_proc info {};
  std::size_t size = sizeof info;
  if (::sysctl(query, 4, &info, &size, nullptr, 0) != 0 || size != sizeof info) return false;
#if defined(__APPLE__)
  return info.kp_proc.p_stat == SZOMB;
#else
  return info.ki_stat == SZOMB;
#endif
}
#endif


}  // namespace

std::uint64_t current_process_id() noexcept { return static_cast<std::uint64_t>(::getpid()); }

bool process_has_ended(std::uint64_t pid) noexcept {
  const auto id = static_cast<pid_t>(pid);
  if (id <= 0 || static_cast<std::uint64_t>(id) != pid) return false;  // no process: nothing to say
  // EPERM means the process exists but belongs to another user: alive.
  if (::kill(id, 0) != 0 && errno == ESRCH) return true;
  // kill() also succeeds on a zombie: a process that has exited but that its parent has not
  // reaped yet, maybe because the parent waits for us. Exited is dead, reaped or not.
  return process_is_zombie(id);
}

}  // namespace interproc::detail
