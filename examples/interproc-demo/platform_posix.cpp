// SPDX-License-Identifier: MIT
// POSIX side of platform.hpp.
#include "platform.hpp"

namespace demo::platform {

std::vector<std::string> default_file_patterns() { return {"/etc/*.conf"}; }

bool file_names_ignore_case() { return false; }

}  // namespace demo::platform
