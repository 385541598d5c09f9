// SPDX-License-Identifier: MIT
#pragma once
// Names of named segments: one rule set for every OS, the strictest of them. macOS limits
// POSIX shm names to PSHMNAMLEN (31) including the leading '/', and a '/' inside a name is
// implementation-defined in shm_open(3p); Windows forbids '\' in object names.

#include <cstddef>
#include <string_view>

namespace interproc::detail {

// Throws errc::invalid_name or errc::name_too_long, naming the offending character and
// `who` (the class whose name it is).
void check_segment_name(std::string_view name, std::string_view who = "SharedSegment");

// Throws errc::invalid_size for 0 or a size no address space can hold.
void check_segment_size(std::size_t size);

}  // namespace interproc::detail
