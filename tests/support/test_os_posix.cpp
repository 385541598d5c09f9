// SPDX-License-Identifier: MIT
#include "support/test_os.hpp"

#include <cerrno>
#include <cstdio>
#include <csignal>
#include <cstring>
#include <string>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__APPLE__) || defined(__FreeBSD__)
#include <sys/types.h>
#include <sys/sysctl.h>
#endif
#if defined(__FreeBSD__)
#include <sys/user.h>
#endif
#if defined(__linux__)
#include <cstddef>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

namespace interproc::test {

std::size_t open_handle_count() {
  std::size_t count = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) ++count;
  }
  return count;
}

std::chrono::milliseconds cpu_time() {
  struct rusage usage {};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return std::chrono::milliseconds(-1);
  const auto ms = [](const timeval& t) { return std::chrono::milliseconds(t.tv_sec * 1000 + t.tv_usec / 1000); };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

bool handle_is_open(std::intptr_t handle) { return ::fcntl(static_cast<int>(handle), F_GETFD) != -1; }

bool holds_parent_handle(std::intptr_t parent_handle) { return handle_is_open(parent_handle); }

int named_segment_access_bits(const std::string& name) {
  const int fd = ::shm_open(("/" + name).c_str(), O_RDONLY, 0);
  if (fd < 0) return -1;
  struct stat st {};
  const int result = ::fstat(fd, &st);
  ::close(fd);
  return result == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

bool is_windows() { return false; }

long current_pid() { return static_cast<long>(::getpid()); }

long parent_pid() { return static_cast<long>(::getppid()); }

void set_environment_variable(const std::string& name, const std::string& value) {
  ::setenv(name.c_str(), value.c_str(), 1);
}

void hang() {
  for (;;) ::pause();
}

bool write_raw(std::intptr_t handle, const void* bytes, std::size_t size) {
  return ::write(static_cast<int>(handle), bytes, size) == static_cast<ssize_t>(size);
}

void die_abruptly() {
  ::kill(::getpid(), SIGKILL);
  ::_exit(99);
}

namespace {
int terminate_exit_code = 0;
extern "C" void exit_on_sigterm(int) { ::_exit(terminate_exit_code); }

#if defined(__linux__)
bool is_zombie(long pid) {
  // proc(5): the state is the field after the last ')' of /proc/PID/stat.
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return true;  // gone meanwhile
  char text[512] = {};
  const std::size_t length = std::fread(text, 1, sizeof text - 1, f);
  std::fclose(f);
  const char* paren = std::strrchr(text, ')');
  return length == 0 || paren == nullptr || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X';
}
#else
bool is_zombie(long pid) {
  int query[] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, static_cast<int>(pid)};
  struct kinfo_proc info {};
  std::size_t size = sizeof info;
  if (::sysctl(query, 4, &info, &size, nullptr, 0) != 0 || size != sizeof info) return true;
#if defined(__APPLE__)
  return info.kp_proc.p_stat == SZOMB;
#else
  return info.ki_stat == SZOMB;
#endif
}
#endif
}  // namespace

bool process_exists(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 && !is_zombie(pid); }

void kill_by_pid(long pid) { ::kill(static_cast<pid_t>(pid), SIGKILL); }

void ignore_terminate_request() { ::signal(SIGTERM, SIG_IGN); }

void exit_on_terminate_request(int code) {
  terminate_exit_code = code;
  ::signal(SIGTERM, &exit_on_sigterm);
}

}  // namespace interproc::test

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif

extern char** environ;

