// The running executable on Linux: the /proc/self/exe link, which the kernel keeps
// pointing at the real file whatever argv[0] said (proc(5)).

#include "common/fail.hpp"
#include "common/spawn_backend.hpp"

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

}  // namespace interproc::detail
