// SPDX-License-Identifier: MIT
// The macOS-semantics layer: an LD_PRELOAD library for the portable build on Linux that
// makes the libc calls interproc uses answer as macOS (XNU) does for POSIX shared memory.
// Each rule below cites where XNU or Apple's manual says so; the sources are
//   [shm]   xnu bsd/kern/posix_shm.c (xnu-11417.121.6): shm_open, pshm_truncate,
//           pshm_stat, pshm_mmap, shm_unlink
//   [vfs]   xnu bsd/vfs/vfs_syscalls.c: fchmod1 -> file_vnode (bsd/kern/kern_descrip.c)
//   [man]   Apple's shm_open(2), shm_unlink(2) (xnu bsd/man/man2)
//   [ulock] xnu bsd/sys/ulock.h and bsd/kern/sys_ulock.c: __ulock_wait, __ulock_wake
//   [os_sync] Apple's <os/os_sync_wait_on_address.h> (macOS 14.4)
// The waits are a shared futex (no FUTEX_PRIVATE_FLAG). Built twice: with os_sync_* (macOS
// 14.4 and later) and, as libinterproc_macos_sim_ulock, without them (10.12 to 14.3).
// A descriptor is a POSIX shm object when /proc/self/fd/N points into /dev/shm/: a test
// with no state, so it holds in children that inherited the descriptor too.
// Not simulated: 16 KiB pages (sysconf still says 4096), the missing robust mutexes and
// /proc, posix_spawn's flags, code signing. Only a Mac shows those.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <cstdint>
#include <ctime>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

// PSHMNAMLEN, xnu bsd/sys/posix_shm.h: the longest name, its leading '/' included.
constexpr std::size_t pshm_name_max = 31;
// vm_map_page_mask of an arm64 process: the object's length is rounded to 16 KiB pages.
constexpr off_t mac_page = 16384;

off_t round_to_mac_pages(off_t size) { return (size + mac_page - 1) / mac_page * mac_page; }

template <typename F>
F next(const char* name) {
  static_assert(sizeof(F) == sizeof(void*));
  void* symbol = ::dlsym(RTLD_NEXT, name);
  F function;
  std::memcpy(&function, &symbol, sizeof function);
  return function;
}

#define INTERPROC_REAL(name) static const auto real = next<decltype(&::name)>(#name)

bool is_shm(int fd) {
  if (fd < 0) return false;
  char link[32];
  char target[16] = {};
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t length = ::readlink(link, target, sizeof target);
  return length >= 9 && std::memcmp(target, "/dev/shm/", 9) == 0;
}

int fail(int error) {
  errno = error;
  return -1;
}

// [shm] pshm_stat: the stat buffer is zeroed, then only st_mode = the creation mode (no
// S_IFREG: no file type at all), st_uid, st_gid and st_size = the page-rounded length.
template <typename Stat>
void as_pshm_stat(Stat* st) {
  const Stat real = *st;
  std::memset(st, 0, sizeof *st);
  st->st_mode = real.st_mode & ALLPERMS;
  st->st_uid = real.st_uid;
  st->st_gid = real.st_gid;
  st->st_size = round_to_mac_pages(real.st_size);
}

// [shm] pshm_truncate: one ftruncate per object lifetime ("PSHM_ALLOCATED" refuses the
// next with EINVAL), the length rounded up to whole pages (vm_map_round_page). Here an
// object counts as sized once its size is not 0.
template <typename Real>
int pshm_truncate(Real real, int fd, off_t length) {
  if (!is_shm(fd)) return real(fd, length);
  if (length < 0) return fail(EINVAL);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return -1;
  if (st.st_size != 0) return fail(EINVAL);
  return real(fd, round_to_mac_pages(length));
}

// [shm] pshm_mmap: MAP_SHARED only; the object must have been sized; the mapping must end
// within the page-rounded length (Linux would map it and raise SIGBUS on access);
// PROT_WRITE through a read-only descriptor is EPERM.
template <typename Real>
void* pshm_mmap(Real real, void* address, std::size_t length, int prot, int flags, int fd, off_t offset) {
  if ((flags & MAP_ANONYMOUS) == 0 && length != 0 && is_shm(fd)) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return MAP_FAILED;
    const int mode = ::fcntl(fd, F_GETFL);
    const auto end = static_cast<unsigned long long>(offset) + length;
    if ((flags & MAP_SHARED) == 0 || st.st_size == 0 || offset < 0 ||
        end > static_cast<unsigned long long>(round_to_mac_pages(st.st_size))) {
      errno = EINVAL;
      return MAP_FAILED;
    }
    if ((prot & PROT_WRITE) != 0 && mode != -1 && (mode & O_ACCMODE) == O_RDONLY) {
      errno = EPERM;
      return MAP_FAILED;
    }
  }
  return real(address, length, prot, flags, fd, offset);
}

