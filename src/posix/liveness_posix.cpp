// SPDX-License-Identifier: MIT
// Whether another process still runs, by its pid: kill(pid, 0) (kill(2): ESRCH when no
// such process exists; EPERM means it exists but belongs to another user), and a zombie,
// which kill() still reaches, counts as ended: proc(5) /proc/PID/stat on Linux,
// sysctl(3) KERN_PROC_PID on macOS and FreeBSD.

#include "common/process_backend.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#if defined(__APPLE__) || defined(__FreeBSD__)
#include <sys/types.h>
#include <sys/sysctl.h>
#endif
#if defined(__FreeBSD__)
#include <sys/user.h>
#endif

namespace interproc::detail {
namespace {

#if defined(__linux__)
bool process_is_zombie(pid_t pid) noexcept {
  // "pid (comm) state ...": comm may hold ')' itself, so the state is the first field after
  // the last ')'. Z: zombie, X: dead.
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
  // XNU's bsd/sys/proc.h: p_stat SZOMB for a process that exited and awaits its wait();
  // FreeBSD's struct kinfo_proc: ki_stat.
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
  if (id <= 0 || static_cast<std::uint64_t>(id) != pid) return false;
  if (::kill(id, 0) != 0 && errno == ESRCH) return true;
  return process_is_zombie(id);
}

}  // namespace interproc::detail
