// SPDX-License-Identifier: MIT
// Anonymous segments where memfd_create(2) does not exist (macOS, the BSDs): shm_open(3)
// of a random name with O_EXCL, unlinked at once, so the name exists only for an instant
// and a crash afterwards leaves nothing behind.

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

MappedSegment create_anonymous_segment(std::size_t size) {
  for (int attempt = 0;; ++attempt) {
    const std::string path = random_shm_path();
    ScopedHandle fd(above_standard_streams(::shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, S_IRUSR | S_IWUSR)));
    if (!fd.valid()) {
      const int saved = errno;
      if (saved == EEXIST && attempt < 16) continue;
      fail_errno(saved, "shm_open(" + quoted(path) + ", O_CREAT | O_EXCL)");
    }
    ::shm_unlink(path.c_str());
    return size_and_map(std::move(fd), size, "shm_open(" + quoted(path) + ")");
  }
}

}  // namespace interproc::detail
