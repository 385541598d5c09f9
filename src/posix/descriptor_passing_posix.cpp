// SPDX-License-Identifier: MIT
#include "posix/descriptor_passing_posix.hpp"

#include "common/fail.hpp"
#include "posix/segment_posix.hpp"

#include <gsl/assert>
#include <gsl/span>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace interproc::detail {
namespace {

constexpr std::size_t header_bytes = 8;
constexpr std::size_t descriptors_per_message = 32;
constexpr std::size_t max_descriptors = 1024;

#ifdef MSG_NOSIGNAL
constexpr int no_sigpipe = MSG_NOSIGNAL;
#else
constexpr int no_sigpipe = 0;     // macOS: the sockets carry SO_NOSIGPIPE instead (setsockopt(2))
#endif

#ifdef MSG_CMSG_CLOEXEC
constexpr int receive_flags = MSG_CMSG_CLOEXEC;
#else
constexpr int receive_flags = 0;  // macOS: FD_CLOEXEC is set right after receiving
#endif

void set_close_on_exec(int fd) {
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) fail_errno(errno, "fcntl(F_SETFD, FD_CLOEXEC)");
}

[[noreturn]] void protocol_error(const std::string& what) { fail_errno(EPROTO, "fork server frame: " + what); }

void put_u32(std::string& out, std::size_t value) {
  const auto v = static_cast<std::uint32_t>(value);
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

std::size_t get_u32(const char* at) {
  std::uint32_t v = 0;
  std::memcpy(&v, at, sizeof v);
  return v;
}

// One sendmsg of `length` bytes at `data`, with `count` descriptors; returns the bytes sent.
std::size_t send_some(int socket, const char* data, std::size_t length, const int* descriptors, std::size_t count) {
  iovec io{const_cast<char*>(data), length};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * descriptors_per_message)]{};
  Expects(count <= descriptors_per_message);
  if (count > 0) {
    // msg_controllen and cmsg_len are size_t in glibc but socklen_t (32 bits) in macOS's
    // <sys/socket.h>; both values are at most CMSG_SPACE of 32 descriptors, so they fit.
    using ControlLength = decltype(message.msg_controllen);
    using HeaderLength = decltype(cmsghdr::cmsg_len);
    message.msg_control = control;
    message.msg_controllen = static_cast<ControlLength>(CMSG_SPACE(sizeof(int) * count));
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = static_cast<HeaderLength>(CMSG_LEN(sizeof(int) * count));
    std::memcpy(CMSG_DATA(header), descriptors, sizeof(int) * count);
  }
  for (;;) {
    const ssize_t sent = ::sendmsg(socket, &message, no_sigpipe);
    if (sent > 0) return static_cast<std::size_t>(sent);
    if (sent < 0 && errno != EINTR) fail_errno(errno, "sendmsg (fork server)");
  }
}

// Keeps the descriptors of every SCM_RIGHTS message in `message`.
void take_descriptors(msghdr& message, std::vector<ScopedHandle>& out) {
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr; header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
      out.emplace_back(fd);
      if (receive_flags == 0) set_close_on_exec(fd);
    }
  }
  if ((message.msg_flags & MSG_CTRUNC) != 0) protocol_error("descriptors were dropped (MSG_CTRUNC)");
}

// Fills `buffer`, keeping the descriptors that arrive with its bytes. False if the peer
// closed the socket before the first byte.
bool receive_exactly(int socket, gsl::span<char> buffer, std::vector<ScopedHandle>& descriptors) {
  const std::size_t length = buffer.size();
  std::size_t done = 0;
  while (done < length) {
    iovec io{buffer.data() + done, length - done};
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    // Room for every descriptor a frame may carry, in case a system hands several groups to
    // one receive (Linux stops after each, recvmsg(2) on a unix(7) stream socket).
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_descriptors)];
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    const ssize_t got = ::recvmsg(socket, &message, receive_flags);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail_errno(errno, "recvmsg (fork server)");
    take_descriptors(message, descriptors);
    if (got == 0) {
      if (done == 0 && descriptors.empty()) return false;
      protocol_error("the peer closed the socket in the middle of a frame");
    }
    done += static_cast<std::size_t>(got);
  }
  return true;
}

}  // namespace

