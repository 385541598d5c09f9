// SPDX-License-Identifier: MIT
// die_with_parent without PR_SET_PDEATHSIG (macOS, the BSDs, the portable build on Linux):
// the parent holds the only write end of a pipe, and each such child a read end. A thread
// in the child blocks in read(2), which returns 0 (end of file) once no process holds the
// write end (pipe(2), read(2)), that is once the parent has died however it died. kqueue's
// EVFILT_PROC NOTE_EXIT would do on macOS and FreeBSD only; the pipe works on every POSIX
// system. The write end is close-on-exec, and pthread_atfork(3) closes it in every forked
// child, so no other process keeps it open (a process forked by other means before this
// one created the pipe cannot hold it).

#include "common/fail.hpp"
#include "common/process_backend.hpp"
#include "posix/lifetime_posix.hpp"

#include <interproc/error.hpp>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <mutex>
#include <pthread.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace interproc::detail {
namespace {

std::mutex watch_lock;  // guards the two descriptors; held across fork() (see register_fork_rule)
int watch_read = -1;
int watch_write = -1;

void lock_for_fork() { watch_lock.lock(); }
void unlock_in_parent() { watch_lock.unlock(); }

// The forked child must not hold the write end: the parent's death would not end the pipe.
// Its read end stays, like every other descriptor a fork copies: a forked die_with_parent
// child watches it.
void forget_in_child() {
  if (watch_write >= 0) ::close(watch_write);
  watch_read = watch_write = -1;
  watch_lock.unlock();
}

void set_close_on_exec(int fd) {
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) fail_errno(errno, "fcntl(F_SETFD, FD_CLOEXEC)");
}

// pipe2(O_CLOEXEC) where it exists; macOS has only pipe(2), so the flag follows at once.
void open_pipe(int (&ends)[2]) {
#if defined(__APPLE__)
  if (::pipe(ends) != 0) fail_errno(errno, "pipe()");
  set_close_on_exec(ends[0]);
  set_close_on_exec(ends[1]);
#else
  if (::pipe2(ends, O_CLOEXEC) != 0) fail_errno(errno, "pipe2(O_CLOEXEC)");
#endif
}

}  // namespace

int parent_watch_descriptor() {
  static std::once_flag registered;
  std::call_once(registered, [] { ::pthread_atfork(&lock_for_fork, &unlock_in_parent, &forget_in_child); });
  const std::lock_guard<std::mutex> hold(watch_lock);
  if (watch_read < 0) {
    int ends[2];
    open_pipe(ends);
    watch_read = ends[0];
    watch_write = ends[1];
  }
  return watch_read;
}

void die_with_parent(pid_t parent, int watch) {
  struct stat st {};
  if (watch < 0 || ::fstat(watch, &st) != 0 || !S_ISFIFO(st.st_mode)) {
    fail(errc::bad_handle_argument, "die_with_parent: descriptor " + std::to_string(watch) + " is not a pipe");
  }
  set_close_on_exec(watch);  // this process's own children do not need it
  if (::getppid() != parent) die_now();
  std::thread([watch] {
    char byte = 0;
    for (;;) {
      const ssize_t n = ::read(watch, &byte, 1);
      if (n == 0 || (n < 0 && errno != EINTR)) die_now();
    }
  }).detach();
}

// The watch pipe belongs to the process, not to a thread: any thread may start the child.
void run_on_lasting_thread(const std::function<void()>& body) { body(); }

}  // namespace interproc::detail
