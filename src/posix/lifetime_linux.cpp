// SPDX-License-Identifier: MIT
// die_with_parent on Linux: the kernel sends the child SIGKILL when its parent dies
// (prctl(2) PR_SET_PDEATHSIG). The "parent" there is the thread that created the child, so
// the signal also comes when that thread ends while the process lives on (prctl(2) BUGS).
// So such children are started on one launcher thread, made on first use, that lives as
// long as the process.

#include "common/fail.hpp"
#include "common/process_backend.hpp"
#include "posix/lifetime_posix.hpp"

#include <cerrno>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <csignal>
#include <sys/prctl.h>
#include <unistd.h>

#include <functional>
#include <utility>

namespace interproc::detail {
namespace {

// The thread that starts die_with_parent children, and the one job it has at a time.
struct Launcher {
  pid_t owner = ::getpid();  // a forked child has no launcher thread: it makes its own
  std::mutex mutex;
  std::condition_variable changed;
  std::mutex one_at_a_time;  // callers take turns
  const std::function<void()>* job = nullptr;
  std::exception_ptr failure;
  bool done = false;

  Launcher() {
    std::thread([this] { serve(); }).detach();
  }

  [[noreturn]] void serve() {
    for (;;) {
      std::unique_lock<std::mutex> hold(mutex);
      changed.wait(hold, [this] { return job != nullptr && !done; });
      hold.unlock();
      std::exception_ptr thrown;
      try {
        (*job)();
      } catch (...) {
        thrown = std::current_exception();
      }
      hold.lock();
      failure = thrown;
      done = true;
      changed.notify_all();
    }
  }

  void run(const std::function<void()>& body) {
    std::lock_guard<std::mutex> turn(one_at_a_time);
    std::unique_lock<std::mutex> hold(mutex);
    job = &body;
    done = false;
    changed.notify_all();
    changed.wait(hold, [this] { return done; });
    job = nullptr;
    if (const std::exception_ptr thrown = std::exchange(failure, nullptr)) std::rethrow_exception(thrown);
  }
};

// Never destroyed: the detached thread uses it until the process ends.
Launcher& launcher() {
  static std::mutex making;
  static Launcher* current = nullptr;
  std::lock_guard<std::mutex> hold(making);
  if (current == nullptr || current->owner != ::getpid()) current = new Launcher;  // NOLINT: lives for good
  return *current;
}

}  // namespace

void run_on_lasting_thread(const std::function<void()>& body) { launcher().run(body); }

int parent_watch_descriptor() { return -1; }

void die_with_parent(pid_t parent, int /*watch*/) {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail_errno(errno, "prctl(PR_SET_PDEATHSIG, SIGKILL)");
  // A parent that died before prctl sent nothing: this process has been reparented since.
  if (::getppid() != parent) die_now();
}

}  // namespace interproc::detail
