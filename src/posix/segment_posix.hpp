#pragma once
// Pieces shared by the POSIX segment files: sizing and mapping a descriptor.

#include "common/segment_backend.hpp"

#include <string>

namespace interproc::detail {

// Sets the size of a freshly created object (ftruncate) and maps it whole; `what` names
// the object in error messages. Takes ownership of fd.
MappedSegment size_and_map(ScopedHandle fd, std::size_t size, const std::string& what);
// Maps all `size` bytes of an object that already has its size.
MappedSegment map_whole(ScopedHandle fd, std::size_t size, const std::string& what);

}  // namespace interproc::detail