// [ulock] ulock_wait: sleeps while *address == value; a different value returns at once,
// without an error; the timeout is in microseconds, 0 meaning none; -1 with ETIMEDOUT or
// EINTR otherwise. The word is 32 bits (UL_COMPARE_AND_WAIT*).
int futex_wait(void* address, std::uint64_t value, std::uint64_t timeout_ns) {
  timespec relative{static_cast<time_t>(timeout_ns / 1000000000), static_cast<long>(timeout_ns % 1000000000)};
  const long result = ::syscall(SYS_futex, static_cast<std::uint32_t*>(address), FUTEX_WAIT,
                                static_cast<std::uint32_t>(value), timeout_ns == 0 ? nullptr : &relative, nullptr, 0);
  if (result == 0 || errno == EAGAIN) return 0;
  return -1;  // errno: ETIMEDOUT, EINTR, EFAULT
}

// [ulock] ulock_wake: ENOENT when nobody was woken.
int futex_wake(void* address, bool all) {
  const long woken =
      ::syscall(SYS_futex, static_cast<std::uint32_t*>(address), FUTEX_WAKE, all ? INT32_MAX : 1, nullptr, nullptr, 0);
  if (woken < 0) return -1;
  return woken == 0 ? fail(ENOENT) : 0;
}

// [ulock] bsd/sys/ulock.h.
constexpr std::uint32_t ul_compare_and_wait = 1;
constexpr std::uint32_t ul_compare_and_wait_shared = 3;
constexpr std::uint32_t ul_opcode_mask = 0xff;
constexpr std::uint32_t ulf_wake_all = 0x100;
constexpr std::uint32_t ulf_no_errno = 0x01000000;

