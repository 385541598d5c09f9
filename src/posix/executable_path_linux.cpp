// SPDX-License-Identifier: MIT
// Linux: this program's executable through the /proc/self/exe link, which the kernel keeps
// pointing at the real file whatever argv[0] said (proc(5)).

#include "common/fail.hpp"
#include "common/process_backend.hpp"
#include "posix/executable_path_posix.hpp"

#include <cerrno>
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

// The link's text is only a name ("PATH (deleted)" once the file was replaced), but
// exec of the link itself runs the very image this process runs (proc(5), /proc/pid/exe).
std::string executable_image(const std::string&) { return "/proc/self/exe"; }

}  // namespace interproc::detail
