// SPDX-License-Identifier: MIT
// Self-test of the macOS-semantics layer: every rule macos_sim.cpp simulates, asserted, so
// that a layer which is not loaded or does nothing fails.
//   interproc_macos_sim_test <path of libinterproc_macos_sim.so>
// Without the layer in this process it runs itself again with LD_PRELOAD set to that path,
// unless INTERPROC_MACOS_SIM=1 says the caller (the macos-sim test preset) preloaded it
// already: then its absence is a failure.

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <sys/wait.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

// -1 with errno `expected`.
void check_error(int result, int expected, const char* what) {
  const int error = errno;
  const bool ok = result == -1 && error == expected;
  check(ok, what);
  if (!ok) std::printf("      got %d, errno %d (%s)\n", result, error, std::strerror(error));
}

bool layer_loaded() { return ::dlsym(RTLD_DEFAULT, "interproc_macos_sim_loaded") != nullptr; }

void test_shm_object() {
  const std::string name = "/imsim-" + std::to_string(::getpid());
  ::shm_unlink(name.c_str());
  const mode_t old_umask = ::umask(077);
  const int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0644);
  ::umask(old_umask);
  check(fd >= 0, "shm_open(O_RDWR | O_CREAT | O_EXCL) succeeds");
  if (fd < 0) return;

  struct stat st {};
  check(::fstat(fd, &st) == 0 && st.st_mode == 0644, "fstat: st_mode is the creation mode, umask not applied");
  check((st.st_mode & S_IFMT) == 0, "fstat: st_mode has no file type (no S_IFREG)");
  check(st.st_size == 0, "fstat: an unsized object has size 0");
  check_error(::fchmod(fd, 0600), EINVAL, "fchmod on a shm object: EINVAL");
  check_error(::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0, EINVAL,
              "mmap of an unsized object: EINVAL");

  check(::ftruncate(fd, 100) == 0, "first ftruncate(100) succeeds");
  const bool rounded = ::fstat(fd, &st) == 0 && st.st_size == 16384;
  check(rounded, "fstat: size 100 reads as 16384 (16 KiB pages)");
  struct stat64 st64 {};
  check(::fstat64(fd, &st64) == 0 && st64.st_size == 16384 && (st64.st_mode & S_IFMT) == 0,
        "fstat64: the same answers");
  check_error(::ftruncate(fd, 200), EINVAL, "second ftruncate: EINVAL");
  check_error(::ftruncate64(fd, 100), EINVAL, "second ftruncate64: EINVAL");

  void* whole = ::mmap(nullptr, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  check(whole != MAP_FAILED, "mmap of the rounded size succeeds");
  if (whole != MAP_FAILED) {
    if (rounded) static_cast<char*>(whole)[16383] = 1;  // the rounded length is really backed
    ::munmap(whole, 16384);
  }
  check_error(::mmap(nullptr, 16385, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0, EINVAL,
              "mmap beyond the rounded size: EINVAL");
  check_error(::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED ? -1 : 0, EINVAL,
              "mmap MAP_PRIVATE: EINVAL");

  const int reader = ::shm_open(name.c_str(), O_RDONLY, 0);
  check(reader >= 0, "shm_open(O_RDONLY) of the existing object succeeds");
  if (reader >= 0) {
    check_error(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, reader, 0) == MAP_FAILED ? -1 : 0, EPERM,
                "mmap PROT_WRITE through a read-only descriptor: EPERM");
    ::close(reader);
  }

  // Unlinked, the object is still one (an anonymous segment is such an object).
  check(::shm_unlink(name.c_str()) == 0, "shm_unlink succeeds");
  check(::fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == 0 && st.st_size == 16384,
        "fstat of an unlinked object: still no file type, size 16384");
  ::close(fd);
}