namespace interproc::test {

namespace {
std::string self_path() {
#ifdef __APPLE__
  char self[4096];
  std::uint32_t size = sizeof self;  // macOS has no /proc: _NSGetExecutablePath(3)
  return _NSGetExecutablePath(self, &size) == 0 ? std::string(self) : std::string();
#else
  char self[4096];
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  return length <= 0 ? std::string() : std::string(self, static_cast<std::size_t>(length));
#endif
}
}  // namespace

std::optional<int> run_with_process_limit(int (*body)()) {
  if (::geteuid() != 0) return std::nullopt;
  const pid_t pid = ::fork();
  if (pid == 0) {
    const rlimit none{0, 0};
    if (::setgid(65534) != 0 || ::setuid(65534) != 0 || ::setrlimit(RLIMIT_NPROC, &none) != 0) ::_exit(200);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 200) return std::nullopt;
  return WEXITSTATUS(status);
}

std::string copy_of_self(const std::string& file_name) {
  const auto copy = std::filesystem::path(self_path()).parent_path() / file_name;
  std::filesystem::copy_file(self_path(), copy, std::filesystem::copy_options::overwrite_existing);
  return copy.string();
}

bool remove_file(const std::string& path) { return std::remove(path.c_str()) == 0; }

bool rename_file(const std::string& from, const std::string& to) { return std::rename(from.c_str(), to.c_str()) == 0; }

void write_script(const std::string& path, int code) {
  for (const std::string& file : {path, path + " (deleted)"}) {
    if (std::FILE* f = std::fopen(file.c_str(), "w")) {
      std::fprintf(f, "#!/bin/sh\nexit %d\n", code);
      std::fclose(f);
      ::chmod(file.c_str(), 0755);
    }
  }
}

bool spawns_running_image() {
#ifdef __linux__
  return true;
#else
  return false;
#endif
}

int run_unrelated_child(const std::vector<std::string>& args, const std::string& probe, const std::string& program) {
  const std::string self = program.empty() ? self_path() : program;
  std::vector<std::string> owned{self};
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : owned) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  ::setenv("INTERPROC_TEST_PROBE", probe.c_str(), 1);
  const int result = ::posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ);
  ::unsetenv("INTERPROC_TEST_PROBE");
  if (result != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int unreaped_children() {
  int count = 0;
  siginfo_t info{};
  // WNOWAIT leaves them as they are; P_ALL finds any ended child of ours.
  while (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0) {
    ++count;
    int status = 0;
    ::waitpid(info.si_pid, &status, 0);  // reap it, so the next look finds the next one
    info = siginfo_t{};
  }
  return count;
}

std::vector<std::string> leftover_anonymous_names() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("interproc-", 0) == 0) names.push_back(name);
  }
  return names;
}

std::vector<std::string> pool_arena_names() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("ip", 0) == 0 && name.find('.') != std::string::npos) names.push_back(name);
  }
  return names;
}

std::vector<std::string> lasting_new_pool_arena_names(const std::vector<std::string>& before) {
  std::vector<std::string> left;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    left.clear();
    for (const std::string& name : pool_arena_names()) {
      if (std::find(before.begin(), before.end(), name) == before.end()) left.push_back(name);
    }
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  return left;
}

bool forbid_new_descriptors(int spare) {
  const int lowest_free = ::dup(0);  // new descriptors take the lowest free number (open(2))
  if (lowest_free < 0) return false;
  ::close(lowest_free);
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  limit.rlim_cur = static_cast<rlim_t>(lowest_free + spare);
  return ::setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

void allow_new_descriptors() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  limit.rlim_cur = limit.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &limit);
}

std::optional<bool> other_user_can_open(const std::string& name) {
  if (::geteuid() != 0) return std::nullopt;
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    const int fd = ::shm_open(("/" + name).c_str(), O_RDONLY, 0);
    ::_exit(fd >= 0 ? 1 : (errno == EACCES ? 0 : 3));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) return std::nullopt;
  return WEXITSTATUS(status) == 1;
}

}  // namespace interproc::test

#include <interproc/shared_segment.hpp>

#include "common/segment_backend.hpp"

#ifdef __linux__
#include <sched.h>
#include <sys/mount.h>
#endif

namespace interproc::test {

namespace {
// Runs `body` in a forked child and returns its exit code; 200 from the child means "could not".
std::optional<int> in_forked_child(const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 200) return std::nullopt;
  return WEXITSTATUS(status);
}
}  // namespace

bool thread_end_detected() {
#ifdef INTERPROC_TEST_PORTABLE
  return false;
#else
  return true;
#endif
}

std::string temporary_file_with(const std::string& text, std::size_t size) {
  char path[] = "/tmp/interproc-test-XXXXXX";
  const int fd = ::mkstemp(path);
  std::string content = text;
  content.resize(size, '\0');
  if (fd >= 0) {
    (void)!::write(fd, content.data(), content.size());
    ::close(fd);
  }
  return path;
}

std::intptr_t open_read_write(const std::string& path) { return ::open(path.c_str(), O_RDWR); }

void close_handle(std::intptr_t handle) { ::close(static_cast<int>(handle)); }

std::optional<int> run_with_closed_standard_streams(const std::vector<std::string>& args, const std::string& probe) {
  const std::string self = self_path();
  return in_forked_child([&] {
    std::vector<std::string> owned{self};
    owned.insert(owned.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : owned) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::setenv("INTERPROC_TEST_PROBE", probe.c_str(), 1);
    ::close(0);
    ::close(1);
    ::close(2);
    ::execv(self.c_str(), argv.data());
    return 201;
  });
}

// A private mount namespace with a 1 MiB /dev/shm: unshare(2) and mount(2) with MS_PRIVATE
// are Linux's; elsewhere POSIX shared memory has no such per-process limit to set.
std::optional<int> run_with_small_shm(int (*body)()) {
#ifndef __linux__
  (void)body;
  return std::nullopt;
#else
  if (::geteuid() != 0) return std::nullopt;
  return in_forked_child([body] {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m") != 0) {
      return 200;
    }
    return body();
  });
#endif
}

std::optional<int> run_with_umask(unsigned mask, int (*body)()) {
  return in_forked_child([mask, body] {
    ::umask(static_cast<mode_t>(mask));
    try {
      return body();
    } catch (...) {
      return 3;
    }
  });
}

