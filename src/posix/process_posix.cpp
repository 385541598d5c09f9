// SPDX-License-Identifier: MIT
// POSIX processes: posix_spawn(3) for the spawn start method, fork(2) for the fork start
// method, waitpid(2) and kill(2) for Child; a child's own process group (setpgid(2)) and
// die_with_parent (lifetime_posix.hpp) on request. A forkserver child is waited for and
// signalled through its link to the fork server (forkserver_posix.hpp).

#include "common/fail.hpp"
#include "common/process_backend.hpp"
#include "posix/child_setup_posix.hpp"
#include "posix/executable_path_posix.hpp"
#include "posix/forkserver_posix.hpp"
#include "posix/handoff_posix.hpp"
#include "posix/lifetime_posix.hpp"
#include "posix/process_posix.hpp"

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
  // The child leads a new process group whose id is its pid (posix_spawnattr_setpgroup(3)).
  void new_process_group() {
    short flags = 0;
    check(::posix_spawnattr_getflags(&attributes, &flags), "posix_spawnattr_getflags");
    check(::posix_spawnattr_setflags(&attributes, static_cast<short>(flags | POSIX_SPAWN_SETPGROUP)),
          "posix_spawnattr_setflags(POSIX_SPAWN_SETPGROUP)");
    check(::posix_spawnattr_setpgroup(&attributes, 0), "posix_spawnattr_setpgroup");
  }
  // The child starts in the directory `fd` names: the first file action, before any dup2
  // could take that number.
  void enter_directory(int fd) {
#if defined(__APPLE__) || (defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 29)) || defined(__FreeBSD__)
    // glibc 2.29, macOS 10.15, FreeBSD 13.1 (posix_spawn_file_actions_addfchdir_np(3)).
    check(::posix_spawn_file_actions_addfchdir_np(&actions, fd), "posix_spawn_file_actions_addfchdir_np");
#else
    (void)fd;
    fail(errc::not_supported, "SpawnOptions::cwd: this C library's posix_spawn cannot change directory");
#endif
  }
  static void check(int result, const char* call) {
    if (result != 0) fail_errno(result, call);
  }
};

// lifetime_marker_name's value: "<parent pid>" or, with a watch descriptor,
// "<parent pid>:<descriptor>".

bool has_name(std::string_view entry, std::string_view name) noexcept {
  return entry.size() > name.size() && entry.substr(0, name.size()) == name && entry[name.size()] == '=';
}

// `chosen` (SpawnOptions' environment, free of markers) or else the parent's environment
// without either marker, then the guard marker and, when `lifetime` is not empty, the
// lifetime marker.
std::vector<std::string> child_environment(const std::optional<std::vector<std::string>>& chosen,
                                           const std::string& lifetime) {
  std::vector<std::string> env;
  if (chosen) {
    env = *chosen;
  } else {
    for (char** entry = process_environment(); entry != nullptr && *entry != nullptr; ++entry) {
      if (!has_name(*entry, guard_marker_name) && !has_name(*entry, lifetime_marker_name)) env.emplace_back(*entry);
    }
  }
  env.push_back(std::string(guard_marker_name) + "=1");
  if (!lifetime.empty()) env.push_back(std::string(lifetime_marker_name) + "=" + lifetime);
  return env;
}

std::string lifetime_marker(int watch_target) {
  const std::string pid = std::to_string(::getpid());
  return watch_target < 0 ? pid : pid + ":" + std::to_string(watch_target);
}

