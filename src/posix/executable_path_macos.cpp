// SPDX-License-Identifier: MIT
// macOS: this program's executable from _NSGetExecutablePath(3), made canonical with
// realpath(3) (it may go through symlinks or "..").

#include "common/fail.hpp"
#include "common/process_backend.hpp"
#include "posix/executable_path_posix.hpp"

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mach-o/dyld.h>

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

// macOS has no handle on its own image by path; a replaced file is run as it now is.
std::string executable_image(const std::string& path) { return path; }

}  // namespace interproc::detail
