// POSIX shared memory: named segments through shm_open(3), mapping through mmap(2).
// Anonymous segments are in anonymous_segment_linux.cpp (memfd) or
// anonymous_segment_portable_posix.cpp (shm_open + shm_unlink).

#include "common/fail.hpp"
#include "posix/segment_posix.hpp"

#include <cerrno>
#include <cstdint>
#include <limits>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace interproc::detail {
namespace {

std::string shm_path(const std::string& name) { return "/" + name; }

}  // namespace

std::size_t page_size() noexcept { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

MappedSegment map_whole(ScopedHandle fd, std::size_t size, const std::string& what) {
  const std::size_t mapped = round_to_pages(size);
  void* address = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, static_cast<int>(fd.get()), 0);
  if (address == MAP_FAILED) fail_errno(errno, "mmap(" + what + ", " + std::to_string(size) + " bytes)");
  return MappedSegment{std::move(fd), address, size, mapped};
}

MappedSegment size_and_map(ScopedHandle fd, std::size_t size, const std::string& what) {
  if (size > static_cast<std::size_t>(std::numeric_limits<off_t>::max()) ||
      ::ftruncate(static_cast<int>(fd.get()), static_cast<off_t>(size)) != 0) {
    const int saved = size > static_cast<std::size_t>(std::numeric_limits<off_t>::max()) ? EFBIG : errno;
    fail_errno(saved, "ftruncate(" + what + ", " + std::to_string(size) + ")");
  }
  return map_whole(std::move(fd), size, what);
}

MappedSegment create_named_segment(const std::string& name, std::size_t size) {
  const std::string path = shm_path(name);
  // O_EXCL: never attach to an object someone else planted. Mode 0600: owner only.
  // shm_open(3) sets FD_CLOEXEC on the new descriptor.
  ScopedHandle fd(::shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, S_IRUSR | S_IWUSR));
  if (!fd.valid()) fail_errno(errno, "shm_open(" + quoted(path) + ", O_CREAT | O_EXCL)");
  try {
    return size_and_map(std::move(fd), size, "shm_open(" + quoted(path) + ")");
  } catch (...) {
    ::shm_unlink(path.c_str());
    throw;
  }
}

MappedSegment open_named_segment(const std::string& name) {
  const std::string path = shm_path(name);
  ScopedHandle fd(::shm_open(path.c_str(), O_RDWR, 0));
  if (!fd.valid()) fail_errno(errno, "shm_open(" + quoted(path) + ")");
  struct stat st {};
  if (::fstat(static_cast<int>(fd.get()), &st) != 0) fail_errno(errno, "fstat(" + quoted(path) + ")");
  // The creator sizes the object right after creating it; size 0 means it has not yet.
  if (st.st_size <= 0) fail(errc::invalid_size, "shm_open(" + quoted(path) + "): the segment has no size yet");
  return map_whole(std::move(fd), static_cast<std::size_t>(st.st_size), quoted(path));
}

bool remove_named_segment(const std::string& name) {
  const std::string path = shm_path(name);
  if (::shm_unlink(path.c_str()) == 0) return true;
  const int saved = errno;
  if (saved == ENOENT) return false;
  fail_errno(saved, "shm_unlink(" + quoted(path) + ")");
}

MappedSegment map_inherited_segment(native_handle h, std::size_t size) {
  ScopedHandle fd(h);
  struct stat st {};
  const std::string what = "inherited descriptor " + std::to_string(h);
  if (h < 0 || h > std::numeric_limits<int>::max() || ::fstat(static_cast<int>(h), &st) != 0) {
    (void)fd.release();  // not ours to close: it is not an open descriptor
    fail(errc::bad_handle_argument, what + " is not open");
  }
  if (!S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) < size) {
    fail(errc::bad_handle_argument, what + " is not a shared memory object of " + std::to_string(size) + " bytes");
  }
  return map_whole(std::move(fd), size, what);
}

void unmap_segment(void* address, std::size_t mapped_size) noexcept { ::munmap(address, mapped_size); }

}  // namespace interproc::detail
