// SPDX-License-Identifier: MIT
// POSIX shared memory: named segments through shm_open(3), mapping through mmap(2).
// Anonymous segments are in anonymous_segment_linux.cpp (memfd) or
// anonymous_segment_portable.cpp (shm_open + shm_unlink).
//
// Every object ends in a SegmentRecord (its creator's pid, its tag, a magic number and the
// creator's size), past the bytes that bytes() shows. It gives open_named and a child the exact size where the OS only
// knows a rounded one (macOS rounds a shm object to the page: pshm_truncate in XNU's
// bsd/kern/posix_shm.c, 16 KiB on arm64), and it tells an interproc object from any other
// descriptor a forged token might name. Objects are sized in whole multiples of 16 KiB (or
// the page, if larger), so that no OS's rounding moves the record.

#include "common/fail.hpp"
#include "posix/segment_posix.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdint>
#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <limits>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#endif

namespace interproc::detail {
namespace {

struct SegmentRecord {
  std::atomic<std::uint64_t> creator;  // the creator's pid (names_in_use, the name watcher)
  std::atomic<std::uint64_t> tag;      // what the object holds (segment_tag), written before the size
  std::atomic<std::uint64_t> magic;
  std::atomic<std::uint64_t> size;  // 0 until the creator has finished
};
constexpr std::uint64_t record_magic = 0x4452434553504950;  // "PIPSECRD"

std::string shm_path(const std::string& name) { return "/" + name; }

std::size_t granule() noexcept { return std::max<std::size_t>(page_size(), 16384); }

// The object's length for `size` user bytes: sizes arrive below SIZE_MAX / 2.
std::size_t object_length(std::size_t size) noexcept {
  return (size + sizeof(SegmentRecord) + granule() - 1) / granule() * granule();
}

SegmentRecord& record_of(void* address, std::size_t length) noexcept {
  return *reinterpret_cast<SegmentRecord*>(static_cast<char*>(address) + length - sizeof(SegmentRecord));
}

// Reserves the object's memory now, where the OS can (Linux tmpfs and memfd: fallocate(2)),
// so that a full /dev/shm fails here with ENOSPC instead of a SIGBUS on first touch. Sizes
// that cannot fit are refused before fallocate, which would otherwise fill all memory
// trying (memfd's own mount has no size limit).
void reserve(int fd, std::size_t length, const std::string& what) {
#ifdef __linux__
  const std::string call = "fallocate(" + what + ", " + std::to_string(length) + " bytes)";
  struct statfs fs {};
  if (::fstatfs(fd, &fs) == 0 && fs.f_blocks != 0 && length / static_cast<std::size_t>(fs.f_bsize) >= fs.f_bavail) {
    fail_errno(ENOSPC, call);
  }
  struct sysinfo memory {};
  if (::sysinfo(&memory) == 0 && length / memory.mem_unit >= memory.totalram + memory.totalswap)
    fail_errno(ENOMEM, call);
  if (::fallocate(fd, 0, 0, static_cast<off_t>(length)) != 0 && errno != EOPNOTSUPP) fail_errno(errno, call);
#else
  (void)fd, (void)length, (void)what;  // macOS shm objects are backed by anonymous VM
#endif
}

void* map_length(int fd, std::size_t length, const std::string& what, bool writable = true) {
  void* address = ::mmap(nullptr, length, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  if (address == MAP_FAILED) fail_errno(errno, "mmap(" + what + ", " + std::to_string(length) + " bytes)");
  return address;
}

// The object's length as fstat reports it; throws `error` when there is none to read.
std::size_t object_size(int fd, const std::string& what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_errno(errno, "fstat(" + what + ")");
  return static_cast<std::size_t>(std::max<off_t>(st.st_size, 0));
}

// A creator sizes and records its object within microseconds of creating it (size_and_map).
// An object still unfinished after this long was planted, or its creator died making it:
// waiting longer cannot help, so it is foreign, not "not ready".
constexpr std::chrono::seconds creation_window{2};

// Whether the object was last changed (ctime: created, chmod-ed, sized) within the creation
// window, so that an unfinished one may still be finished by its creator. macOS reports no
// times for shm objects (XNU bsd/kern/posix_shm.c, pshm_stat zeroes them), and nobody can
// plant a file among them: there an unfinished object stays not ready.
bool recently_changed(int fd) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  if (st.st_ctime == 0) return true;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto changed = std::chrono::seconds(st.st_ctime);
  return now - changed < creation_window + std::chrono::seconds(1);  // st_ctime is in whole seconds
}

[[noreturn]] void fail_unfinished(int fd, const std::string& what) {
  if (recently_changed(fd)) fail(errc::not_ready, what + ": the segment is not ready yet");
  fail(errc::foreign_object, what + " is not an interproc segment (never finished by its creator)");
}

// Maps an existing object whole and reads its record: the creator's size. Foreign
// objects, and ones whose creator has not finished, are refused.
MappedSegment map_recorded(ScopedHandle fd, const std::string& what, bool read_only = false) {
  const int descriptor = static_cast<int>(fd.get());
  const std::size_t length = object_size(descriptor, what);
  if (length == 0) fail_unfinished(descriptor, what);
  if (length % granule() != 0) fail(errc::foreign_object, what + " is not an interproc segment");
  void* address = map_length(descriptor, length, what, !read_only);
  const SegmentRecord& record = record_of(address, length);
  const std::uint64_t size = record.size.load(std::memory_order_acquire);
  const std::uint64_t magic = record.magic.load(std::memory_order_relaxed);
  const std::uint64_t tag = record.tag.load(std::memory_order_relaxed);
  if (magic == record_magic && size != 0 && object_length(static_cast<std::size_t>(size)) == length) {
    return MappedSegment{std::move(fd), address, static_cast<std::size_t>(size), length, tag, read_only, {}};
  }
  ::munmap(address, length);
  if (magic == 0 || (magic == record_magic && size == 0)) fail_unfinished(descriptor, what);
  fail(errc::foreign_object, what + " is not an interproc segment");
}

// Mode 0600 whatever the umask: Linux applies it to shm_open's mode (a umask of 0277 leaves
// 0400, which its owner cannot open read-write). macOS does not (XNU's pshm_open keeps the
// mode as given) and refuses fchmod on shm objects (fchmod1 accepts vnodes only: EINVAL),
// so fchmod runs only where the mode needs it.
void set_owner_only(int fd, const std::string& shown) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_errno(errno, "fstat(" + shown + ")");
  if ((st.st_mode & 0777) != (S_IRUSR | S_IWUSR) && ::fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
    fail_errno(errno, "fchmod(" + shown + ", 0600)");
  }
}

}  // namespace

