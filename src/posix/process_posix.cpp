// SPDX-License-Identifier: MIT
// POSIX processes: posix_spawn(3) for the spawn start method, fork(2) for the fork start
// method, waitpid(2) and kill(2) for Child.

#include "common/fail.hpp"
#include "common/process_backend.hpp"
#include "posix/executable_path_posix.hpp"
#include "posix/handoff_posix.hpp"

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
#ifdef __APPLE__
#include <crt_externs.h>
#endif

namespace interproc::detail {
namespace {

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

// The current environment. macOS: _NSGetEnviron(), since a shared library cannot link
// against `environ` there (environ(7)).
char** process_environment() noexcept {
#ifdef __APPLE__
  return *_NSGetEnviron();
#else
  return environ;
#endif
}

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
  result.reserve(strings.size() + 1);
  for (std::string& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

int decode_status(int status) noexcept {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return status;
}

// Waits with waitpid(2) flags `options`: the exit code, or std::nullopt if WNOHANG found
// the child still running.
std::optional<int> reap(const ChildProcess& process, int options) {
  for (;;) {
    int status = 0;
    const pid_t result = ::waitpid(static_cast<pid_t>(process.pid), &status, options);
    if (result == static_cast<pid_t>(process.pid)) return decode_status(status);
    if (result == 0) return std::nullopt;
    if (errno != EINTR) fail_errno(errno, "waitpid(" + std::to_string(process.pid) + ")");
  }
}

}  // namespace

// The environment is process-wide; child_main() runs first in main(), before other threads
// (its documented rule), and spawn_child only reads it.
bool guard_marker_present() noexcept {
  return std::getenv(guard_marker_name) != nullptr;  // NOLINT(concurrency-mt-unsafe): read-only, see above
}

void remove_guard_marker() noexcept {
  ::unsetenv(guard_marker_name);  // NOLINT(concurrency-mt-unsafe): child_main runs before other threads
}

ChildProcess launch_spawn(const std::string& path, ChildToken token, const std::vector<std::string>& args) {
  InheritPlan plan(token);
  SpawnSetup setup;
  plan.add_to(setup.actions, setup.attributes);
  std::vector<std::string> argv{path, std::string(child_flag) + encode_token(token)};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env = child_environment();
  pid_t pid = -1;
  const int result = ::posix_spawn(&pid, executable_image(path).c_str(), &setup.actions, &setup.attributes,
                                   pointers(argv).data(), pointers(env).data());
  if (result != 0) fail_errno(result, "posix_spawn(" + quoted(path) + ")");
  return ChildProcess{pid, ScopedHandle(), std::nullopt};
}

ChildProcess launch_fork(const std::function<int()>& body) {
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
  return ChildProcess{pid, ScopedHandle(), std::nullopt};
}

std::optional<int> wait_process(const ChildProcess& process, std::optional<Clock::time_point> deadline) {
  if (!deadline) return reap(process, 0);
  // waitpid has no timeout; poll with a growing sleep, at most 5 ms between looks.
  auto pause = std::chrono::microseconds(100);
  for (;;) {
    if (auto code = reap(process, WNOHANG)) return code;
    if (Clock::now() >= *deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(5000));
  }
}

void kill_process(const ChildProcess& process) {
  if (::kill(static_cast<pid_t>(process.pid), SIGKILL) != 0 && errno != ESRCH) {
    fail_errno(errno, "kill(" + std::to_string(process.pid) + ", SIGKILL)");
  }
}

}  // namespace interproc::detail
