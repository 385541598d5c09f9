// SPDX-License-Identifier: MIT
// The POSIX floors and peers: anonymous shared mmap, a raw robust process-shared pthread
// mutex, and bare posix_spawn / fork with waitpid.

#include "bench.hpp"

#include <cerrno>
#include <new>
#include <pthread.h>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

extern char** environ;

namespace bench {
namespace {

void check(int result, const char* call) {
  if (result != 0) throw std::system_error(result, std::generic_category(), call);
}

void wait_zero(pid_t pid, const char* what) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error(std::string(what) + ": child failed");
}

// ---- mmap_floor ----

void mmap_touch(std::size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
  touch_pages(p, bytes, page_size());
  ::munmap(p, bytes);
}

// ---- pthread_robust: what interproc's Linux mutex is built on, with nothing added ----

pthread_mutex_t& robust(Workspace& ws) { return *std::launder(reinterpret_cast<pthread_mutex_t*>(ws.shared.lock)); }

void robust_setup(Workspace& ws) {
  static_assert(sizeof(pthread_mutex_t) <= sizeof(Shared::lock));
  pthread_mutexattr_t attr;
  check(::pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
  check(::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED), "pthread_mutexattr_setpshared");
  check(::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST), "pthread_mutexattr_setrobust");
  check(::pthread_mutex_init(::new (ws.shared.lock) pthread_mutex_t, &attr), "pthread_mutex_init");
  ::pthread_mutexattr_destroy(&attr);
}

void robust_teardown(Workspace& ws) { ::pthread_mutex_destroy(&robust(ws)); }

struct RobustLock {
  pthread_mutex_t& m;
  void lock() {
    const int result = ::pthread_mutex_lock(&m);
    if (result == EOWNERDEAD) ::pthread_mutex_consistent(&m);
  }
  void unlock() { ::pthread_mutex_unlock(&m); }
};

void robust_increments(Workspace& ws, long n) {
  RobustLock lock{robust(ws)};
  locked_increments(lock, ws.shared.counter, n);
}

// ---- the bare process starts ----

void posix_spawn_and_wait(const std::string& self) {
  char* argv[] = {const_cast<char*>(self.c_str()), const_cast<char*>(exit_now_flag), nullptr};
  pid_t pid = -1;
  check(::posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, environ), "posix_spawn");
  wait_zero(pid, "posix_spawn_floor");
}

void fork_and_wait() {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) ::_exit(0);
  wait_zero(pid, "fork_floor");
}

}  // namespace

const bool has_fork = true;

std::size_t page_size() { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

std::vector<TouchImpl> touch_floors() { return {{"mmap_floor", mmap_touch}}; }

std::vector<LockImpl> platform_locks() {
  return {{"pthread_robust", true, robust_setup, robust_teardown, robust_increments}};
}

// `self` is argv[0]: bench/run starts the program by its absolute path.
std::vector<SpawnImpl> spawn_floors(const std::string& self) {
  return {{"posix_spawn_floor", [self] { posix_spawn_and_wait(self); }}, {"fork_floor", fork_and_wait}};
}

}  // namespace bench
