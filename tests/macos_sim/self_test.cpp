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
  std::printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
