// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// SharedSegment: a block of shared memory, anonymous or named.
#include <interproc/export.hpp>
#include <interproc/name_lifetime.hpp>

#include <gsl/span>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace interproc {

namespace detail {
struct SegmentAccess;
}

/// What `x.read_only()` returns for a SharedSegment, SharedValue or SharedArray `x`: pass it
/// to spawn_child in place of `x` to give the child a read-only mapping of the same memory
/// (Chromium's ReadOnlySharedMemoryRegion). A non-owning reference, valid while `x` is.
template <class Shared>
struct ReadOnlyShare {
  const Shared* object;  ///< the object to pass
};

/// Longest accepted segment name: macOS's shm_open limit (PSHMNAMLEN, 31) less the leading '/'.
inline constexpr std::size_t max_name_length = 30;

/// A mapped block of shared memory, always mapped whole. Move-only: the destructor unmaps
/// it and closes its descriptor/handle; a moved-from segment is empty (size() == 0).
/// One object is not synchronised: share it between threads read-only, or lock around it.
/// Its bytes are shared with every process that maps the same object; synchronise them
/// with an InterprocessMutex or atomics.
class INTERPROC_EXPORT SharedSegment {
 public:
  /// An anonymous, zero-filled segment of `size` bytes: it has no name anywhere, so nothing
  /// can outlive the processes that map it. Not inherited by any child except through
  /// spawn_child. Throws interproc::errc::invalid_size for 0 or an impossible size,
  /// std::system_error when the OS refuses (the call named in what()).
  static SharedSegment create(std::size_t size);

  /// A named, zero-filled segment, created exclusively (never attaches to an existing
  /// object) and readable and writable by the current user only. The name obeys the same
  /// rules on every OS: 1..max_name_length characters of [A-Za-z0-9._-]. The name lives on
  /// until remove_named(), or with NameLifetime::creator until its creator ends as well.
  /// Throws errc::invalid_name / name_too_long / invalid_size, or std::system_error
  /// (std::errc::file_exists when the name is taken; the OS's error when the watcher of
  /// NameLifetime::creator cannot start, the name then removed again).
  static SharedSegment create_named(std::string_view name, std::size_t size,
                                    NameLifetime lifetime = NameLifetime::persistent);

  /// Maps the whole of an existing named segment; size() is the size it was created with.
  /// Throws as create_named, with std::errc::no_such_file_or_directory when there is none.
  static SharedSegment open_named(std::string_view name);

  /// Boost.Interprocess's open_or_create: the named segment `name`, created with `size`
  /// bytes if there is none, else opened (size() is then its creator's size). Race-free:
  /// of processes calling it at once, exactly one creates (the create is exclusive) and the
  /// others open that one; a name removed between the two steps is tried again, and so is
  /// an object its creator is still making, for up to 5 s (then errc::not_ready). Every
  /// named kind has one, with the same rules. Throws as create_named and open_named.
  static SharedSegment open_or_create(std::string_view name, std::size_t size);

  /// Removes the name; processes that mapped the segment keep it. True if a segment of that
  /// name existed. On Windows a named segment lives as long as one handle to it does, so
  /// this only reports whether one is open. Throws for an invalid name.
  static bool remove_named(std::string_view name);

  /// An empty segment: no memory, size() == 0, false as a bool.
  SharedSegment() noexcept = default;
  /// Takes over `other`'s mapping; `other` is left empty.
  SharedSegment(SharedSegment&& other) noexcept;
  /// Unmaps this segment and takes over `other`'s mapping; `other` is left empty.
  SharedSegment& operator=(SharedSegment&& other) noexcept;
  SharedSegment(const SharedSegment&) = delete;
  SharedSegment& operator=(const SharedSegment&) = delete;
  /// Unmaps the segment and closes its descriptor/handle.
  ~SharedSegment();

  /// The segment's memory, size() bytes.
  gsl::span<std::byte> bytes() const noexcept { return {static_cast<std::byte*>(address_), size_}; }
  /// The size its creator asked for (0 for an empty segment).
  std::size_t size() const noexcept { return size_; }
  /// True unless the segment is empty (default-constructed or moved from).
  explicit operator bool() const noexcept { return address_ != nullptr; }

  /// This segment to pass to a child read-only: `spawn_child("reader", {}, {seg.read_only()})`.
  /// The child's ctx.segment(i) maps the same bytes through a handle that has no write
  /// access (POSIX: a descriptor opened O_RDONLY, mapped PROT_READ, so mprotect(PROT_WRITE)
  /// fails with EACCES; Windows: a section handle duplicated with FILE_MAP_READ only), so a
  /// store through its bytes() faults (SIGSEGV / SIGBUS; access violation 0xC0000005) and
  /// nothing in the child can make it writable. Under StartMethod::fork the child's view is
  /// remapped read-only in place, but a fork child also inherits this process's writable
  /// descriptor (see the README). spawn_child throws errc::not_supported where the OS offers
  /// no read-only handle (a portable POSIX segment made by InterprocessMutex or a waiting
  /// object, never one made by create / create_named / open_named).
  ReadOnlyShare<SharedSegment> read_only() const noexcept { return {this}; }
  /// True for a segment a child received read-only: bytes() may be read, a store faults.
  /// Passing it on to another child passes it read-only again.
  bool is_read_only() const noexcept { return read_only_; }

 private:
  friend struct detail::SegmentAccess;
  void reset() noexcept;

  void* address_ = nullptr;
  std::size_t size_ = 0;               // what the creator asked for
  std::size_t mapped_size_ = 0;        // size_ rounded up to whole pages
  std::intptr_t handle_ = -1;          // the OS handle of the memory object (detail::native_handle)
  std::intptr_t read_only_twin_ = -1;  // portable POSIX: a read-only descriptor of the same object
  bool read_only_ = false;             // mapped without write access
};

}  // namespace interproc