std::size_t page_size() noexcept { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

int above_standard_streams(int fd) noexcept {
  if (fd < 0 || fd > 2) return fd;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return moved;
}

MappedSegment size_and_map(ScopedHandle fd, std::size_t size, const std::string& what, std::uint64_t tag) {
  const std::size_t length = object_length(size);
  const int descriptor = static_cast<int>(fd.get());
  if (length > static_cast<std::size_t>(std::numeric_limits<off_t>::max())) {
    fail_errno(EFBIG, "ftruncate(" + what + ", " + std::to_string(length) + ")");
  }
  // The one ftruncate an object gets: macOS refuses a second (pshm_truncate, PSHM_ALLOCATED).
  if (::ftruncate(descriptor, static_cast<off_t>(length)) != 0) {
    fail_errno(errno, "ftruncate(" + what + ", " + std::to_string(length) + ")");
  }
  reserve(descriptor, length, what);
  void* address = map_length(descriptor, length, what);
  SegmentRecord& record = record_of(address, length);
  record.creator.store(static_cast<std::uint64_t>(::getpid()), std::memory_order_relaxed);
  record.tag.store(tag, std::memory_order_relaxed);
  record.magic.store(record_magic, std::memory_order_relaxed);
  record.size.store(size, std::memory_order_release);  // an opener that sees the size sees the rest
  return MappedSegment{std::move(fd), address, size, length, tag, false, {}};
}

MappedSegment create_named_segment(const std::string& name, std::size_t size, std::uint64_t tag) {
  const std::string path = shm_path(name);
  // O_EXCL: never attach to an object someone else planted. No O_CLOEXEC: macOS's shm_open
  // refuses flags beyond O_RDONLY/O_RDWR/O_CREAT/O_EXCL/O_TRUNC; shm_open(3) sets FD_CLOEXEC.
  ScopedHandle fd(above_standard_streams(::shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, S_IRUSR | S_IWUSR)));
  if (!fd.valid()) fail_errno(errno, "shm_open(" + quoted(path) + ", O_CREAT | O_EXCL)");
  try {
    set_owner_only(static_cast<int>(fd.get()), quoted(path));
    MappedSegment segment = size_and_map(std::move(fd), size, "shm_open(" + quoted(path) + ")", tag);
    if (may_be_read_only(tag)) segment.read_only_twin = read_only_twin(path);
    return segment;
  } catch (...) {
    ::shm_unlink(path.c_str());
    throw;
  }
}

// The errors of opening something at a name that is not a shared memory object: a symbolic
// link (O_NOFOLLOW: ELOOP; glibc's shm_open adds O_NOFOLLOW itself), a directory (EISDIR,
// which glibc's shm_open reports as EINVAL: sysdeps/posix/shm_open.c; names arrive
// validated, so EINVAL means nothing else), a socket (ENXIO, open(2)) or a device (ENODEV,
// EOPNOTSUPP).
bool names_other_object(int error) noexcept {
  return error == ELOOP || error == EISDIR || error == EINVAL || error == ENXIO || error == ENODEV ||
         error == EOPNOTSUPP;
}

