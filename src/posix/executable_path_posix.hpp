// SPDX-License-Identifier: MIT
#pragma once
// The POSIX systems' own ways to find this program's executable: executable_path() (declared
// in common/process_backend.hpp) and the file posix_spawn runs, per system in
// executable_path_linux.cpp, executable_path_macos.cpp and executable_path_freebsd.cpp.

#include <string>

namespace interproc::detail {

// The file to hand to posix_spawn to run this program's own image again, given
// executable_path(). Linux: /proc/self/exe, which still reaches the running image after the
// file was replaced or deleted; elsewhere the path itself.
std::string executable_image(const std::string& path);

}  // namespace interproc::detail
