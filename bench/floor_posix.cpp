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
#include <sys/socket.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>
#include <vector>

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
// macOS's <pthread.h> has no robust mutexes (no pthread_mutexattr_setrobust, no
// pthread_mutex_consistent): there the floor, under the same name for bench/run's tables,
// is a plain process-shared mutex.

pthread_mutex_t& robust(Workspace& ws) { return *std::launder(reinterpret_cast<pthread_mutex_t*>(ws.shared.lock)); }

void robust_setup(Workspace& ws) {
  static_assert(sizeof(pthread_mutex_t) <= sizeof(Shared::lock));
  pthread_mutexattr_t attr;
  check(::pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
  check(::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED), "pthread_mutexattr_setpshared");
#if !defined(__APPLE__)
  check(::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST), "pthread_mutexattr_setrobust");
#endif
  check(::pthread_mutex_init(::new (ws.shared.lock) pthread_mutex_t, &attr), "pthread_mutex_init");
  ::pthread_mutexattr_destroy(&attr);
}

void robust_teardown(Workspace& ws) { ::pthread_mutex_destroy(&robust(ws)); }

struct RobustLock {
  pthread_mutex_t& m;
  void lock() {
    const int result = ::pthread_mutex_lock(&m);
#if !defined(__APPLE__)
    if (result == EOWNERDEAD) ::pthread_mutex_consistent(&m);
#else
    (void)result;
#endif
  }
  void unlock() { ::pthread_mutex_unlock(&m); }
};

void robust_increments(Workspace& ws, long n) {
  RobustLock lock{robust(ws)};
  locked_increments(lock, ws.shared.counter, n);
}

// ---- the bare process starts ----

pid_t posix_spawn_self(const std::string& self) {
  char* argv[] = {const_cast<char*>(self.c_str()), const_cast<char*>(exit_now_flag), nullptr};
  pid_t pid = -1;
  check(::posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, environ), "posix_spawn");
  return pid;
}

pid_t fork_exit() {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) ::_exit(0);
  return pid;
}

template <class Start>
void burst(int children, Start start, const char* what) {
  std::vector<pid_t> pids;
  for (int i = 0; i < children; ++i) pids.push_back(start());
  for (pid_t pid : pids) wait_zero(pid, what);
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
  return {{"posix_spawn_floor", [self] { wait_zero(posix_spawn_self(self), "posix_spawn_floor"); }},
          {"fork_floor", [] { wait_zero(fork_exit(), "fork_floor"); }}};
}

std::vector<BurstImpl> burst_floors(const std::string& self) {
  return {{"posix_spawn_floor",
           [self](int children) {
             burst(
                 children, [&self] { return posix_spawn_self(self); }, "posix_spawn_floor");
           }},
          {"fork_floor", [](int children) { burst(children, fork_exit, "fork_floor"); }}};
}

namespace {

// Reads or writes exactly `size` bytes.
void transfer_all(int fd, void* data, std::size_t size, bool write) {
  auto* bytes = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = write ? ::write(fd, bytes, size) : ::read(fd, bytes, size);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), write ? "write" : "read");
    }
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
}

double pipe_items(int producers, long items) {
  int ends[2];
  if (::pipe(ends) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  std::vector<pid_t> children;
  const std::int64_t start = now_ns();
  for (int p = 0; p < producers; ++p) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(ends[0]);
      char item[64] = {1};
      for (long i = 0; i < items / producers; ++i) transfer_all(ends[1], item, sizeof item, true);
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(ends[1]);
  char item[64];
  for (long i = 0; i < items / producers * producers; ++i) transfer_all(ends[0], item, sizeof item, false);
  const double ns = static_cast<double>(now_ns() - start) / static_cast<double>(items);
  ::close(ends[0]);
  for (pid_t pid : children) wait_zero(pid, "pipe_floor");
  return ns;
}

double pipe_round_trips(long trips) {
  int to_child[2], to_parent[2];
  if (::pipe(to_child) != 0 || ::pipe(to_parent) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  const pid_t pid = ::fork();
  char byte = 1;
  if (pid == 0) {
    for (long i = 0; i < trips; ++i) {
      transfer_all(to_child[0], &byte, 1, false);
      transfer_all(to_parent[1], &byte, 1, true);
    }
    ::_exit(0);
  }
  const std::int64_t start = now_ns();
  for (long i = 0; i < trips; ++i) {
    transfer_all(to_child[1], &byte, 1, true);
    transfer_all(to_parent[0], &byte, 1, false);
  }
  const double ns = static_cast<double>(now_ns() - start) / static_cast<double>(trips);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) ::close(fd);
  wait_zero(pid, "pipe_floor");
  return ns;
}

// pipe_round_trips over one socketpair(AF_UNIX, SOCK_STREAM), the channel a Connection
// uses: what part of a Connection's round trip is the socket's own.
double socketpair_round_trips(long trips) {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, ends) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  const pid_t pid = ::fork();
  char byte = 1;
  if (pid == 0) {
    for (long i = 0; i < trips; ++i) {
      transfer_all(ends[1], &byte, 1, false);
      transfer_all(ends[1], &byte, 1, true);
    }
    ::_exit(0);
  }
  const std::int64_t start = now_ns();
  for (long i = 0; i < trips; ++i) {
    transfer_all(ends[0], &byte, 1, true);
    transfer_all(ends[0], &byte, 1, false);
  }
  const double ns = static_cast<double>(now_ns() - start) / static_cast<double>(trips);
  ::close(ends[0]);
  ::close(ends[1]);
  wait_zero(pid, "socketpair_floor");
  return ns;
}

// A forked child writes `messages` blocks of `bytes` into a pipe(2); this process reads them all.
double pipe_throughput(std::size_t bytes, long messages) {
  int ends[2];
  if (::pipe(ends) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  std::vector<char> block(bytes, 1);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ends[0]);
    for (long i = 0; i < messages; ++i) transfer_all(ends[1], block.data(), bytes, true);
    ::_exit(0);
  }
  ::close(ends[1]);
  const std::int64_t start = now_ns();  // the child runs: what it wrote so far fits the pipe's buffer
  for (long i = 0; i < messages; ++i) transfer_all(ends[0], block.data(), bytes, false);
  const double seconds = static_cast<double>(now_ns() - start) * 1e-9;
  ::close(ends[0]);
  wait_zero(pid, "pipe_floor");
  return static_cast<double>(bytes) * static_cast<double>(messages) / seconds / double(1u << 30);
}

}  // namespace

std::vector<ThroughputFloor> throughput_floors() { return {{"pipe_floor", &pipe_throughput}}; }

std::vector<MessageFloor> message_floors() { return {{"pipe_floor", &pipe_items, &pipe_round_trips}}; }

std::vector<MessageFloor> socket_floors() { return {{"socketpair_floor", nullptr, &socketpair_round_trips}}; }

}  // namespace bench
