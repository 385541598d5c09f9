// What a macOS process knows about itself: its executable, from _NSGetExecutablePath(3)
// made canonical with realpath(3) (it may go through symlinks or ".."), and its
// environment, from _NSGetEnviron(): a shared library cannot link against `environ` there.

#include "common/fail.hpp"
#include "common/spawn_backend.hpp"
#include "posix/process_self.hpp"

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <crt_externs.h>
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

char** process_environment() noexcept { return *_NSGetEnviron(); }

}  // namespace interproc::detail
