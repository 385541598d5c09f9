// SPDX-License-Identifier: MIT
#pragma once
// The seam between SharedSegment (src/common/shared_segment.cpp, which validates names and
// sizes once for every OS) and the backends (src/posix, src/win32), which only talk to the OS.

#include "common/native_handle.hpp"

#include <interproc/export.hpp>
#include <interproc/shared_segment.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

namespace interproc::detail {

// A segment the backend has created or opened and mapped whole.
struct MappedSegment {
  ScopedHandle handle;
  void* address = nullptr;
  std::size_t size = 0;         // the size the creator asked for
  std::size_t mapped_size = 0;  // size rounded up to pages
  std::uint64_t tag = 0;        // a named segment's tag (see create_tagged_segment); 0 elsewhere
  bool read_only = false;       // mapped without write access, from a handle that cannot map writable
  // Where a read-only handle cannot be made later (portable POSIX: a shm object can only be
  // reopened read-only by name, and an anonymous one loses its name at once), one opened
  // while the name existed; invalid elsewhere.
  ScopedHandle read_only_twin;
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
// `shareable` asks for what read_only_handle needs later (portable POSIX: a read-only twin
// descriptor); the library's own words segments, never shared read-only, do without.
MappedSegment create_anonymous_segment(std::size_t size, bool shareable = true);
// `tag` is stored beside the creator's size, past the bytes shown, and read back by open.
MappedSegment create_named_segment(const std::string& name, std::size_t size, std::uint64_t tag);
MappedSegment open_named_segment(const std::string& name);
bool remove_named_segment(const std::string& name);
// Maps a segment handle received from a parent (read-only: without write access, as a
// read_only_handle must be); throws errc::bad_handle_argument if `h` is not an open
// shared-memory object of at least `size` bytes. Takes ownership of `h`.
MappedSegment map_inherited_segment(native_handle h, std::size_t size, bool read_only = false);
// A new handle to the memory of `handle` (with its `twin`, see MappedSegment) that maps
// read-only and can never be mapped or protected writable: Linux reopens the descriptor
// O_RDONLY through /proc/self/fd, portable POSIX duplicates the twin, Windows duplicates
// the section with FILE_MAP_READ only. Throws errc::not_supported where there is no way.
ScopedHandle read_only_handle(native_handle handle, native_handle twin);
// A fork child's view of a segment passed read-only: the inherited writable mapping at
// `address` is replaced in place (MAP_FIXED) by one of `read_only` mapped PROT_READ.
// POSIX only (Windows has no fork).
void remap_read_only(void* address, std::size_t mapped_size, native_handle read_only);
void unmap_segment(void* address, std::size_t mapped_size) noexcept;

// What a named segment's record says, for names_in_use and the name watcher.
struct NamedSegmentInfo {
  std::uint64_t tag = 0;
  std::size_t size = 0;
  long creator = 0;  // the pid of the process that created it
};
// The record of the interproc segment at `name`, read through a read-only mapping; nothing
// if there is none (no such name, another program's object, one not finished, not ours to read).
std::optional<NamedSegmentInfo> inspect_named_segment(const std::string& name) noexcept;
// The names in the OS's namespace of shared memory (Linux: the entries of /dev/shm), any
// program's; throws errc::not_supported where the OS cannot list them (macOS, Windows).
std::vector<std::string> list_segment_names();
// Whether process `pid` exists (POSIX kill(pid, 0): EPERM counts as existing).
bool process_alive(long pid) noexcept;

// What a named segment holds, for the typed kinds built on one: the kind in the top byte,
// the rest the kind's own check (a type fingerprint, a magic number). Plain segments: 0.
enum class SegmentKind : std::uint8_t { plain = 0, value = 1, array = 2, waiting = 3, mutex = 4, recursive_mutex = 5 };
inline std::uint64_t segment_tag(SegmentKind kind, std::uint64_t check) noexcept {
  return static_cast<std::uint64_t>(kind) << 56 | (check & 0x00ffffffffffffffu);
}
inline SegmentKind tag_kind(std::uint64_t tag) noexcept { return static_cast<SegmentKind>(tag >> 56); }
// The kinds a parent may pass read-only (SharedSegment, SharedValue, SharedArray).
inline bool may_be_read_only(std::uint64_t tag) noexcept { return tag_kind(tag) <= SegmentKind::array; }
// SharedSegment::create_named / open_named with a tag: the opener gets the creator's tag.
INTERPROC_EXPORT SharedSegment create_tagged_segment(std::string_view name, std::size_t size, std::uint64_t tag);
INTERPROC_EXPORT SharedSegment open_tagged_segment(std::string_view name, std::uint64_t& tag);
// SharedSegment::create for the library's own words (a mutex's, a waiting object's), which
// are never shared read-only: no read-only twin.
SharedSegment create_words_segment(std::size_t size);

// What spawn_child and InterprocessMutex need of a segment, kept out of the public header.
struct SegmentAccess {
  static native_handle handle(const SharedSegment& s) noexcept { return s.handle_; }
  static SharedSegment adopt(MappedSegment m) noexcept {
    SharedSegment s;
    s.handle_ = m.handle.release();
    s.address_ = m.address;
    s.size_ = m.size;
    s.mapped_size_ = m.mapped_size;
    s.read_only_ = m.read_only;
    s.read_only_twin_ = m.read_only_twin.release();
    return s;
  }
  static native_handle read_only_twin(const SharedSegment& s) noexcept { return s.read_only_twin_; }
  // A fork child: its read-only alias (make_read_only_alias) mapped read-only in place.
  static void remap_read_only(const SharedSegment& s) {
    detail::remap_read_only(s.address_, s.mapped_size_, s.handle_);
  }
  // Makes `alias` (see alias below) the read-only view a fork child gets: its handle is
  // `handle`, which the alias does not own either.
  static void make_read_only_alias(SharedSegment& alias, native_handle handle) noexcept {
    alias.handle_ = handle;
    alias.read_only_ = true;
  }
  // A second SharedSegment object for the same mapping and handle, for a fork child that
  // already has them; the alias must be forget()-ed, never destroyed, where the original lives.
  static SharedSegment alias(const SharedSegment& original) noexcept {
    return adopt(MappedSegment{ScopedHandle(original.handle_),
                               original.address_,
                               original.size_,
                               original.mapped_size_,
                               0,
                               original.read_only_,
                               {}});
  }
  // Lets go of a segment without unmapping it: the mapping lives until the process ends.
  static void leave_mapped(SharedSegment& s) noexcept {
    close_handle(s.handle_);
    close_handle(s.read_only_twin_);
    forget(s);
  }
  static void forget(SharedSegment& alias) noexcept {
    alias.address_ = nullptr;
    alias.handle_ = alias.read_only_twin_ = invalid_handle;
    alias.size_ = alias.mapped_size_ = 0;
  }
};

}  // namespace interproc::detail
