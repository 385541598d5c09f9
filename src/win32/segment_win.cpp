// SPDX-License-Identifier: MIT
// Windows shared memory: pagefile-backed sections (CreateFileMappingW on
// INVALID_HANDLE_VALUE), always mapped whole with MapViewOfFile. Named sections live in the
// session's Local\ namespace as "Local\interproc.<name>".
//
// The exact size: a section only knows its size rounded up to whole pages. Both
// NtQuerySection(SectionBasicInformation).MaximumSize and VirtualQuery on a view report the
// rounded size (checked under Wine: 1 byte -> 4096, 5000 -> 8192; ReactOS's NtQuerySection
// test, run on Windows Server 2003, expects the same). So a named section carries a
// SizeRecord in its last bytes, past everything bytes() shows, written by the creator and
// read by open_named_segment(). Anonymous and inherited segments need none: their size
// travels with the handle.

#include "common/fail.hpp"
#include "common/segment_backend.hpp"
#include "win32/owner_only_security.hpp"
#include "win32/win_util.hpp"

#include <windows.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace interproc::detail {
namespace {

std::wstring object_name(const std::string& name) {
  // Names arrive validated as [A-Za-z0-9._-], so widening char by char is exact.
  return L"Local\\interproc." + std::wstring(name.begin(), name.end());
}
std::string shown_name(const std::string& name) { return quoted("Local\\interproc." + name); }

struct SizeRecord {
  std::uint64_t tag;  // what the segment holds (segment_tag), written before the size
  std::uint64_t magic;
  volatile LONG64 size;  // 0 until the creator has finished; Interlocked* on both sides
};
constexpr std::uint64_t size_record_magic = 0x455a495350495049;  // "IPIPSIZE"

SizeRecord* size_record(void* address, std::size_t mapped_size) noexcept {
  return reinterpret_cast<SizeRecord*>(static_cast<char*>(address) + mapped_size - sizeof(SizeRecord));
}

// The whole section, read and write (or read only). Empty view (not thrown) on failure;
// GetLastError() says why.
ScopedView map_all(const ScopedHandle& section, bool writable = true) noexcept {
  const DWORD access = writable ? FILE_MAP_READ | FILE_MAP_WRITE : FILE_MAP_READ;
  return ScopedView(::MapViewOfFile(as_handle(section.get()), access, 0, 0, 0));
}

// The size of a view mapped whole: the section's size in whole pages.
std::size_t view_size(void* address) noexcept {
  MEMORY_BASIC_INFORMATION info{};
  if (::VirtualQuery(address, &info, sizeof info) != sizeof info) return 0;
  return info.RegionSize;
}

ScopedHandle create_section(SECURITY_ATTRIBUTES* security, std::uint64_t size, const wchar_t* name,
                            const std::string& shown) {
  ::SetLastError(ERROR_SUCCESS);  // ERROR_ALREADY_EXISTS below must come from this call
  ScopedHandle section(
      from_handle(::CreateFileMappingW(INVALID_HANDLE_VALUE, security, PAGE_READWRITE, static_cast<DWORD>(size >> 32),
                                       static_cast<DWORD>(size & 0xffffffffu), name)));
  if (!section.valid()) {
    // A section of that name that another user holds (or one whose DACL shuts us out):
    // CreateFileMappingW tries to open it and is refused. It exists all the same.
    if (name != nullptr && ::GetLastError() == ERROR_ACCESS_DENIED) {
      throw std::system_error(std::make_error_code(std::errc::file_exists), "CreateFileMappingW(" + shown + ")");
    }
    fail_last_error("CreateFileMappingW", shown);
  }
  // An existing object of that name is opened instead of created: never attach to it.
  if (name != nullptr && ::GetLastError() == ERROR_ALREADY_EXISTS) {
    throw std::system_error(std::make_error_code(std::errc::file_exists), "CreateFileMappingW(" + shown + ")");
  }
  return section;
}

}  // namespace

std::size_t page_size() noexcept {
  // dwPageSize, not dwAllocationGranularity: views start on 64 KiB boundaries but their
  // size is rounded to pages.
  SYSTEM_INFO info{};
  ::GetSystemInfo(&info);
  return info.dwPageSize;
}

MappedSegment create_anonymous_segment(std::size_t size, bool /*shareable: any section can be*/) {
  const std::string shown = "anonymous, " + std::to_string(size) + " bytes";
  ScopedHandle section = create_section(nullptr, size, nullptr, shown);  // zero-filled by the OS
  ScopedView view = map_all(section);
  if (view.get() == nullptr) fail_last_error("MapViewOfFile", shown);
  return MappedSegment{std::move(section), view.release(), size, round_to_pages(size), 0, false, {}};
}

MappedSegment create_named_segment(const std::string& name, std::size_t size, std::uint64_t tag) {
  const std::string shown = shown_name(name);
  OwnerOnlySecurity security;
  const std::size_t section_size = size + sizeof(SizeRecord);  // sizes arrive below SIZE_MAX / 2
  ScopedHandle section = create_section(security.get(), section_size, object_name(name).c_str(), shown);
  ScopedView view = map_all(section);
  if (view.get() == nullptr) fail_last_error("MapViewOfFile", shown);
  const std::size_t mapped = round_to_pages(section_size);
  SizeRecord* record = size_record(view.get(), mapped);
  record->tag = tag;
  record->magic = size_record_magic;
  ::InterlockedExchange64(&record->size, static_cast<LONG64>(size));  // full barrier: tag and magic first
  return MappedSegment{std::move(section), view.release(), size, mapped, tag, false, {}};
}