// A decimal number of at most 9 digits, without sign or leading zero; -1 if it is not one.
int parse_small_number(std::string_view digits) noexcept {
  if (digits.empty() || digits.size() > 9 || (digits.size() > 1 && digits[0] == '0')) return -1;
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

// _exit(2) through a pointer the dynamic linker fills in when it loads the program. The
// parent never calls _exit, so in a program linked for lazy binding (ld.so(8)) a direct call
// would look the symbol up again in every child, a walk over pages the child then faults in.
void (*const volatile exit_now)(int) = &::_exit;

// Whether `stream` holds output in a buffer of its own (a put area with characters in it).
// The standard streams have none unless sync_with_stdio(false): they write through to stdio.
bool holds_output(const std::ostream& stream) {
  struct Peek : std::streambuf {
    static bool pending(const std::streambuf* buffer) {
      return buffer != nullptr && (buffer->*&Peek::pptr)() > (buffer->*&Peek::pbase)();
    }
  };
  return Peek::pending(stream.rdbuf());
}

// Writes out this process's buffered output: the standard C++ streams that buffer on their
// own, then every stdio stream. Flushing only what holds output spares the pages an empty
// flush writes (a stream's state, its lock), which after fork(2) each cost a copy.
void flush_output() {
  for (std::ostream* stream : {&std::cout, &std::clog, &std::cerr}) {
    if (holds_output(*stream)) stream->flush();
  }
  std::fflush(nullptr);
}

// A fork child holds every descriptor of its parent: it closes the setup's, which it has
// taken as its streams and directory, and above all this process's ends of its own pipes,
// or it would never read end of file on its stdin.
void forget_in_forked_child(ChildSetup& setup) noexcept {
  for (ScopedHandle& end : setup.pipes.ends) end.reset();
  for (ScopedHandle& stream : setup.streams) stream.reset();
  setup.directory.reset();
}

// The fork-style child's half of SpawnOptions, before it runs its entry.
void apply_in_forked_child(const SpawnOptions& options, pid_t parent, int watch) {
  if (options.own_process_group) ::setpgid(0, 0);  // the parent sets it too: whichever runs first
  if (options.die_with_parent) die_with_parent_or_exit(parent, watch);
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

// posix_spawn(3) of this program's image at `path` with `setup`, `argv` and `env`: the pid.
// `role` ends the error message (" of the fork server").
pid_t spawn_program(const std::string& path, SpawnSetup& setup, std::vector<std::string> argv,
                    std::vector<std::string> env, const char* role = "") {
  pid_t pid = -1;
  const int result = ::posix_spawn(&pid, executable_image(path).c_str(), &setup.actions, &setup.attributes,
                                   pointers(argv).data(), pointers(env).data());
  if (result != 0) fail_errno(result, "posix_spawn(" + quoted(path) + ")" + role);
  return pid;
}

}  // namespace

ChildProcess started_child(pid_t pid, bool own_group) {
  ChildProcess child;
  child.pid = pid;
  child.own_group = own_group;
  return child;
}

void leave_forked_child(int code) noexcept {
  try {
    flush_output();
  } catch (...) {  // a stream whose flush throws: what it held is lost either way
  }
  exit_now(code);
  std::abort();  // not reached: exit_now is _exit
}

void die_with_parent_or_exit(pid_t parent, int watch) noexcept {
  try {
    die_with_parent(parent, watch);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "interproc: die_with_parent: %s\n", e.what());
    std::fflush(stderr);
    ::_exit(exit_bad_child_argument);
  }
}

int decode_status(int status) noexcept {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return status;
}

// The environment is process-wide; child_main() runs first in main(), before other threads
// (its documented rule), and spawn_child only reads it.
bool guard_marker_present() noexcept {
  return std::getenv(guard_marker_name) != nullptr;  // NOLINT(concurrency-mt-unsafe): read-only, see above
}

void remove_guard_marker() noexcept {
  ::unsetenv(guard_marker_name);  // NOLINT(concurrency-mt-unsafe): child_main runs before other threads
}

void follow_parent_lifetime() {
  const char* value = std::getenv(lifetime_marker_name);  // NOLINT(concurrency-mt-unsafe): before other threads
  if (value == nullptr) return;
  const std::string text(value);
  ::unsetenv(lifetime_marker_name);  // NOLINT(concurrency-mt-unsafe): child_main runs before other threads
  const std::size_t colon = text.find(':');
  const int parent = parse_small_number(std::string_view(text).substr(0, colon));
  const int watch = colon == std::string::npos ? -1 : parse_small_number(std::string_view(text).substr(colon + 1));
  if (parent <= 0 || (colon != std::string::npos && watch < 0)) {
    fail(errc::bad_handle_argument, std::string(lifetime_marker_name) + " is malformed: " + shown_prefix(text, 40));
  }
  die_with_parent(static_cast<pid_t>(parent), watch);
}

// The descriptors of `setup`'s streams, -1 where the child keeps this process's.
void stream_descriptors(const ChildSetup& setup, int (&streams)[3]) noexcept {
  for (int stream = 0; stream < 3; ++stream) streams[stream] = static_cast<int>(setup.streams[stream].get());
}

ChildProcess launch_spawn(const std::string& path, ChildToken token, const std::vector<std::string>& args,
                          const SpawnOptions& options) {
  ChildSetup child_setup = prepare_child_setup(options);
  InheritPlan plan(token, options.die_with_parent ? parent_watch_descriptor() : -1);
  SpawnSetup setup;
  if (child_setup.directory.valid()) setup.enter_directory(static_cast<int>(child_setup.directory.get()));
  int streams[3];
  stream_descriptors(child_setup, streams);
  plan.add_to(setup.actions, setup.attributes, streams);
  if (options.own_process_group) setup.new_process_group();
  std::vector<std::string> argv{path, std::string(child_flag) + encode_token(token)};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env = child_environment(
      child_setup.environment, options.die_with_parent ? lifetime_marker(plan.watch_target()) : std::string());
  ChildProcess child =
      started_child(spawn_program(path, setup, std::move(argv), std::move(env)), options.own_process_group);
  child.pipes = std::move(child_setup.pipes);
  return child;
}

