// SPDX-License-Identifier: MIT
// Connection's channel on POSIX: one end of socketpair(AF_UNIX, SOCK_STREAM), close-on-exec
// so that only spawn_child's own hand-over reaches a child. A peer that is gone must end in
// errc::closed, never in SIGPIPE: Linux sends with MSG_NOSIGNAL (send(2)); macOS has no
// MSG_NOSIGNAL and sets SO_NOSIGPIPE on the socket instead (setsockopt(2), macOS).

#include "common/connection_backend.hpp"
#include "common/fail.hpp"

#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace interproc::detail {
namespace {

int fd_of(native_handle channel) noexcept { return static_cast<int>(channel); }

#if defined(SOCK_CLOEXEC)
constexpr int socket_type = SOCK_STREAM | SOCK_CLOEXEC;
#else
constexpr int socket_type = SOCK_STREAM;  // macOS: no SOCK_CLOEXEC (socketpair(2)); set with fcntl below
#endif

#if defined(MSG_NOSIGNAL)
constexpr int send_flags = MSG_NOSIGNAL;
#else
constexpr int send_flags = 0;             // macOS: SO_NOSIGPIPE, set on the socket below
#endif

// What socketpair could not set atomically on this system. Without SOCK_CLOEXEC a fork by
// another thread between socketpair and fcntl would inherit the ends (macOS socketpair(2)
// has no flag for it); spawn_child's posix_spawn closes them anyway (POSIX_SPAWN_CLOEXEC_DEFAULT).
void finish_socket(int fd) {
#if !defined(SOCK_CLOEXEC)
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) fail_errno(errno, "fcntl(F_SETFD, FD_CLOEXEC)");
#endif
#if !defined(MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
  const int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, static_cast<socklen_t>(sizeof on)) != 0)
    fail_errno(errno, "setsockopt(SO_NOSIGPIPE)");
#endif
  (void)fd;
}

bool peer_is_gone(int error) noexcept { return error == EPIPE || error == ECONNRESET || error == ENOTCONN; }

// A piece of `span` from `done` on, at most what one iovec may count.
iovec piece(gsl::span<const std::byte> span, std::size_t done) {
  const std::size_t left = done < span.size() ? span.size() - done : 0;
  return iovec{const_cast<std::byte*>(span.data() + (left != 0 ? done : 0)), std::min<std::size_t>(left, SSIZE_MAX)};
}

}  // namespace

std::pair<ScopedHandle, ScopedHandle> create_channel_pair() {
  int fds[2] = {-1, -1};
  if (::socketpair(AF_UNIX, socket_type, 0, fds) != 0) fail_errno(errno, "socketpair(AF_UNIX, SOCK_STREAM)");
  std::pair<ScopedHandle, ScopedHandle> ends{ScopedHandle(fds[0]), ScopedHandle(fds[1])};
  finish_socket(fds[0]);
  finish_socket(fds[1]);
  return ends;
}

void write_channel(native_handle channel, gsl::span<const std::byte> head, gsl::span<const std::byte> body) {
  std::size_t done = 0;  // of head and body together
  const std::size_t total = head.size() + body.size();
  while (done < total) {
    iovec parts[2] = {piece(head, done), piece(body, done > head.size() ? done - head.size() : 0)};
    msghdr message{};
    message.msg_iov = done < head.size() ? parts : parts + 1;
    message.msg_iovlen = done < head.size() ? 2 : 1;
    const ssize_t sent = ::sendmsg(fd_of(channel), &message, send_flags);
    if (sent >= 0) {
      done += static_cast<std::size_t>(sent);
      continue;
    }
    if (errno == EINTR) continue;
    if (peer_is_gone(errno)) fail(errc::closed, "Connection::send: the peer end is closed");
    fail_errno(errno, "sendmsg(connection)");
  }
}

std::size_t read_channel(native_handle channel, std::byte* into, std::size_t size) {
  for (;;) {
    const ssize_t got = ::read(fd_of(channel), into, std::min<std::size_t>(size, SSIZE_MAX));
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno == EINTR) continue;
    // Linux reports ECONNRESET to the survivor when the closing end had unread data
    // (net/unix/af_unix.c, unix_release_sock): the peer is gone all the same.
    if (peer_is_gone(errno)) return 0;
    fail_errno(errno, "read(connection)");
  }
}

bool wait_channel(native_handle channel, std::optional<Clock::time_point> deadline) {
  for (;;) {
    int timeout = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      timeout = static_cast<int>(std::clamp<long long>(left, 0, INT_MAX));
    }
    pollfd entry{fd_of(channel), POLLIN, 0};
    const int ready = ::poll(&entry, 1, timeout);
    if (ready > 0) return true;  // POLLIN, POLLHUP or POLLERR: recv will not block
    if (ready == 0) {
      if (!deadline || Clock::now() >= *deadline) return false;
      continue;
    }
    if (errno != EINTR) fail_errno(errno, "poll(connection)");
  }
}

bool is_channel(native_handle channel) noexcept {
  struct stat info {};
  return channel >= 0 && channel <= INT_MAX && ::fstat(fd_of(channel), &info) == 0 && S_ISSOCK(info.st_mode);
}

}  // namespace interproc::detail
