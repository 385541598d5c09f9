// SPDX-License-Identifier: MIT
// A POSIX child's standard streams, directory and environment (child_setup_posix.hpp), and
// the I/O on its pipes: poll(2) over this process's non-blocking ends.

#include "posix/child_setup_posix.hpp"

#include "common/fail.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string_view>
#include <unistd.h>
#ifdef __APPLE__
#include <crt_externs.h>
#endif

namespace interproc::detail {

struct PendingPipeIo {};  // POSIX I/O never stays under way between calls
void PendingPipeIoDeleter::operator()(PendingPipeIo* io) const noexcept { delete io; }

char** process_environment() noexcept {
#ifdef __APPLE__
  return *_NSGetEnviron();
#else
  return environ;
#endif
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (std::string& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

namespace {

// A descriptor above the standard streams (a parent with one closed gets 0, 1 or 2 from
// open and pipe), so that placing one stream never overwrites another's source.
ScopedHandle above_standard_streams(int fd, const std::string& what) {
  ScopedHandle owned(fd);
  if (fd < 0) fail_errno(errno, what);
  if (fd > 2) return owned;
  ScopedHandle moved(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!moved.valid()) fail_errno(errno, "fcntl(F_DUPFD_CLOEXEC) for " + what);
  return moved;
}

ScopedHandle open_for(int stream, const std::string& path, bool append) {
  const int flags = stream == 0 ? O_RDONLY : O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
  return above_standard_streams(::open(path.c_str(), flags | O_CLOEXEC | O_NOCTTY, 0666),
                                "open(" + quoted(path) + ") for the child's " + (stream == 0 ? "stdin" : "output"));
}

// pipe2(2) where it exists; macOS has no pipe2, so there the ends become close-on-exec a
// moment after pipe(2): a fork+exec elsewhere in that moment may inherit them (the library's
// own spawns on macOS close every descriptor they do not name: POSIX_SPAWN_CLOEXEC_DEFAULT).
std::pair<ScopedHandle, ScopedHandle> make_pipe() {
  int ends[2] = {-1, -1};
#if defined(__APPLE__)
  if (::pipe(ends) != 0) fail_errno(errno, "pipe() for a child's stream");
  for (int fd : ends) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
#else
  if (::pipe2(ends, O_CLOEXEC) != 0) fail_errno(errno, "pipe2() for a child's stream");
#endif
  ScopedHandle read_end = above_standard_streams(ends[0], "pipe()");
  ScopedHandle write_end = above_standard_streams(ends[1], "pipe()");
  return {std::move(read_end), std::move(write_end)};
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) fail_errno(errno, "fcntl(O_NONBLOCK) on a pipe");
}

void prepare_stream(ChildSetup& setup, int stream, const Redirect& redirect) {
  switch (redirect.kind) {
    case Redirect::Kind::inherit: return;
    case Redirect::Kind::null_device: setup.streams[stream] = open_for(stream, "/dev/null", true); return;
    case Redirect::Kind::file: setup.streams[stream] = open_for(stream, redirect.path, redirect.append); return;
    case Redirect::Kind::pipe: {
      auto [read_end, write_end] = make_pipe();
      ScopedHandle& mine = stream == 0 ? write_end : read_end;
      set_nonblocking(static_cast<int>(mine.get()));
      setup.pipes.ends[stream] = std::move(mine);
      setup.pipes.piped[stream] = true;
      setup.streams[stream] = std::move(stream == 0 ? read_end : write_end);
      return;
    }
  }
}

// Linux: O_PATH opens a directory one may enter but not list, and fchdir(2) takes it (open(2)).
ScopedHandle open_directory(const std::string& path) {
#ifdef O_PATH
  const int flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
#else
  const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
#endif
  ScopedHandle dir(::open(path.c_str(), flags));
  if (!dir.valid()) fail_errno(errno, "the child's directory " + quoted(path));
  return dir;
}

std::string_view name_of(std::string_view entry) noexcept { return entry.substr(0, entry.find('=')); }

bool is_marker(std::string_view name) noexcept { return name == guard_marker_name || name == lifetime_marker_name; }

std::vector<std::string> merged_environment(const SpawnOptions& options) {
  std::vector<std::string> env;
  const auto unset = [&](std::string_view name) {
    return is_marker(name) || options.env.count(std::string(name)) != 0 ||
           std::find(options.unset_env.begin(), options.unset_env.end(), name) != options.unset_env.end();
  };
  if (!options.clear_env) {
    for (char** entry = process_environment(); entry != nullptr && *entry != nullptr; ++entry) {
      if (!unset(name_of(*entry))) env.emplace_back(*entry);
    }
  }
  for (const auto& [name, value] : options.env) env.push_back(std::string(name).append("=").append(value));
  return env;
}

[[noreturn]] void setup_failed(const char* call) noexcept {
  // Only async-signal-safe calls: a fork child of a threaded parent may run here.
  const char prefix[] = "interproc: the child's start failed: ";
  (void)!::write(2, prefix, sizeof prefix - 1);
  (void)!::write(2, call, std::strlen(call));
  (void)!::write(2, "\n", 1);
  ::_exit(exit_bad_child_argument);
}

}  // namespace

ChildSetup prepare_child_setup(const SpawnOptions& options) {
  ChildSetup setup;
  if (!options.cwd.empty()) setup.directory = open_directory(options.cwd);
  prepare_stream(setup, 0, options.std_in);
  prepare_stream(setup, 1, options.std_out);
  prepare_stream(setup, 2, options.std_err);
  if (options.clear_env || !options.env.empty() || !options.unset_env.empty())
    setup.environment = merged_environment(options);
  return setup;
}

void enter_child_setup(const int (&streams)[3], int directory, char** environment) noexcept {
  for (int stream = 0; stream < 3; ++stream) {
    if (streams[stream] >= 0 && ::dup2(streams[stream], stream) < 0) setup_failed("dup2 of a standard stream");
  }
  if (directory >= 0 && ::fchdir(directory) != 0) setup_failed("fchdir to the child's directory");
  if (environment == nullptr) return;
#ifdef __APPLE__
  *_NSGetEnviron() = environment;
#else
  environ = environment;
#endif
}

// ---- I/O on a child's pipes ----

namespace {

// write(2) without SIGPIPE: a write to a pipe whose reader is gone raises SIGPIPE in the
// writing thread (pipe(7)) and fails with EPIPE. The signal is blocked in this thread for
// the write, and one it raised is taken off the pending set with sigwait(3) before the old
// mask returns, so that it is never delivered.
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_only, old, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigemptyset(&pending);
  ::sigpending(&pending);
  const bool already_pending = sigismember(&pending, SIGPIPE) == 1;
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  const ssize_t written = ::write(fd, data, size);
  const int saved = errno;
  if (written < 0 && saved == EPIPE && !already_pending) {
    sigemptyset(&pending);
    ::sigpending(&pending);
    int taken = 0;
    if (sigismember(&pending, SIGPIPE) == 1) ::sigwait(&pipe_only, &taken);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return written;
}

void write_input(ChildPipes& pipes, std::string_view& input) {
  const int fd = static_cast<int>(pipes.ends[0].get());
  const ssize_t written = write_without_sigpipe(fd, input.data(), std::min<std::size_t>(input.size(), SSIZE_MAX));
  if (written >= 0) {
    input.remove_prefix(static_cast<std::size_t>(written));
    return;
  }
  const int error = errno;
  if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) return;
  pipes.ends[0].reset();
  fail_errno(error, "write to the child's stdin pipe");
}

void read_output(ChildPipes& pipes, int stream) {
  char buffer[65536];
  const ssize_t got = ::read(static_cast<int>(pipes.ends[stream].get()), buffer, sizeof buffer);
  if (got > 0) {
    pipes.received[stream].append(buffer, static_cast<std::size_t>(got));
    return;
  }
  const int error = errno;
  if (got < 0 && (error == EAGAIN || error == EWOULDBLOCK || error == EINTR)) return;
  pipes.ends[stream].reset();  // end of file, or an error that ends the stream as surely
  if (got < 0) fail_errno(error, std::string("read from the child's ") + (stream == 1 ? "stdout" : "stderr") + " pipe");
}

int poll_timeout(std::optional<Clock::time_point> deadline) {
  if (!deadline) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left, 0, INT_MAX));
}

}  // namespace

