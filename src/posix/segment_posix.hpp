// SPDX-License-Identifier: MIT
#pragma once
// Pieces shared by the POSIX segment files: sizing and mapping a descriptor.

#include "common/segment_backend.hpp"

#include <cstdint>
#include <string>

namespace interproc::detail {

// Sizes a freshly created object (its one ftruncate), reserves its memory, maps it whole
// and writes its record (with `tag`); `what` names the object in error messages. Takes
// ownership of fd.
MappedSegment size_and_map(ScopedHandle fd, std::size_t size, const std::string& what, std::uint64_t tag = 0);

// Moves a descriptor this library opened off the standard stream numbers 0-2, where a
// process started with them closed would hand it out as stdin, stdout or stderr. The result
// is close-on-exec; -1 (errno set) stays -1.
int above_standard_streams(int fd) noexcept;

// The read-only twin of the object at shm path `path` (see MappedSegment::read_only_twin):
// portable POSIX opens it O_RDONLY; Linux needs none (read_only_handle reopens through /proc).
ScopedHandle read_only_twin(const std::string& path);

}  // namespace interproc::detail