MappedSegment open_named_segment(const std::string& name) {
  const std::string shown = shown_name(name);
  ScopedHandle section(
      from_handle(::OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, object_name(name).c_str())));
  if (!section.valid()) {
    const DWORD error = ::GetLastError();
    if (error == ERROR_FILE_NOT_FOUND) {
      throw std::system_error(std::make_error_code(std::errc::no_such_file_or_directory),
                              "OpenFileMappingW(" + shown + ")");
    }
    // Another kind of object (an event, a mutex) holds the name in the same namespace.
    if (error == ERROR_INVALID_HANDLE) fail(errc::foreign_object, "OpenFileMappingW(" + shown + "): not a section");
    throw_win32(error, "OpenFileMappingW(" + shown + ")");
  }
  ScopedView view = map_all(section);
  if (view.get() == nullptr) fail_last_error("MapViewOfFile", shown);
  const std::size_t mapped = view_size(view.get());
  if (mapped < sizeof(SizeRecord)) fail(errc::foreign_object, "VirtualQuery(" + shown + "): no view size");
  SizeRecord* record = size_record(view.get(), mapped);
  const auto size = static_cast<std::size_t>(::InterlockedCompareExchange64(&record->size, 0, 0));
  // As on POSIX, where the creator sizes the object after creating it: not finished yet.
  if (size == 0) fail(errc::not_ready, "OpenFileMappingW(" + shown + "): the segment has no size yet");
  if (record->magic != size_record_magic || round_to_pages(size + sizeof(SizeRecord)) != mapped) {
    fail(errc::foreign_object, "OpenFileMappingW(" + shown + "): not a segment created by interproc");
  }
  return MappedSegment{std::move(section), view.release(), size, mapped, record->tag, false, {}};
}

bool remove_named_segment(const std::string& name) {
  // Windows has no unlink: a named section lives exactly as long as a handle to it, and its
  // name goes with the last one. So this only reports whether one exists now.
  const ScopedHandle section(from_handle(::OpenFileMappingW(FILE_MAP_READ, FALSE, object_name(name).c_str())));
  if (section.valid()) return true;
  const DWORD error = ::GetLastError();
  if (error == ERROR_FILE_NOT_FOUND) return false;
  if (error == ERROR_ACCESS_DENIED) return true;  // it exists, owned by another user
  throw_win32(error, "OpenFileMappingW(" + shown_name(name) + ")");
}

MappedSegment map_inherited_segment(native_handle h, std::size_t size, bool read_only) {
  // The parent duplicated it into this process (spawn_win.cpp): not inheritable. A read-only
  // one has FILE_MAP_READ access only, so a write view of it is refused (MapViewOfFile:
  // ERROR_ACCESS_DENIED) and VirtualProtect cannot make the read view writable.
  const std::string shown = "inherited handle " + std::to_string(h);
  ScopedHandle section(h);
  ScopedView view = map_all(section, !read_only);
  if (view.get() == nullptr) {
    // Not a section we can map (a forged or stale value, or another kind of object): it is
    // not ours to close, it may be some other live handle of this process.
    (void)section.release();
    fail(errc::bad_handle_argument, shown + " is not a shared memory section");
  }
  const std::size_t mapped = view_size(view.get());
  if (mapped < size) {
    fail(errc::bad_handle_argument,
         shown + " is a section of " + std::to_string(mapped) + " bytes, not " + std::to_string(size));
  }
  return MappedSegment{std::move(section), view.release(), size, mapped, 0, read_only, {}};
}

ScopedHandle read_only_handle(native_handle handle, native_handle /*twin*/) {
  // DuplicateHandle with FILE_MAP_READ as the new handle's only access (not
  // DUPLICATE_SAME_ACCESS): whoever holds it can map the section for reading only.
  HANDLE duplicate = nullptr;
  const HANDLE self = ::GetCurrentProcess();
  if (!::DuplicateHandle(self, as_handle(handle), self, &duplicate, FILE_MAP_READ, FALSE, 0))
    fail_last_error("DuplicateHandle", "FILE_MAP_READ");
  return ScopedHandle(from_handle(duplicate));
}

// Windows keeps named sections in the object manager's session directory, which Win32 does
// not list (only the native NtQueryDirectoryObject does), and they go with their last
// handle: there are no dead creators' names to find.
std::optional<NamedSegmentInfo> inspect_named_segment(const std::string&) noexcept { return std::nullopt; }

std::vector<std::string> list_segment_names() {
  fail(errc::not_supported, "Windows removes a named object with its last handle: there is no list to clean");
}

bool process_alive(long) noexcept { return true; }

void remap_read_only(void*, std::size_t, native_handle) {
  fail(errc::not_supported, "fork has no Windows counterpart");
}

void unmap_segment(void* address, std::size_t /*mapped_size: views are unmapped whole*/) noexcept {
  ::UnmapViewOfFile(address);
}

}  // namespace interproc::detail