bool pump_pipes(ChildPipes& pipes, std::string_view& input, std::optional<Clock::time_point> deadline) {
  pollfd watched[3];
  int streams[3];
  nfds_t count = 0;
  for (int stream = 0; stream < 3; ++stream) {
    if (!pipes.ends[stream].valid() || (stream == 0 && input.empty())) continue;
    watched[count] = {static_cast<int>(pipes.ends[stream].get()), static_cast<short>(stream == 0 ? POLLOUT : POLLIN),
                      0};
    streams[count++] = stream;
  }
  if (count == 0) return false;
  for (;;) {
    const int ready = ::poll(watched, count, poll_timeout(deadline));
    if (ready > 0) break;
    if (ready == 0) return false;
    if (errno != EINTR) fail_errno(errno, "poll (a child's pipes)");
  }
  for (nfds_t i = 0; i < count; ++i) {
    if (watched[i].revents == 0) continue;
    if (streams[i] == 0) {
      write_input(pipes, input);
    } else {
      read_output(pipes, streams[i]);
    }
  }
  return true;
}

bool input_pending(const ChildPipes& /*pipes*/) noexcept { return false; }

void close_pipe(ChildPipes& pipes, int stream) noexcept { pipes.ends[stream].reset(); }

}  // namespace interproc::detail