pid_t launch_fork_server(int control) {
  ChildToken none;
  InheritPlan plan(none, control);  // control becomes descriptor 3, the first after the (no) objects
  Expects(plan.watch_target() == server_descriptor);
  SpawnSetup setup;
  const int own_streams[3] = {-1, -1, -1};
  plan.add_to(setup.actions, setup.attributes, own_streams);
  const std::string path = executable_path();
  std::vector<std::string> argv{path, std::string(child_flag) + std::string(forkserver_argument)};
  return spawn_program(path, setup, std::move(argv), child_environment(std::nullopt, std::string()),
                       " of the fork server");
}

pid_t launch_name_watcher(int control) {
  ChildToken none;
  InheritPlan plan(none, control);  // control becomes descriptor 3, as the fork server's does
  Expects(plan.watch_target() == server_descriptor);
  SpawnSetup setup;
  const int own_streams[3] = {-1, -1, -1};
  plan.add_to(setup.actions, setup.attributes, own_streams);
  // A group of its own: a terminal's ^C reaches the creator's group and must not end the
  // watcher before it has removed the creator's names.
  setup.new_process_group();
  const std::string path = executable_path();
  std::vector<std::string> argv{path, std::string(child_flag) + std::string(name_watcher_argument)};
  return spawn_program(path, setup, std::move(argv), child_environment(std::nullopt, std::string()),
                       " of the name watcher");
}

ChildProcess launch_fork(int (*body)(void* data), void* data, const SpawnOptions& options) {
  const pid_t parent = options.die_with_parent ? ::getpid() : -1;
  const int watch = options.die_with_parent ? parent_watch_descriptor() : -1;
  // Made here, before fork(): the child then allocates nothing to take them.
  ChildSetup child_setup = prepare_child_setup(options);
  int streams[3];
  stream_descriptors(child_setup, streams);
  std::vector<char*> environment;
  if (child_setup.environment) environment = pointers(*child_setup.environment);
  flush_output();  // or the child would write the parent's buffered output a second time
  const pid_t pid = ::fork();
  if (pid < 0) fail_errno(errno, "fork()");
  if (pid == 0) {
    // The child: a copy of the parent with only the forking thread. It runs the entry and
    // leaves with _exit, so no parent-owned destructors or atexit handlers run here.
    enter_child_setup(streams, static_cast<int>(child_setup.directory.get()),
                      environment.empty() ? nullptr : environment.data());
    forget_in_forked_child(child_setup);
    apply_in_forked_child(options, parent, watch);
    leave_forked_child(body(data));
  }
  // setpgid(2): both sides set the group, so it exists whichever runs first. ESRCH / EACCES:
  // the child got there first and has ended / moved on.
  if (options.own_process_group) ::setpgid(pid, pid);
  ChildProcess child = started_child(pid, options.own_process_group);
  child.pipes = std::move(child_setup.pipes);
  return child;
}

std::optional<int> wait_process(const ChildProcess& process, std::optional<Clock::time_point> deadline) {
  if (process.link.valid()) return wait_served(process, deadline);
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

namespace {
// kill(2) of `target` (a pid, or -pgid for a group); ESRCH: it has ended already.
void send_signal(long target, int signal, const char* name) {
  if (::kill(static_cast<pid_t>(target), signal) != 0 && errno != ESRCH) {
    fail_errno(errno, "kill(" + std::to_string(target) + ", " + name + ")");
  }
}
}  // namespace

void kill_process(const ChildProcess& process) {
  if (process.link.valid()) return ask_server(process, LinkCommand::kill);
  send_signal(process.pid, SIGKILL, "SIGKILL");
}

void terminate_process(const ChildProcess& process) {
  if (process.link.valid()) return ask_server(process, LinkCommand::terminate);
  send_signal(process.pid, SIGTERM, "SIGTERM");
}

// The group's id is the child's pid, which no other process can take while the unreaped
// child holds it.
void kill_process_tree(const ChildProcess& process) {
  if (process.link.valid()) return ask_server(process, LinkCommand::kill_tree);
  send_signal(process.own_group ? -process.pid : process.pid, SIGKILL, "SIGKILL");
}

void release_process(ChildProcess& /*process*/) noexcept {}

}  // namespace interproc::detail
