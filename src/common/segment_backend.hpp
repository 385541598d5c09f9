// SPDX-License-Identifier: MIT
#pragma once
// The seam between SharedSegment (src/common/shared_segment.cpp, which validates names and
// sizes once for every OS) and the backends (src/posix, src/win32), which only talk to the OS.

#include "common/native_handle.hpp"

#include <interproc/export.hpp>
#include <interproc/shared_segment.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace interproc::detail {

// A segment the backend has created or opened and mapped whole.
struct MappedSegment {
  ScopedHandle handle;
  void* address = nullptr;
  std::size_t size = 0;         // the size the creator asked for
  std::size_t mapped_size = 0;  // size rounded up to pages
  std::uint64_t tag = 0;        // a named segment's tag (see create_tagged_segment); 0 elsewhere
};

std::size_t page_size() noexcept;

// Segments are mapped in whole pages; sizes arrive below SIZE_MAX / 2, so this cannot overflow.
inline std::size_t round_to_pages(std::size_t size) noexcept {
  const std::size_t page = page_size();
  return (size + page - 1) / page * page;
}

// Every function below throws std::system_error naming the call and the object on failure.
// Sizes arrive validated (non-zero, page-rounded size fits in size_t) and names arrive
// validated by the common rules, without any OS prefix.
MappedSegment create_anonymous_segment(std::size_t size);
// `tag` is stored beside the creator's size, past the bytes shown, and read back by open.
MappedSegment create_named_segment(const std::string& name, std::size_t size, std::uint64_t tag);
MappedSegment open_named_segment(const std::string& name);
bool remove_named_segment(const std::string& name);
// Maps a segment handle received from a parent; throws errc::bad_handle_argument if `h`
// is not an open shared-memory object of at least `size` bytes. Takes ownership of `h`.
MappedSegment map_inherited_segment(native_handle h, std::size_t size);
void unmap_segment(void* address, std::size_t mapped_size) noexcept;

// What a named segment holds, for the typed kinds built on one: the kind in the top byte,
// the rest the kind's own check (a type fingerprint, a magic number). Plain segments: 0.
enum class SegmentKind : std::uint8_t { plain = 0, value = 1, array = 2, waiting = 3, mutex = 4, recursive_mutex = 5 };
inline std::uint64_t segment_tag(SegmentKind kind, std::uint64_t check) noexcept {
  return static_cast<std::uint64_t>(kind) << 56 | (check & 0x00ffffffffffffffu);
}
inline SegmentKind tag_kind(std::uint64_t tag) noexcept { return static_cast<SegmentKind>(tag >> 56); }
// SharedSegment::create_named / open_named with a tag: the opener gets the creator's tag.
INTERPROC_EXPORT SharedSegment create_tagged_segment(std::string_view name, std::size_t size, std::uint64_t tag);
INTERPROC_EXPORT SharedSegment open_tagged_segment(std::string_view name, std::uint64_t& tag);

// What spawn_child and InterprocessMutex need of a segment, kept out of the public header.
struct SegmentAccess {
  static native_handle handle(const SharedSegment& s) noexcept { return s.handle_; }
  static SharedSegment adopt(MappedSegment m) noexcept {
    SharedSegment s;
    s.handle_ = m.handle.release();
    s.address_ = m.address;
    s.size_ = m.size;
    s.mapped_size_ = m.mapped_size;
    return s;
  }
  // A second SharedSegment object for the same mapping and handle, for a fork child that
  // already has them; the alias must be forget()-ed, never destroyed, where the original lives.
  static SharedSegment alias(const SharedSegment& original) noexcept {
    return adopt(
        MappedSegment{ScopedHandle(original.handle_), original.address_, original.size_, original.mapped_size_});
  }
  // Lets go of a segment without unmapping it: the mapping lives until the process ends.
  static void leave_mapped(SharedSegment& s) noexcept {
    close_handle(s.handle_);
    forget(s);
  }
  static void forget(SharedSegment& alias) noexcept {
    alias.address_ = nullptr;
    alias.handle_ = invalid_handle;
    alias.size_ = alias.mapped_size_ = 0;
  }
};

}  // namespace interproc::detail
