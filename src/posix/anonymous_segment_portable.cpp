// SPDX-License-Identifier: MIT
// Anonymous segments where memfd_create(2) does not exist (macOS, the BSDs): shm_open(3)
// of a random name with O_EXCL, unlinked at once, so the name exists only for an instant
// and a crash afterwards leaves nothing behind.
//
// Read-only handles: POSIX can reopen a shm object with less access only by its name
// (shm_open(3) with O_RDONLY; macOS's shm_open(2) man page says the same, and the BSDs have
// no /proc/self/fd), so a segment that may be shared read-only opens its read-only twin
// while the name exists, before the unlink: one more descriptor per such segment.

#include "common/fail.hpp"
#include "posix/segment_posix.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <random>
#include <sys/mman.h>
#include <sys/stat.h>

namespace interproc::detail {
namespace {

std::string random_shm_path() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  char path[32];
  // 27 characters: within macOS's 31-character PSHMNAMLEN.
  std::snprintf(path, sizeof path, "/interproc-%016llx", static_cast<unsigned long long>(generator()));
  return path;
}

}  // namespace

ScopedHandle read_only_twin(const std::string& path) {
  ScopedHandle fd(above_standard_streams(::shm_open(path.c_str(), O_RDONLY, 0)));
  if (!fd.valid()) fail_errno(errno, "shm_open(" + quoted(path) + ", O_RDONLY)");
  return fd;
}

ScopedHandle read_only_handle(native_handle /*handle*/, native_handle twin) {
  if (twin == invalid_handle)
    fail(errc::not_supported,
         "this segment has no read-only descriptor (only SharedSegment, SharedValue and "
         "SharedArray keep one on this OS)");
  ScopedHandle fd(::fcntl(static_cast<int>(twin), F_DUPFD_CLOEXEC, 3));
  if (!fd.valid()) fail_errno(errno, "fcntl(F_DUPFD_CLOEXEC)");
  return fd;
}

MappedSegment create_anonymous_segment(std::size_t size, bool shareable) {
  for (int attempt = 0;; ++attempt) {
    const std::string path = random_shm_path();
    ScopedHandle fd(above_standard_streams(::shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, S_IRUSR | S_IWUSR)));
    if (!fd.valid()) {
      const int saved = errno;
      if (saved == EEXIST && attempt < 16) continue;
      fail_errno(saved, "shm_open(" + quoted(path) + ", O_CREAT | O_EXCL)");
    }
    ScopedHandle twin;
    try {
      if (shareable) twin = read_only_twin(path);
    } catch (...) {
      ::shm_unlink(path.c_str());
      throw;
    }
    ::shm_unlink(path.c_str());
    MappedSegment segment = size_and_map(std::move(fd), size, "shm_open(" + quoted(path) + ")");
    segment.read_only_twin = std::move(twin);
    return segment;
  }
}

}  // namespace interproc::detail
