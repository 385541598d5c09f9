// SPDX-License-Identifier: MIT
// POSIX side of platform.hpp.
#include "platform.hpp"

#include <unistd.h>

namespace demo::platform {

std::vector<std::string> default_file_patterns() { return {"/etc/*.conf"}; }

bool file_names_ignore_case() { return false; }

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace demo::platform