bool plant_world_writable_segment(const std::string& name) {
  const int fd = ::shm_open(("/" + name).c_str(), O_RDWR | O_CREAT | O_EXCL, 0666);
  if (fd < 0) return false;
  struct stat st {};
  // Linux applies the umask, so widen the mode; macOS applies none and refuses fchmod.
  (void)::fchmod(fd, 0666);
  const bool writable = ::ftruncate(fd, 16384) == 0 && ::fstat(fd, &st) == 0 && (st.st_mode & 0022) == 0022;
  ::close(fd);
  return writable;
}

bool plant_at_name(const std::string& name, Planted what) {
#ifdef __linux__
  const std::string path = "/dev/shm/" + name;
  switch (what) {
    case Planted::fifo: return ::mkfifo(path.c_str(), 0600) == 0;
    case Planted::directory: return ::mkdir(path.c_str(), 0700) == 0;
    case Planted::symlink: return ::symlink("/etc/passwd", path.c_str()) == 0;
    case Planted::socket: return ::mknod(path.c_str(), S_IFSOCK | 0600, 0) == 0;
    case Planted::empty_file:
    case Planted::unrecorded_file: {
      const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
      if (fd < 0) return false;
      const bool sized = what == Planted::empty_file || ::ftruncate(fd, 16384) == 0;
      ::close(fd);
      return sized;
    }
  }
  return false;
#else
  (void)name, (void)what;
  return false;
#endif
}

bool shm_objects_have_times() {
  const std::string name = "times-probe." + std::to_string(::getpid());
  const SharedSegment probe = SharedSegment::create_named(name, 64);
  SharedSegment::remove_named(name);
  struct stat st {};
  return ::fstat(static_cast<int>(interproc::detail::SegmentAccess::handle(probe)), &st) == 0 && st.st_ctime != 0;
}

void remove_planted(const std::string& name) {
  const std::string path = "/dev/shm/" + name;
  if (::unlink(path.c_str()) != 0) (void)::rmdir(path.c_str());
}

std::optional<bool> segment_created_by_other_user(const std::string& name) {
  if (::geteuid() != 0) return std::nullopt;
  const auto code = in_forked_child([&] {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) return 200;
    try {
      SharedSegment s = SharedSegment::create_named(name, 64);  // 0600: root may open it all the same
      return 0;
    } catch (...) {
      return 2;
    }
  });
  if (!code) return std::nullopt;
  return *code == 0;
}

}  // namespace interproc::test

namespace interproc::test {

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
namespace {
#if defined(__x86_64__)
constexpr std::uint32_t native_audit_arch = AUDIT_ARCH_X86_64;
#else
constexpr std::uint32_t native_audit_arch = AUDIT_ARCH_AARCH64;
#endif
// The low half of a syscall argument in struct seccomp_data (little-endian on both arches).
constexpr std::uint32_t arg_low(std::size_t index) {
  return static_cast<std::uint32_t>(offsetof(seccomp_data, args) + sizeof(std::uint64_t) * index);
}
}  // namespace

// A classic BPF program over struct seccomp_data (Documentation/userspace-api/seccomp_filter.rst):
// a syscall of another ABI, or any other call than futex(FUTEX_WAKE[_PRIVATE]), is allowed.
bool die_at_next_futex_wake() {
  sock_filter program[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, native_audit_arch, 0, 5),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_futex, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arg_low(1)),
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, static_cast<std::uint32_t>(FUTEX_CMD_MASK)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FUTEX_WAKE, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
  };
  const sock_fprog filter{static_cast<unsigned short>(sizeof(program) / sizeof(program[0])), program};
  // Without PR_SET_NO_NEW_PRIVS an unprivileged process may not install a filter (seccomp(2)).
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter) == 0;
}
#else
bool die_at_next_futex_wake() { return false; }
#endif

void let_faults_kill() {
  std::signal(SIGSEGV, SIG_DFL);
  std::signal(SIGBUS, SIG_DFL);
}

bool is_memory_fault(int code) { return code == -SIGSEGV || code == -SIGBUS; }

int make_writable(void* address, std::size_t size) {
  return ::mprotect(address, size, PROT_READ | PROT_WRITE) == 0 ? 0 : errno;
}

int map_for_writing(std::intptr_t handle, std::size_t size) {
  void* address = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, static_cast<int>(handle), 0);
  if (address == MAP_FAILED) return errno;
  ::munmap(address, size);
  return 0;
}

// Linux: EACCES (mmap(2), mprotect(2)); macOS: EPERM for a writable mapping of a POSIX
// shared memory object through a read-only descriptor (XNU bsd/kern/posix_shm.c pshm_mmap).
bool is_write_refusal(int error) { return error == EACCES || error == EPERM; }

}  // namespace interproc::test