int ulock_result(std::uint32_t operation, int result) {
  return result < 0 && (operation & ulf_no_errno) != 0 ? -errno : result;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int __ulock_wait(std::uint32_t operation, void* address, std::uint64_t value,
                                                        std::uint32_t timeout_us) {
  const std::uint32_t opcode = operation & ul_opcode_mask;
  if (address == nullptr || (opcode != ul_compare_and_wait && opcode != ul_compare_and_wait_shared)) {
    return ulock_result(operation, fail(EINVAL));
  }
  return ulock_result(operation, futex_wait(address, value, std::uint64_t{timeout_us} * 1000));
}

__attribute__((visibility("default"))) int __ulock_wake(std::uint32_t operation, void* address, std::uint64_t) {
  const std::uint32_t opcode = operation & ul_opcode_mask;
  if (address == nullptr || (opcode != ul_compare_and_wait && opcode != ul_compare_and_wait_shared)) {
    return ulock_result(operation, fail(EINVAL));
  }
  return ulock_result(operation, futex_wake(address, (operation & ulf_wake_all) != 0));
}

#ifndef INTERPROC_MACOS_SIM_NO_OS_SYNC
// [os_sync] os_sync_wait_on_address*: size must be 4 or 8 (only 4 here), the timeout is
// relative and may not be 0 (EINVAL); -1 with ETIMEDOUT, EINTR, EFAULT; wakes: ENOENT with
// nobody waiting.
__attribute__((visibility("default"))) int os_sync_wait_on_address(void* address, std::uint64_t value, std::size_t size,
                                                                   std::uint32_t) {
  if (address == nullptr || size != 4) return fail(EINVAL);
  return futex_wait(address, value, 0);
}

__attribute__((visibility("default"))) int os_sync_wait_on_address_with_timeout(void* address, std::uint64_t value,
                                                                                std::size_t size, std::uint32_t,
                                                                                std::uint32_t,
                                                                                std::uint64_t timeout_ns) {
  if (address == nullptr || size != 4 || timeout_ns == 0) return fail(EINVAL);
  return futex_wait(address, value, timeout_ns);
}

__attribute__((visibility("default"))) int os_sync_wake_by_address_any(void* address, std::size_t size, std::uint32_t) {
  if (address == nullptr || size != 4) return fail(EINVAL);
  return futex_wake(address, false);
}

__attribute__((visibility("default"))) int os_sync_wake_by_address_all(void* address, std::size_t size, std::uint32_t) {
  if (address == nullptr || size != 4) return fail(EINVAL);
  return futex_wake(address, true);
}
#endif


// The self-test looks for this symbol to know that the layer is loaded.
__attribute__((visibility("default"))) int interproc_macos_sim_loaded = 1;
#ifndef INTERPROC_MACOS_SIM_NO_OS_SYNC
// ...and that it simulates os_sync_* too.
__attribute__((visibility("default"))) int interproc_macos_sim_os_sync = 1;
#endif

__attribute__((visibility("default"))) int fstat(int fd, struct stat* st) noexcept {
  INTERPROC_REAL(fstat);
  const int result = real(fd, st);
  if (result == 0 && S_ISREG(st->st_mode) && is_shm(fd)) as_pshm_stat(st);
  return result;
}

__attribute__((visibility("default"))) int fstat64(int fd, struct stat64* st) noexcept {
  INTERPROC_REAL(fstat64);
  const int result = real(fd, st);
  if (result == 0 && S_ISREG(st->st_mode) && is_shm(fd)) as_pshm_stat(st);
  return result;
}

__attribute__((visibility("default"))) int ftruncate(int fd, off_t length) noexcept {
  INTERPROC_REAL(ftruncate);
  return pshm_truncate(real, fd, length);
}

__attribute__((visibility("default"))) int ftruncate64(int fd, off64_t length) noexcept {
  INTERPROC_REAL(ftruncate64);
  return pshm_truncate(real, fd, length);
}

__attribute__((visibility("default"))) void* mmap(void* address, std::size_t length, int prot, int flags, int fd,
                                                  off_t offset) noexcept {
  INTERPROC_REAL(mmap);
  return pshm_mmap(real, address, length, prot, flags, fd, offset);
}

__attribute__((visibility("default"))) void* mmap64(void* address, std::size_t length, int prot, int flags, int fd,
                                                    off64_t offset) noexcept {
  INTERPROC_REAL(mmap64);
  return pshm_mmap(real, address, length, prot, flags, fd, offset);
}

__attribute__((visibility("default"))) int shm_open(const char* name, int oflag, mode_t mode) {
  INTERPROC_REAL(shm_open);
  static const auto real_fchmod = next<decltype(&::fchmod)>("fchmod");
  const std::size_t length = std::strlen(name);
  // [shm] pshm_get_name: copyinstr of at most PSHMNAMLEN + 1 bytes, so a longer name is
  // ENAMETOOLONG ([man] shm_open(2) ERRORS), an empty one EINVAL.
  if (length > pshm_name_max) return fail(ENAMETOOLONG);
  if (length == 0) return fail(EINVAL);
  // macOS 26.4 refuses every oflag bit beyond the five POSIX lists for shm_open (O_RDONLY,
  // O_RDWR, O_CREAT, O_EXCL, O_TRUNC; [man] shm_open(2) lists the same five): O_CLOEXEC
  // fails with EINVAL there (LadybirdBrowser/ladybird pull request 8614). Earlier releases
  // ignored it ([shm] shm_open sets FP_CLOEXEC on every descriptor anyway).
  if ((oflag & ~(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC)) != 0) return fail(EINVAL);
  if ((oflag & O_CREAT) == 0) return real(name, oflag, mode);
  // [shm] shm_open: a new object's mode is `mode & ALLPERMS`, the umask is not applied
  // (shm_open(2) says it is; the kernel does not). So create with O_EXCL to know whether
  // this call created it, then set the exact mode.
  for (;;) {
    const int fd = real(name, oflag | O_EXCL, mode);
    if (fd >= 0) {
      (void)real_fchmod(fd, mode & ALLPERMS);
      return fd;
    }
    if (errno != EEXIST || (oflag & O_EXCL) != 0) return -1;
    const int existing = real(name, oflag & ~O_CREAT, mode);
    if (existing >= 0 || errno != ENOENT) return existing;  // ENOENT: unlinked meanwhile
  }
}

__attribute__((visibility("default"))) int shm_unlink(const char* name) {
  INTERPROC_REAL(shm_unlink);
  // [shm] shm_unlink: any pshm_get_name failure, a too long name included, is EINVAL
  // (shm_unlink(2) documents ENAMETOOLONG; the kernel overwrites it).
  const std::size_t length = std::strlen(name);
  if (length == 0 || length > pshm_name_max) return fail(EINVAL);
  return real(name);
}

// [vfs] fchmod1 takes the vnode of the descriptor through file_vnode, which fails with
// EINVAL for anything but a DTYPE_VNODE file: a shm object (DTYPE_PSXSHM) cannot be chmod'ed.
__attribute__((visibility("default"))) int fchmod(int fd, mode_t mode) noexcept {
  INTERPROC_REAL(fchmod);
  if (is_shm(fd)) return fail(EINVAL);
  return real(fd, mode);
}

// macOS has no memfd_create(2).
__attribute__((visibility("default"))) int memfd_create(const char*, unsigned int) noexcept { return fail(ENOSYS); }

}  // extern "C"
