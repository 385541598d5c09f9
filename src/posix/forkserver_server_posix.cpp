// SPDX-License-Identifier: MIT
// StartMethod::forkserver, the server half (the protocol is in forkserver_posix.hpp): this
// program started again, stopped in child_main(), single-threaded. It forks a child per
// request, reaps its children on SIGCHLD (through a self-pipe, so that poll(2) sees it),
// reports each one's end on its link, and ends when the program that started it ends (end of
// file on the control socket). It ignores SIGINT, as Python's forkserver does: a terminal's
// Ctrl-C reaches its children and the program that started it, which decides.

#include "posix/child_setup_posix.hpp"
#include "posix/descriptor_passing_posix.hpp"
#include "posix/forkserver_posix.hpp"
#include "posix/lifetime_posix.hpp"
#include "posix/process_posix.hpp"

#include <interproc/spawn.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <memory>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace interproc::detail {
namespace {

int sigchld_write = -1;  // the self-pipe's write end, for the handler

extern "C" void note_child_ended(int /*signal*/) {
  const int saved = errno;
  const char byte = 0;
  (void)!::write(sigchld_write, &byte, 1);  // full pipe: a wake-up is pending already
  errno = saved;
}

struct ServedChild {
  pid_t pid;
  bool own_group;
  ScopedHandle link;  // invalid once the client has let go of the child
};

class Server {
 public:
  explicit Server(PrepareChild prepare) : prepare_(prepare), control_(server_descriptor) { open_self_pipe(); }

  int run() {
    if (!send_all(server_ready)) return 0;
    for (;;) {
      std::vector<pollfd> watched{{static_cast<int>(control_.get()), POLLIN, 0},
                                  {static_cast<int>(sigchld_read_.get()), POLLIN, 0}};
      for (const ServedChild& child : children_) watched.push_back({static_cast<int>(child.link.get()), POLLIN, 0});
      // nfds_t is unsigned long in glibc, unsigned int on macOS (poll(2)); the server holds
      // far fewer children than that, and poll fails with EINVAL past OPEN_MAX anyway.
      if (::poll(watched.data(), static_cast<nfds_t>(watched.size()), -1) < 0) {
        if (errno == EINTR) continue;
        fail_errno(errno, "poll (fork server)");
      }
      take_commands(watched);  // first: reap() erases children, which moves their entries
      if (watched[1].revents != 0) reap();
      if (watched[0].revents == 0) continue;
      std::optional<Frame> frame = receive_frame(static_cast<int>(control_.get()), max_request_bytes);
      if (!frame) return 0;  // the program that started this server has ended
      serve(*frame);
    }
  }

 private:
  bool send_all(char byte) { return ::write(static_cast<int>(control_.get()), &byte, 1) == 1; }

  // SIGPIPE is ignored here (a client may go at any moment) and set back in each child.
  static void set_signals(void (*on_child_end)(int), void (*on_interrupt_and_pipe)(int)) {
    struct sigaction action {};
    action.sa_handler = on_child_end;
    action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&action.sa_mask);
    if (::sigaction(SIGCHLD, &action, nullptr) != 0) fail_errno(errno, "sigaction(SIGCHLD)");
    ::signal(SIGINT, on_interrupt_and_pipe);
    ::signal(SIGPIPE, on_interrupt_and_pipe);
  }