std::pair<ScopedHandle, ScopedHandle> socket_pair() {
  int ends[2];
#ifdef SOCK_CLOEXEC
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) fail_errno(errno, "socketpair(AF_UNIX)");
#else
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, ends) != 0) fail_errno(errno, "socketpair(AF_UNIX)");
#endif
  // Off 0-2 (a process with closed standard streams gets those numbers first), close-on-exec.
  for (int& end : ends) end = above_standard_streams(end);
  std::pair<ScopedHandle, ScopedHandle> pair{ScopedHandle(ends[0]), ScopedHandle(ends[1])};
  if (ends[0] < 0 || ends[1] < 0) fail_errno(errno, "fcntl(F_DUPFD_CLOEXEC) of a socket");
#ifndef SOCK_CLOEXEC
  for (int end : ends) set_close_on_exec(end);
#endif
#ifdef SO_NOSIGPIPE
  const int on = 1;
  for (int fd : ends) {
    if (::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on) != 0) fail_errno(errno, "setsockopt(SO_NOSIGPIPE)");
  }
#endif
  return pair;
}

void send_frame(int socket, const std::string& bytes, const std::vector<int>& descriptors) {
  std::string frame;
  put_u32(frame, bytes.size());
  put_u32(frame, descriptors.size());
  frame += bytes;
  // The descriptors go in groups so that no receive has to take more than one: each group
  // but the last on one byte of the frame (the 8-byte header has enough), the last with the
  // rest of it, so that a frame with few descriptors is one sendmsg.
  std::size_t at = 0;
  for (std::size_t first = 0; first < descriptors.size(); first += descriptors_per_message) {
    const std::size_t count = std::min(descriptors_per_message, descriptors.size() - first);
    const bool last = first + count == descriptors.size();
    Expects(at < frame.size());
    at += send_some(socket, frame.data() + at, last ? frame.size() - at : 1, descriptors.data() + first, count);
  }
  while (at < frame.size()) at += send_some(socket, frame.data() + at, frame.size() - at, nullptr, 0);
}

std::optional<Frame> receive_frame(int socket, std::size_t max_bytes) {
  Frame frame;
  char header[header_bytes];
  if (!receive_exactly(socket, header, frame.descriptors)) return std::nullopt;
  const std::size_t length = get_u32(header);
  const std::size_t count = get_u32(header + 4);
  if (length > max_bytes || count > max_descriptors) protocol_error("too large");
  frame.bytes.resize(length);
  if (length > 0 && !receive_exactly(socket, frame.bytes, frame.descriptors)) {
    protocol_error("the peer closed the socket after the header");
  }
  if (frame.descriptors.size() != count) protocol_error("the descriptor count does not match");
  return frame;
}

bool send_number(int socket, int value) noexcept {
  const auto v = static_cast<std::int32_t>(value);
  for (;;) {
    const ssize_t sent = ::send(socket, &v, sizeof v, no_sigpipe);
    if (sent == static_cast<ssize_t>(sizeof v)) return true;
    if (sent < 0 && errno == EINTR) continue;
    return false;  // a 4-byte send on a fresh stream socket is never partial
  }
}

bool receive_number(int socket, int& value) {
  std::int32_t v = 0;
  std::size_t done = 0;
  while (done < sizeof v) {
    const ssize_t got = ::recv(socket, reinterpret_cast<char*>(&v) + done, sizeof v - done, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == ECONNRESET) return false;
    if (got < 0) fail_errno(errno, "recv (fork server)");
    if (got == 0) return false;
    done += static_cast<std::size_t>(got);
  }
  value = v;
  return true;
}

}  // namespace interproc::detail
