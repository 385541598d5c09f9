// SPDX-License-Identifier: MIT
// POSIX processes: posix_spawn(3) for the spawn start method, fork(2) for the fork start
// method, waitpid(2) for Child.

#include "common/deadline.hpp"
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

// The child's descriptors: the standard streams, then the passed objects at 3, 4, ... in
// token order, and nothing else of the parent's, not even descriptors opened without
// FD_CLOEXEC. The parent's copies are close-on-exec and numbered above every target, so no
// dup2 overwrites a copy still needed.
class InheritPlan {
 public:
  static constexpr int first_object = 3;

  // Rewrites the token's handle fields to the child's numbers.
  explicit InheritPlan(ChildToken& token) {
    const std::vector<std::uint64_t*> fields = handle_fields(token);
    const int end = first_object + static_cast<int>(fields.size());
    for (std::uint64_t* field : fields) {
      ScopedHandle copy(::fcntl(static_cast<int>(*field), F_DUPFD_CLOEXEC, end));
      if (!copy.valid()) fail_errno(errno, "fcntl(" + std::to_string(*field) + ", F_DUPFD_CLOEXEC)");
      const int target = first_object + static_cast<int>(pairs_.size());
      *field = static_cast<std::uint64_t>(target);
      pairs_.emplace_back(std::move(copy), target);
    }
  }

  void add_to(posix_spawn_file_actions_t& actions, posix_spawnattr_t& attributes) const {
    for (int stream = 0; stream < first_object; ++stream) add_standard_stream(actions, stream);
    // dup2 onto a different number clears FD_CLOEXEC on the target: exactly these survive exec.
    for (const auto& [copy, target] : pairs_) {
      check(::posix_spawn_file_actions_adddup2(&actions, static_cast<int>(copy.get()), target),
            "posix_spawn_file_actions_adddup2");
    }
    close_the_rest(actions, attributes, first_object + static_cast<int>(pairs_.size()));
  }

 private:
  static void check(int result, const char* call) {
    if (result != 0) fail_errno(result, call);
  }

  // A standard stream the parent has closed is /dev/null in the child, so that nothing the
  // child opens later (or its own output) lands on those numbers.
  static void add_standard_stream(posix_spawn_file_actions_t& actions, int stream) {
    if (::fcntl(stream, F_GETFD) != -1) {
#ifdef __APPLE__
      check(::posix_spawn_file_actions_addinherit_np(&actions, stream), "posix_spawn_file_actions_addinherit_np");
#endif
      return;
    }
    check(::posix_spawn_file_actions_addopen(&actions, stream, "/dev/null", stream == 0 ? O_RDONLY : O_WRONLY, 0),
          "posix_spawn_file_actions_addopen(\"/dev/null\")");
  }

  static void close_the_rest(posix_spawn_file_actions_t& actions, posix_spawnattr_t& attributes, int from) {
#if defined(__APPLE__)
    // posix_spawnattr_setflags(3) on macOS: POSIX_SPAWN_CLOEXEC_DEFAULT closes every
    // descriptor that no file action names (addinherit_np keeps the standard streams).
    (void)actions;
    (void)from;
    short flags = 0;
    check(::posix_spawnattr_getflags(&attributes, &flags), "posix_spawnattr_getflags");
    check(::posix_spawnattr_setflags(&attributes, static_cast<short>(flags | POSIX_SPAWN_CLOEXEC_DEFAULT)),
          "posix_spawnattr_setflags(POSIX_SPAWN_CLOEXEC_DEFAULT)");
#elif (defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)) || defined(__FreeBSD__)
    // glibc 2.34 and FreeBSD 13.1: close every descriptor from `from` up in the child.
    (void)attributes;
    check(::posix_spawn_file_actions_addclosefrom_np(&actions, from), "posix_spawn_file_actions_addclosefrom_np");
#else
    (void)actions;
    (void)attributes;
    (void)from;  // other C libraries: descriptors without FD_CLOEXEC are inherited (README)
#endif
  }

  std::vector<std::pair<ScopedHandle, int>> pairs_;
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

}  // namespace

std::vector<std::string> program_arguments(int argc, char** argv) { return {argv, argv + argc}; }

// The environment is process-wide; child_main() runs first in main(), before other threads
// (its documented rule), and spawn_child only reads it.
bool guard_marker_present() noexcept {
  return std::getenv(guard_marker_name) != nullptr;  // NOLINT(concurrency-mt-unsafe): read-only, see above
}

void remove_guard_marker() noexcept {
  ::unsetenv(guard_marker_name);  // NOLINT(concurrency-mt-unsafe): child_main runs before other threads
}

Child launch_executable(const std::string& path, ChildToken token, const std::vector<std::string>& args) {
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
  return ChildAccess::make(pid, invalid_handle);
}

std::string received_token(std::string_view argument) { return std::string(argument); }

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
    : pid_(std::exchange(other.pid_, -1)), handle_(std::exchange(other.handle_, -1)), exit_code_(other.exit_code_),
      waited_(other.waited_) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    release();
    pid_ = std::exchange(other.pid_, -1);
    handle_ = std::exchange(other.handle_, -1);
    exit_code_ = other.exit_code_;
    waited_ = other.waited_;
  }
  return *this;
}

Child::~Child() { release(); }

void Child::release() noexcept {
  // The std::jthread rule: an un-waited child is waited for, never left a zombie.
  if (pid_ > 0 && !waited_) {
    try {
      wait();
    } catch (...) {
    }
  }
  pid_ = -1;
}

int Child::wait() {
  Expects(pid_ > 0);  // a moved-from Child
  while (!waited_) {
    int status = 0;
    const pid_t result = ::waitpid(static_cast<pid_t>(pid_), &status, 0);
    if (result == static_cast<pid_t>(pid_)) {
      finish(detail::decode_status(status));
    } else if (errno != EINTR) {
      detail::fail_errno(errno, "waitpid(" + std::to_string(pid_) + ")");
    }
  }
  return exit_code_;
}

std::optional<int> Child::wait_for(std::chrono::milliseconds timeout) {
  Expects(pid_ > 0);
  // waitpid has no timeout; poll with a growing sleep, at most 5 ms between looks.
  const auto deadline = detail::deadline_after(timeout);
  if (!deadline) return wait();
  auto pause = std::chrono::microseconds(100);
  while (!waited_) {
    int status = 0;
    const pid_t result = ::waitpid(static_cast<pid_t>(pid_), &status, WNOHANG);
    if (result == static_cast<pid_t>(pid_)) {
      finish(detail::decode_status(status));
    } else if (result < 0 && errno != EINTR) {
      detail::fail_errno(errno, "waitpid(" + std::to_string(pid_) + ")");
    } else if (detail::Clock::now() >= *deadline) {
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
  if (!waited_ && ::kill(static_cast<pid_t>(pid_), SIGKILL) != 0 && errno != ESRCH) {
    detail::fail_errno(errno, "kill(" + std::to_string(pid_) + ", SIGKILL)");
  }
}

}  // namespace interproc