  void open_self_pipe() {
    int ends[2];
    if (::pipe(ends) != 0) fail_errno(errno, "pipe()");
    sigchld_read_.reset(ends[0]);
    sigchld_write_.reset(ends[1]);
    for (int fd : ends) {
      if (::fcntl(fd, F_SETFL, O_NONBLOCK) != 0 || ::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
        fail_errno(errno, "fcntl (fork server pipe)");
    }
    sigchld_write = ends[1];
    set_signals(&note_child_ended, SIG_IGN);
  }

  // Reaps every ended child and tells its client how it ended.
  void reap() {
    char drain[64];
    while (::read(static_cast<int>(sigchld_read_.get()), drain, sizeof drain) > 0) {
    }
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid < 0 && errno == EINTR) continue;
      if (pid <= 0) return;
      const auto served = find(pid);
      if (served == children_.end()) continue;
      if (served->link.valid()) (void)send_number(static_cast<int>(served->link.get()), decode_status(status));
      children_.erase(served);
    }
  }

  // Commands from the clients' links (watched[2...] in children_ order). A link at end of
  // file belongs to a Child that has let go: its child is still reaped, and poll(2) skips
  // the invalid descriptor from then on.
  void take_commands(const std::vector<pollfd>& watched) {
    for (std::size_t i = 2; i < watched.size(); ++i) {
      if (watched[i].revents == 0) continue;
      ServedChild& child = children_[i - 2];
      int command = 0;
      if (!receive_number(static_cast<int>(child.link.get()), command)) {
        child.link.reset();
        continue;
      }
      signal_child(child, static_cast<LinkCommand>(command));
    }
  }

  // The child is unreaped (reap() erases it first), so its pid is still its own.
  static void signal_child(const ServedChild& child, LinkCommand command) {
    switch (command) {
      case LinkCommand::kill: ::kill(child.pid, SIGKILL); break;
      case LinkCommand::terminate: ::kill(child.pid, SIGTERM); break;
      case LinkCommand::kill_tree: ::kill(child.own_group ? -child.pid : child.pid, SIGKILL); break;
    }
  }

  std::vector<ServedChild>::iterator find(pid_t pid) {
    return std::find_if(children_.begin(), children_.end(), [pid](const ServedChild& c) { return c.pid == pid; });
  }

  // Forks the child `frame` asks for, its objects rebuilt here first: the child then only runs
  // its entry, and touches (so copies) as few pages as a fork-style child.
  void serve(Frame& frame) {
    if (frame.descriptors.empty()) return;  // no link to answer on
    ScopedHandle link = std::move(frame.descriptors.front());
    try {
      Request request = Request::decode(frame.bytes);
      const std::size_t first_object = 1 + extras(request.flags);
      std::unique_ptr<PreparedChild> child =
          prepare_(child_token(request, frame, first_object), std::move(request.args));
      // Rebuilt objects own their descriptors; after a failure those it had taken are closed
      // already, and closing them again here finds nothing (no descriptor opened meanwhile).
      if (child->ready()) {
        for (std::size_t i = first_object; i < frame.descriptors.size(); ++i) (void)frame.descriptors[i].release();
      }
      const pid_t server = ::getpid();
      const pid_t pid = ::fork();
      if (pid < 0) fail_errno(errno, "fork()");
      if (pid == 0) {
        become_child(request, frame, link, server);
        run_child(*child);
      }
      if ((request.flags & Request::own_process_group) != 0) ::setpgid(pid, pid);  // and the child: whichever is first
      (void)send_number(static_cast<int>(link.get()), static_cast<int>(pid));
      children_.push_back({pid, (request.flags & Request::own_process_group) != 0, std::move(link)});
    } catch (const std::system_error& e) {
      const int code = e.code().category() == std::generic_category() ? e.code().value() : EPROTO;
      (void)send_number(static_cast<int>(link.get()), -code);
    }
  }

  // Pointers to the NUL-ended entries of `block` (which the child keeps), null-ended.
  static std::vector<char*> environment_entries(std::string& block) {
    std::vector<char*> entries;
    for (std::size_t at = 0; at < block.size();) {
      const std::size_t end = block.find('\0', at);
      if (end == std::string::npos) break;  // not sent by this library's client
      entries.push_back(&block[at]);
      at = end + 1;
    }
    entries.push_back(nullptr);
    return entries;
  }

  [[noreturn]] static void run_child(PreparedChild& child) noexcept {
    int code = exit_entry_threw;
    try {
      code = child.run();
    } catch (...) {  // run() reports what an entry throws; this is what is left (bad_alloc)
    }
    leave_forked_child(code);
  }

  // The request's token with its handle fields naming the descriptors this process received,
  // from frame.descriptors[first] on.
  static std::string child_token(const Request& request, const Frame& frame, std::size_t first) {
    ChildToken token = decode_token(request.token);
    const std::vector<std::uint64_t*> fields = handle_fields(token);
    if (frame.descriptors.size() != first + fields.size()) {
      fail_errno(EPROTO, "fork server request: the descriptors do not match the token");
    }
    for (std::size_t i = 0; i < fields.size(); ++i)
      *fields[i] = static_cast<std::uint64_t>(frame.descriptors[first + i].get());
    return encode_token(token);
  }

  // How many descriptors come between the link and the token's handles.
  static std::size_t extras(std::uint8_t flags) {
    std::size_t count = (flags & Request::has_watch) != 0 ? 1U : 0U;
    count += (flags & Request::has_directory) != 0 ? 1U : 0U;
    for (int stream = 0; stream < 3; ++stream) count += (flags & Request::stream_open(stream)) != 0 ? 1U : 0U;
    return count;
  }

  // In the forked child: drops the server's descriptors and signal handling, takes the
  // client's standard streams, directory and environment, and applies the lifetime options.
  void become_child(Request& request, Frame& frame, ScopedHandle& link, pid_t server) {
    const std::uint8_t flags = request.flags;
    set_signals(SIG_DFL, SIG_DFL);
    control_.reset();
    sigchld_read_.reset();
    sigchld_write_.reset();
    link.reset();
    children_.clear();
    std::size_t at = 1;
    for (int stream = 0; stream < 3; ++stream) {
      if ((flags & Request::stream_open(stream)) != 0) {
        ::dup2(static_cast<int>(frame.descriptors[at++].get()), stream);
      } else {
        const int null = ::open("/dev/null", stream == 0 ? O_RDONLY : O_WRONLY);
        if (null >= 0 && null != stream) {
          ::dup2(null, stream);
          ::close(null);
        }
      }
    }
    const int watch = (flags & Request::has_watch) != 0 ? static_cast<int>(frame.descriptors[at].get()) : -1;
    const std::size_t directory_at = at + ((flags & Request::has_watch) != 0 ? 1U : 0U);
    const int directory =
        (flags & Request::has_directory) != 0 ? static_cast<int>(frame.descriptors[directory_at].get()) : -1;
    const int keep_streams[3] = {-1, -1, -1};
    // This process is single-threaded: the child may allocate its environment's array, which
    // lives as long as the child does.
    static std::vector<char*> environment;
    if ((flags & Request::has_environment) != 0) environment = environment_entries(request.environment);
    enter_child_setup(keep_streams, directory, environment.empty() ? nullptr : environment.data());
    if (directory >= 0) frame.descriptors[directory_at].reset();
    if ((flags & Request::own_process_group) != 0) ::setpgid(0, 0);
    // die_with_parent: the child dies with this server, which dies with the client (Linux), or
    // it watches the client's own pipe (portable).
    if ((flags & Request::die_with_parent) != 0) die_with_parent_or_exit(server, watch);
    // The child owns its objects' descriptors (and the watch) from here; the rest close.
    for (std::size_t i = at; i < frame.descriptors.size(); ++i) (void)frame.descriptors[i].release();
    frame.descriptors.clear();
  }

  PrepareChild prepare_;
  ScopedHandle control_;
  ScopedHandle sigchld_read_;
  ScopedHandle sigchld_write_;
  std::vector<ServedChild> children_;
};

}  // namespace

int serve_forks(PrepareChild prepare) {
  Server server(prepare);
  return server.run();
}

}  // namespace interproc::detail
