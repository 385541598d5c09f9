// What a Linux process knows about itself: its executable, through the /proc/self/exe
// link, which the kernel keeps pointing at the real file whatever argv[0] said (proc(5)),
// and its environment.

#include "common/fail.hpp"
#include "common/spawn_backend.hpp"
#include "posix/process_self.hpp"

#include <cerrno>
#include <unistd.h>

extern char** environ;

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

}  // namespace interproc::detail
