// POSIX processes: posix_spawn(3) for the spawn start method, fork(2) for the fork start
// method, waitpid(2) for Child.

#include "common/fail.hpp"
#include "common/spawn_backend.hpp"
#include "posix/process_self.hpp"

#include <gsl/assert>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <iostream>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace interproc {
namespace detail {
namespace {

// Descriptors to dup2() onto the handles' own numbers in the child. The copies are
// close-on-exec and numbered above every handle, so no dup2 overwrites a copy still needed.
class InheritPlan {
 public:
  explicit InheritPlan(const std::vector<native_handle>& handles) {
    const native_handle highest = handles.empty() ? 2 : *std::max_element(handles.begin(), handles.end());
    for (native_handle h : handles) {
      ScopedHandle copy(::fcntl(static_cast<int>(h), F_DUPFD_CLOEXEC, static_cast<int>(highest + 1)));
      if (!copy.valid()) fail_errno(errno, "fcntl(" + std::to_string(h) + ", F_DUPFD_CLOEXEC)");
      pairs_.emplace_back(std::move(copy), h);
    }
  }
  // dup2 onto a different number clears FD_CLOEXEC on the target: exactly these survive exec.
  void add_to(posix_spawn_file_actions_t& actions) const {
    for (const auto& [copy, target] : pairs_) {
      const int result = ::posix_spawn_file_actions_adddup2(&actions, static_cast<int>(copy.get()), static_cast<int>(target));
      if (result != 0) fail_errno(result, "posix_spawn_file_actions_adddup2");
    }
  }

 private:
  std::vector<std::pair<ScopedHandle, native_handle>> pairs_;
};

// RAII for the posix_spawn attribute objects.
struct SpawnSetup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attributes{};
  SpawnSetup() {
    check(::posix_spawn_file_actions_init(&actions), "posix_spawn_file_actions_init");
    check(::posix_spawnattr_init(&attributes), "posix_spawnattr_init");
    // The child starts with no blocked signals and default dispositions, whatever this
    // thread had (a parent that ignores SIGPIPE must not hand that to the child).
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);  // their dispositions cannot be changed; some systems refuse them
    sigdelset(&all, SIGSTOP);
    ::posix_spawnattr_setsigmask(&attributes, &none);
    ::posix_spawnattr_setsigdefault(&attributes, &all);
    ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attributes);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  static void check(int result, const char* call) {
    if (result != 0) fail_errno(result, call);
  }
};

std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  const std::string marker_prefix = std::string(guard_marker_name) + "=";
  for (char** entry = process_environment(); entry != nullptr && *entry != nullptr; ++entry) {
    if (std::string_view(*entry).substr(0, marker_prefix.size()) != marker_prefix) env.emplace_back(*entry);
  }
  env.push_back(marker_prefix + "1");
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (std::string& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

int decode_status(int status) noexcept {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return status;
}

}  // namespace

std::vector<std::string> program_arguments(int argc, char** argv) { return {argv, argv + argc}; }

bool guard_marker_present() noexcept { return std::getenv(guard_marker_name) != nullptr; }

void remove_guard_marker() noexcept { ::unsetenv(guard_marker_name); }

Child launch_executable(const std::string& path, const std::vector<std::string>& argv,
                        const std::vector<native_handle>& inherited) {
  InheritPlan plan(inherited);
  SpawnSetup setup;
  plan.add_to(setup.actions);
  std::vector<std::string> args = argv;
  std::vector<std::string> env = child_environment();
  pid_t pid = -1;
  const int result = ::posix_spawn(&pid, path.c_str(), &setup.actions, &setup.attributes, pointers(args).data(),
                                   pointers(env).data());
  if (result != 0) fail_errno(result, "posix_spawn(" + quoted(path) + ")");
  return ChildAccess::make(pid, invalid_handle);
}

Child launch_fork(const std::function<int()>& body) {
  // Flush first, or the child would write the parent's buffered output a second time.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) fail_errno(errno, "fork()");
  if (pid == 0) {
    // The child: a copy of the parent with only the forking thread. It runs the entry and
    // leaves with _exit, so no parent-owned destructors or atexit handlers run here.
    const int code = body();
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    ::_exit(code);
  }
  return ChildAccess::make(pid, invalid_handle);
}

}  // namespace detail

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), handle_(std::exchange(other.handle_, -1)), exit_code_(other.exit_code_) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    release();
    pid_ = std::exchange(other.pid_, -1);
    handle_ = std::exchange(other.handle_, -1);
    exit_code_ = other.exit_code_;
  }
  return *this;
}

Child::~Child() { release(); }

void Child::release() noexcept {
  // The std::jthread rule: an un-waited child is waited for, never left a zombie.
  if (pid_ > 0 && !exit_code_) {
    try {
      wait();
    } catch (...) {
    }
  }
  pid_ = -1;
}

int Child::wait() {
  Expects(pid_ > 0);  // a moved-from Child
  while (!exit_code_) {
    int status = 0;
    const pid_t result = ::waitpid(static_cast<pid_t>(pid_), &status, 0);
    if (result == static_cast<pid_t>(pid_)) {
      exit_code_ = detail::decode_status(status);
    } else if (errno != EINTR) {
      detail::fail_errno(errno, "waitpid(" + std::to_string(pid_) + ")");
    }
  }
  return *exit_code_;
}

std::optional<int> Child::wait_for(std::chrono::milliseconds timeout) {
  Expects(pid_ > 0);
  // waitpid has no timeout; poll with a growing sleep, at most 5 ms between looks.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::microseconds(100);
  while (!exit_code_) {
    int status = 0;
    const pid_t result = ::waitpid(static_cast<pid_t>(pid_), &status, WNOHANG);
    if (result == static_cast<pid_t>(pid_)) {
      exit_code_ = detail::decode_status(status);
    } else if (result < 0 && errno != EINTR) {
      detail::fail_errno(errno, "waitpid(" + std::to_string(pid_) + ")");
    } else if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    } else {
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(5000));
    }
  }
  return exit_code_;
}

void Child::kill() {
  Expects(pid_ > 0);
  // Once waited for, the pid may belong to another process: never signal it then.
  if (!exit_code_ && ::kill(static_cast<pid_t>(pid_), SIGKILL) != 0 && errno != ESRCH) {
    detail::fail_errno(errno, "kill(" + std::to_string(pid_) + ", SIGKILL)");
  }
}

}  // namespace interproc