MappedSegment open_named_segment(const std::string& name) {
  const std::string path = shm_path(name);
  // Only Linux keeps shm names as files (/dev/shm), where anyone may plant a FIFO, socket,
  // directory or link at one. glibc's shm_open opens with O_NOFOLLOW, and an O_RDWR open of
  // a FIFO never blocks on Linux (fifo(7)). No flags beyond O_RDWR: macOS refuses them.
  ScopedHandle fd(above_standard_streams(::shm_open(path.c_str(), O_RDWR, 0)));
  if (!fd.valid()) {
    const int error = errno;
    if (names_other_object(error))
      fail(errc::foreign_object, "shm_open(" + quoted(path) + "): not a shared memory object (" +
                                     std::generic_category().message(error) + ")");
    fail_errno(error, "shm_open(" + quoted(path) + ")");
  }
  struct stat st {};
  if (::fstat(static_cast<int>(fd.get()), &st) != 0) fail_errno(errno, "fstat(" + quoted(path) + ")");
  // A FIFO, socket or device at the name (Linux's /dev/shm is a directory anyone may write).
  // macOS reports no file type at all for a shm object (XNU bsd/kern/posix_shm.c, pshm_stat).
  if ((st.st_mode & S_IFMT) != 0 && !S_ISREG(st.st_mode))
    fail(errc::foreign_object, "shm_open(" + quoted(path) + "): not a shared memory object");
  // Another user's object, or one that others may write, may have been planted to be mapped.
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    fail(errc::foreign_object, "shm_open(" + quoted(path) + "): owned by another user or writable by others");
  }
  MappedSegment segment = map_recorded(std::move(fd), "shm_open(" + quoted(path) + ")");
  if (may_be_read_only(segment.tag)) segment.read_only_twin = read_only_twin(path);
  return segment;
}

bool remove_named_segment(const std::string& name) {
  const std::string path = shm_path(name);
  if (::shm_unlink(path.c_str()) == 0) return true;
  const int saved = errno;
  if (saved == ENOENT) return false;
  fail_errno(saved, "shm_unlink(" + quoted(path) + ")");
}

MappedSegment map_inherited_segment(native_handle h, std::size_t size, bool read_only) {
  const std::string what = "inherited descriptor " + std::to_string(h);
  // 0-2 are the standard streams: never take (and on failure close) them.
  if (h <= 2 || h > std::numeric_limits<int>::max() || ::fcntl(static_cast<int>(h), F_GETFD) == -1) {
    fail(errc::bad_handle_argument, what + " is not an open shared memory object");
  }
  try {
    // A read-only descriptor must be one: a writable one mapped PROT_READ could be mprotect-ed back.
    ScopedHandle owned(h);
    if (read_only && (::fcntl(static_cast<int>(h), F_GETFL) & O_ACCMODE) != O_RDONLY)
      fail(errc::bad_handle_argument, what + " is passed read-only but is open for writing");
    MappedSegment segment = map_recorded(std::move(owned), what, read_only);
    if (segment.size == size) return segment;
    unmap_segment(segment.address, segment.mapped_size);
  } catch (const std::system_error& e) {
    fail(errc::bad_handle_argument, e.what());
  }
  fail(errc::bad_handle_argument, what + " is not a shared memory object of " + std::to_string(size) + " bytes");
}

void unmap_segment(void* address, std::size_t mapped_size) noexcept { ::munmap(address, mapped_size); }

std::optional<NamedSegmentInfo> inspect_named_segment(const std::string& name) noexcept {
  try {
    const std::string path = shm_path(name);
    ScopedHandle fd(above_standard_streams(::shm_open(path.c_str(), O_RDONLY, 0)));
    if (!fd.valid()) return std::nullopt;
    struct stat st {};
    if (::fstat(static_cast<int>(fd.get()), &st) != 0 || ((st.st_mode & S_IFMT) != 0 && !S_ISREG(st.st_mode)))
      return std::nullopt;
    MappedSegment segment = map_recorded(std::move(fd), quoted(path), true);
    const long creator =
        static_cast<long>(record_of(segment.address, segment.mapped_size).creator.load(std::memory_order_relaxed));
    unmap_segment(segment.address, segment.mapped_size);
    return NamedSegmentInfo{segment.tag, segment.size, creator};
  } catch (...) {  // foreign, unfinished, or out of memory: nothing to show
    return std::nullopt;
  }
}

std::vector<std::string> list_segment_names() {
  // glibc and musl keep shm_open names as files in /dev/shm (shm_overview(7)); macOS and
  // the BSDs have no directory of them and no call that lists them.
  DIR* directory = ::opendir("/dev/shm");
  if (directory == nullptr) fail(errc::not_supported, "this OS offers no list of shared memory names (no /dev/shm)");
  std::vector<std::string> names;
  // readdir(3) is safe on a DIR stream that only this call uses.
  while (const dirent* entry = ::readdir(directory)) {  // NOLINT(concurrency-mt-unsafe)
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(directory);
  return names;
}

bool process_alive(long pid) noexcept {
  if (pid <= 0 || pid > std::numeric_limits<pid_t>::max()) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

void remap_read_only(void* address, std::size_t mapped_size, native_handle read_only) {
  // mmap(2) MAP_FIXED replaces the pages at `address` in one step: no moment without a mapping.
  if (::mmap(address, mapped_size, PROT_READ, MAP_SHARED | MAP_FIXED, static_cast<int>(read_only), 0) == MAP_FAILED)
    fail_errno(errno, "mmap(read-only descriptor " + std::to_string(read_only) + ", MAP_FIXED)");
}

}  // namespace interproc::detail
