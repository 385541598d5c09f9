// SPDX-License-Identifier: MIT
// Linux anonymous segments: memfd_create(2) has no name in any namespace, so nothing can
// leak; seals (fcntl F_ADD_SEALS) stop a child from shrinking it under its peers' mappings.
// Read-only handles: any segment's descriptor reopened through /proc/self/fd.

#include "common/fail.hpp"
#include "posix/segment_posix.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>

namespace interproc::detail {

MappedSegment create_anonymous_segment(std::size_t size, bool /*shareable: /proc needs no twin*/) {
  ScopedHandle fd(above_standard_streams(::memfd_create("interproc", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  if (!fd.valid()) fail_errno(errno, "memfd_create(\"interproc\")");
  MappedSegment segment = size_and_map(std::move(fd), size, "memfd");
  if (::fcntl(static_cast<int>(segment.handle.get()), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    const int saved = errno;
    unmap_segment(segment.address, segment.mapped_size);
    fail_errno(saved, "fcntl(memfd, F_ADD_SEALS)");
  }
  return segment;
}

ScopedHandle read_only_twin(const std::string& /*path*/) { return ScopedHandle(); }

ScopedHandle read_only_handle(native_handle handle, native_handle /*twin*/) {
  // proc(5): opening /proc/self/fd/N opens the file itself anew, here with read access only,
  // memfd(2) and /dev/shm files alike; the new descriptor can never map PROT_WRITE (mmap(2): EACCES).
  const std::string path = "/proc/self/fd/" + std::to_string(handle);
  ScopedHandle fd(above_standard_streams(::open(path.c_str(), O_RDONLY | O_CLOEXEC)));
  if (!fd.valid()) fail_errno(errno, "open(" + quoted(path) + ", O_RDONLY)");
  return fd;
}

}  // namespace interproc::detail
