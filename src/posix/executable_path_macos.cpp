// The running executable on macOS: _NSGetExecutablePath(3) may return a path through
// symlinks or with "..", so realpath(3) makes it canonical.

#include "common/fail.hpp"
#include "common/spawn_backend.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <mach-o/dyld.h>

namespace interproc::detail {

std::string executable_path() {
  std::uint32_t size = 0;
  _NSGetExecutablePath(nullptr, &size);
  std::string raw(size, '\0');
  if (_NSGetExecutablePath(raw.data(), &size) != 0) fail_errno(ENAMETOOLONG, "_NSGetExecutablePath");
  char resolved[PATH_MAX];
  if (::realpath(raw.c_str(), resolved) == nullptr) fail_errno(errno, "realpath(" + quoted(raw) + ")");
  return resolved;
}

}  // namespace interproc::detail