void test_names_and_flags() {
  const std::string name31 = "/" + std::string(30, 'n');
  const std::string name32 = "/" + std::string(31, 'n');
  const int fd = ::shm_open(name31.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  check(fd >= 0, "shm_open of a 31-byte name succeeds");
  if (fd >= 0) {
    ::close(fd);
    ::shm_unlink(name31.c_str());
  }
  check_error(::shm_open(name32.c_str(), O_RDWR | O_CREAT, 0600), ENAMETOOLONG,
              "shm_open of a 32-byte name: ENAMETOOLONG");
  check_error(::shm_unlink(name32.c_str()), EINVAL, "shm_unlink of a 32-byte name: EINVAL");
  const std::string name = "/imsim-cloexec-" + std::to_string(::getpid());
  check_error(::shm_open(name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600), EINVAL, "shm_open with O_CLOEXEC: EINVAL");
  ::shm_unlink(name.c_str());
  check_error(::memfd_create("imsim", MFD_CLOEXEC), ENOSYS, "memfd_create: ENOSYS");
}

// Other files keep Linux's answers.
void test_regular_file() {
  char path[] = "/tmp/imsim-XXXXXX";
  const int fd = ::mkstemp(path);
  check(fd >= 0, "mkstemp succeeds");
  if (fd < 0) return;
  ::unlink(path);
  struct stat st {};
  check(::ftruncate(fd, 100) == 0 && ::ftruncate(fd, 200) == 0, "a regular file: ftruncate twice succeeds");
  check(::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 200, "a regular file: fstat unchanged");
  check(::fchmod(fd, 0600) == 0, "a regular file: fchmod succeeds");
  ::close(fd);
}

template <typename F>
F find(const char* name) {
  void* symbol = ::dlsym(RTLD_DEFAULT, name);
  F f = nullptr;
  std::memcpy(&f, &symbol, sizeof f);
  return f;
}

using UlockWait = int (*)(std::uint32_t, void*, std::uint64_t, std::uint32_t);
using UlockWake = int (*)(std::uint32_t, void*, std::uint64_t);
using OsSyncWait = int (*)(void*, std::uint64_t, std::size_t, std::uint32_t, std::uint32_t, std::uint64_t);
using OsSyncWake = int (*)(void*, std::size_t, std::uint32_t);
constexpr std::uint32_t shared_wait = 3;  // UL_COMPARE_AND_WAIT_SHARED
constexpr std::uint32_t no_errno = 0x01000000;

// Whether process `pid` is asleep (proc(5): /proc/PID/stat's state, after the last ')').
bool is_sleeping(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE* file = std::fopen(path, "r");
  if (file == nullptr) return false;
  char text[512] = {};
  const std::size_t length = std::fread(text, 1, sizeof text - 1, file);
  std::fclose(file);
  const char* close_paren = length > 0 ? std::strrchr(text, ')') : nullptr;
  return close_paren != nullptr && close_paren[1] == ' ' && close_paren[2] == 'S';
}

// A child process sleeps on a word in a shared mapping; the parent changes it and wakes it.
template <typename Wait, typename Wake>
void check_cross_process_wake(Wait wait, Wake wake, const char* what) {
  void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  auto* word = static_cast<volatile std::uint32_t*>(page);
  *word = 0;
  const pid_t child = ::fork();
  if (child == 0) {
    while (*word == 0) wait(page);  // returns early on a wake or after its timeout
    ::_exit(*word == 1 ? 0 : 1);
  }
  // The wake must find the child asleep: a child that saw the word change before it slept
  // would leave every wake with nobody to wake (ENOENT). proc(5): state S, in the wait.
  for (int i = 0; i < 2000 && !is_sleeping(child); ++i) ::usleep(1000);
  *word = 1;
  int woken = -1;
  for (int i = 0; i < 2000 && woken != 0; ++i) {  // until the wake found the sleeper
    woken = wake(page);
    if (woken != 0) ::usleep(1000);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  check(woken == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, what);
  ::munmap(page, 4096);
}

void test_ulock() {
  const auto wait = find<UlockWait>("__ulock_wait");
  const auto wake = find<UlockWake>("__ulock_wake");
  check(wait != nullptr && wake != nullptr, "__ulock_wait and __ulock_wake are there");
  if (wait == nullptr || wake == nullptr) return;
  std::uint32_t word = 7;
  check(wait(shared_wait, &word, 8, 0) == 0, "__ulock_wait on a different value returns 0 at once");
  check_error(wait(shared_wait, &word, 7, 1000), ETIMEDOUT, "__ulock_wait: 1000 us timeout, ETIMEDOUT");
  check(wait(shared_wait | no_errno, &word, 7, 1000) == -ETIMEDOUT, "__ulock_wait with ULF_NO_ERRNO: -ETIMEDOUT");
  check_error(wake(shared_wait, &word, 0), ENOENT, "__ulock_wake with nobody waiting: ENOENT");
  check_error(wait(0x7f, &word, 7, 1000), EINVAL, "__ulock_wait with an unknown operation: EINVAL");
  check_cross_process_wake([&](void* a) { wait(shared_wait, a, 0, 100000); },
                           [&](void* a) { return wake(shared_wait, a, 0); }, "__ulock_wake wakes another process");
}

void test_os_sync(bool expected) {
  const auto wait = find<OsSyncWait>("os_sync_wait_on_address_with_timeout");
  const auto wake_any = find<OsSyncWake>("os_sync_wake_by_address_any");
  const auto wake_all = find<OsSyncWake>("os_sync_wake_by_address_all");
  const bool there = wait != nullptr && wake_any != nullptr && wake_all != nullptr;
  check(there == expected, expected ? "os_sync_* are there" : "os_sync_* are hidden (macOS before 14.4)");
  if (!there) return;
  std::uint32_t word = 7;
  check(wait(&word, 8, 4, 1, 32, 1000000) == 0, "os_sync_wait_on_address on a different value returns 0 at once");
  check_error(wait(&word, 7, 4, 1, 32, 1000000), ETIMEDOUT, "os_sync_wait_on_address: 1 ms timeout, ETIMEDOUT");
  check_error(wait(&word, 7, 4, 1, 32, 0), EINVAL, "os_sync_wait_on_address_with_timeout(0): EINVAL");
  check_error(wake_any(&word, 4, 1), ENOENT, "os_sync_wake_by_address_any with nobody waiting: ENOENT");
  check_error(wake_all(&word, 4, 1), ENOENT, "os_sync_wake_by_address_all with nobody waiting: ENOENT");
  check_cross_process_wake([&](void* a) { wait(a, 0, 4, 1, 32, 100000000); },
                           [&](void* a) { return wake_any(a, 4, 1); },
                           "os_sync_wake_by_address_any wakes another process");
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (!layer_loaded()) {
    if (std::getenv("INTERPROC_MACOS_SIM") != nullptr) {
      std::printf("FAIL: INTERPROC_MACOS_SIM is set but the layer is not loaded (LD_PRELOAD=%s)\n",
                  std::getenv("LD_PRELOAD") ? std::getenv("LD_PRELOAD") : "");
      return 1;
    }
    if (argc < 2 || std::getenv("INTERPROC_MACOS_SIM_RESTARTED") != nullptr) {
      std::printf("FAIL: the layer is not loaded\nusage: %s <path of libinterproc_macos_sim.so>\n", argv[0]);
      return 1;
    }
    ::setenv("LD_PRELOAD", argv[1], 1);
    ::setenv("INTERPROC_MACOS_SIM_RESTARTED", "1", 1);
    ::execv("/proc/self/exe", argv);
    std::printf("FAIL: execv(/proc/self/exe): %s\n", std::strerror(errno));
    return 1;
  }
  std::printf("the macOS-semantics layer is loaded\n");
  test_shm_object();
  test_names_and_flags();
  test_regular_file();
  test_ulock();
  test_os_sync(::dlsym(RTLD_DEFAULT, "interproc_macos_sim_os_sync") != nullptr);
  std::printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
