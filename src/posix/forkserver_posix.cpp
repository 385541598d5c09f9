// SPDX-License-Identifier: MIT
// StartMethod::forkserver, the client half (the protocol is in forkserver_posix.hpp). One
// server per process, started on first use and again once it has died. Its control socket
// is its only tie to this process, so it reads end of file when this process ends, however
// that happens. pthread_atfork(3) closes this end in every forked child: a fork must neither
// keep the server alive nor talk to its parent's server.

#include "posix/forkserver_posix.hpp"

#include "posix/child_setup_posix.hpp"
#include "posix/descriptor_passing_posix.hpp"
#include "posix/lifetime_posix.hpp"
#include "posix/process_posix.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <fcntl.h>
#include <mutex>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace interproc::detail {
namespace {

// Generous: the server is this program loaded again, which may be slow under a debugger or
// a sanitizer; a program whose main() lacks the guard never answers at all.
constexpr auto ready_timeout = std::chrono::seconds(30);
// How long a running server may take to answer a request (it forks at once, in
// milliseconds): past it the server is taken as wedged, and replaced.
constexpr auto server_answer_timeout = std::chrono::seconds(5);

constexpr const char* guard_help =
    "main() must begin with `if (auto code = interproc::child_main(argc, argv)) return *code;`, "
    "where the fork server (this program started again) stops";

// Waits until `fd` is readable or `deadline` passes; false on the deadline.
bool readable_by(int fd, std::optional<Clock::time_point> deadline) {
  for (;;) {
    int ms = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      ms = static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left, 0, INT_MAX));
    }
    pollfd watched{fd, POLLIN, 0};
    const int result = ::poll(&watched, 1, ms);
    if (result > 0) return true;
    if (result < 0 && errno != EINTR) fail_errno(errno, "poll (fork server)");
    if (result == 0 && deadline && Clock::now() >= *deadline) return false;
  }
}

class ForkServer {
 public:
  // Never destroyed: its socket closes with the process, which is what ends the server.
  static ForkServer& instance() {
    static ForkServer* const server = new ForkServer;
    return *server;
  }

  // Sends one request, starting a server first if there is none or it has died. Returns
  // the pid of the server that took it.
  pid_t send(const std::string& bytes, const std::vector<int>& descriptors) {
    const std::lock_guard<std::mutex> hold(lock_);
    for (int attempt = 0;; ++attempt) {
      if (!control_.valid()) start();
      try {
        send_frame(static_cast<int>(control_.get()), bytes, descriptors);
        return server_;
      } catch (const std::system_error& e) {
        const bool server_gone = e.code() == std::errc::broken_pipe || e.code() == std::errc::connection_reset;
        if (!server_gone || attempt > 0) throw;
        forget_server(false);
      }
    }
  }

  // Kills and reaps `server` if it is still this process's server (another thread may have
  // replaced it already); the next send() starts a new one. SIGKILL ends a stopped process
  // too (signal(7)).
  void replace(pid_t server) {
    const std::lock_guard<std::mutex> hold(lock_);
    if (server == server_) forget_server(true);
  }

 private:
  ForkServer() { ::pthread_atfork(&lock_for_fork, &unlock_for_fork, &forget_in_child); }

  void start() {
    auto [mine, theirs] = socket_pair();
    server_ = launch_fork_server(static_cast<int>(theirs.get()));
    theirs.reset();
    control_ = std::move(mine);
    try {
      await_ready();
    } catch (...) {
      forget_server(true);
      throw;
    }
  }

  void await_ready() {
    if (!readable_by(static_cast<int>(control_.get()), Clock::now() + ready_timeout)) {
      fail(errc::missing_guard, std::string("the fork server did not start within 30 s: ") + guard_help);
    }
    char byte = 0;
    const ssize_t got = ::recv(static_cast<int>(control_.get()), &byte, 1, 0);
    if (got != 1 || byte != server_ready) {
      fail(errc::missing_guard, std::string("the fork server ended before it was ready: ") + guard_help);
    }
  }

  // Closes the control socket and reaps the server, killing it first if it may still run.
  void forget_server(bool kill_first) noexcept {
    control_.reset();
    if (server_ <= 0) return;
    if (kill_first) ::kill(server_, SIGKILL);
    while (::waitpid(server_, nullptr, 0) < 0 && errno == EINTR) {
    }
    server_ = -1;
  }

  static void lock_for_fork() { instance().lock_.lock(); }
  static void unlock_for_fork() { instance().lock_.unlock(); }
  static void forget_in_child() {
    ForkServer& self = instance();
    self.control_.reset();
    self.server_ = -1;  // not this process's child
    self.lock_.unlock();
  }

