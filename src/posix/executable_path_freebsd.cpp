// SPDX-License-Identifier: MIT
// FreeBSD: this program's executable from sysctl(3) KERN_PROC_PATHNAME (FreeBSD mounts no
// /proc by default).

#include "common/fail.hpp"
#include "common/process_backend.hpp"
#include "posix/executable_path_posix.hpp"

#include <cerrno>
#include <sys/types.h>
#include <sys/sysctl.h>

namespace interproc::detail {

std::string executable_path() {
  int query[] = {CTL_KERN, KERN_PROC, KERN_PROC_PATHNAME, -1};
  std::size_t size = 0;
  if (::sysctl(query, 4, nullptr, &size, nullptr, 0) != 0) fail_errno(errno, "sysctl(KERN_PROC_PATHNAME)");
  std::string path(size, '\0');
  if (::sysctl(query, 4, path.data(), &size, nullptr, 0) != 0) fail_errno(errno, "sysctl(KERN_PROC_PATHNAME)");
  path.resize(size > 0 ? size - 1 : 0);  // the size counts the terminating NUL
  return path;
}

std::string executable_image(const std::string& path) { return path; }

}  // namespace interproc::detail
