// SPDX-License-Identifier: MIT
// What a Linux process knows about itself: its executable, through the /proc/self/exe
// link, which the kernel keeps pointing at the real file whatever argv[0] said (proc(5)),
// its environment, and the state of other processes (/proc/PID/stat).

#include "common/fail.hpp"
#include "common/spawn_backend.hpp"
#include "posix/process_self.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace interproc::detail {

std::string executable_path() {
  std::string path(256, '\0');
  for (;;) {
    const ssize_t length = ::readlink("/proc/self/exe", path.data(), path.size());
    if (length < 0) fail_errno(errno, "readlink(\"/proc/self/exe\")");
    if (static_cast<std::size_t>(length) < path.size()) {
      path.resize(static_cast<std::size_t>(length));
      return path;
    }
    path.resize(path.size() * 2);
  }
}

char** process_environment() noexcept { return environ; }

// The link's text is only a name ("PATH (deleted)" once the file was replaced), but
// exec of the link itself runs the very image this process runs (proc(5), /proc/pid/exe).
std::string executable_image(const std::string&) { return "/proc/self/exe"; }

bool process_is_zombie(int pid) noexcept {
  // proc(5): /proc/PID/stat is "pid (comm) state ..."; comm may hold ')' itself, so the
  // state is the first field after the last ')'. Z: zombie, X: dead.
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
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

}  // namespace interproc::detail