  std::mutex lock_;  // guards both members; held across fork() (pthread_atfork above)
  ScopedHandle control_;
  pid_t server_ = -1;
};

// The standard streams, the watch descriptor, the directory and the token's handles, in
// protocol order, with the flags that say which are there; and the environment.
std::vector<int> request_descriptors(Request& request, ChildToken& token, const SpawnOptions& options,
                                     const ChildSetup& setup) {
  std::vector<int> descriptors;
  for (int stream = 0; stream < 3; ++stream) {
    const int chosen = static_cast<int>(setup.streams[stream].get());
    if (chosen < 0 && ::fcntl(stream, F_GETFD) == -1) continue;  // closed here: /dev/null in the child
    request.flags |= Request::stream_open(stream);
    descriptors.push_back(chosen >= 0 ? chosen : stream);
  }
  if (options.die_with_parent) {
    request.flags |= Request::die_with_parent;
    if (const int watch = parent_watch_descriptor(); watch >= 0) {
      request.flags |= Request::has_watch;
      descriptors.push_back(watch);
    }
  }
  if (options.own_process_group) request.flags |= Request::own_process_group;
  if (setup.directory.valid()) {
    request.flags |= Request::has_directory;
    descriptors.push_back(static_cast<int>(setup.directory.get()));
  }
  if (setup.environment) {
    request.flags |= Request::has_environment;
    for (const std::string& entry : *setup.environment) request.environment.append(entry).push_back('\0');
  }
  for (const std::uint64_t* field : handle_fields(token)) descriptors.push_back(static_cast<int>(*field));
  return descriptors;
}

// Sends the request and returns the link once the server has answered on it. A server that
// does not answer within server_answer_timeout is wedged (stopped by SIGSTOP, or stuck):
// it is killed, and the request goes once more to a new server.
ScopedHandle request_child(ChildToken& token, const std::vector<std::string>& args, const SpawnOptions& options,
                           const ChildSetup& setup) {
  for (int attempt = 0;; ++attempt) {
    auto [link, server_end] = socket_pair();
    Request request;
    std::vector<int> descriptors{static_cast<int>(server_end.get())};
    const std::vector<int> rest = request_descriptors(request, token, options, setup);
    descriptors.insert(descriptors.end(), rest.begin(), rest.end());
    request.token = encode_token(token);
    request.args = args;
    const std::string bytes = request.encode();
    if (bytes.size() > max_request_bytes) {
      fail(errc::invalid_argument, "spawn_child: the environment and arguments take " + std::to_string(bytes.size()) +
                                       " bytes, a fork server request at most " + std::to_string(max_request_bytes));
    }
    const pid_t server = ForkServer::instance().send(bytes, descriptors);
    server_end.reset();  // so that the server's end is the link's only other end
    if (readable_by(static_cast<int>(link.get()), Clock::now() + server_answer_timeout)) return std::move(link);
    // A child the wedged server forked just before it stopped is left running unwaited:
    // the server alone knew its pid.
    ForkServer::instance().replace(server);
    if (attempt > 0) fail_errno(ETIMEDOUT, "the fork server did not answer within 5 s, twice (a new server too)");
  }
}

}  // namespace

ChildProcess launch_forkserver(ChildToken token, const std::vector<std::string>& args, const SpawnOptions& options) {
  ChildSetup setup = prepare_child_setup(options);
  ScopedHandle link = request_child(token, args, options, setup);
  int pid = 0;
  if (!receive_number(static_cast<int>(link.get()), pid)) {
    fail(errc::child_lost, "the fork server ended before it started the child");
  }
  if (pid < 0) fail_errno(-pid, "fork() in the fork server");
  ChildProcess child = started_child(pid, options.own_process_group);
  child.link = std::move(link);
  child.pipes = std::move(setup.pipes);
  return child;
}

std::optional<int> wait_served(const ChildProcess& process, std::optional<Clock::time_point> deadline) {
  const int link = static_cast<int>(process.link.get());
  if (!readable_by(link, deadline)) return std::nullopt;
  int code = 0;
  if (!receive_number(link, code)) {
    fail(errc::child_lost, "the fork server ended before child " + std::to_string(process.pid) +
                               " did: how the child ended is not known");
  }
  return code;
}

// A child that has ended has been reaped or is about to be: the server then ignores the
// command, or has closed the link and the send fails; either way there is nothing to do.
void ask_server(const ChildProcess& process, LinkCommand command) {
  (void)send_number(static_cast<int>(process.link.get()), static_cast<int>(command));
}

}  // namespace interproc::detail
