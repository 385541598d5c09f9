// SPDX-License-Identifier: MIT
#pragma once
// Frames of bytes with descriptors over a Unix stream socket (unix(7) SCM_RIGHTS), for the
// fork server (forkserver_*.cpp). A frame is a u32 byte count, a u32 descriptor count, then
// the bytes; the descriptors ride on its first bytes, at most a few per sendmsg(2).

#include "common/native_handle.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace interproc::detail {

// A connected pair of Unix stream sockets, close-on-exec, whose writes never raise SIGPIPE.
std::pair<ScopedHandle, ScopedHandle> socket_pair();

// Sends one frame. Throws std::system_error with the OS code (EPIPE once the peer is gone).
void send_frame(int socket, const std::string& bytes, const std::vector<int>& descriptors);

struct Frame {
  std::string bytes;
  std::vector<ScopedHandle> descriptors;  // close-on-exec
};

// Receives one frame of at most `max_bytes` bytes; std::nullopt if the peer closed the
// socket before one began. Throws std::system_error: EPROTO for a frame that breaks these
// rules or is cut short, the OS code when a call fails.
std::optional<Frame> receive_frame(int socket, std::size_t max_bytes);

// Writes / reads one 32-bit number: false if the peer is gone (no SIGPIPE) / closed first.
bool send_number(int socket, int value) noexcept;
bool receive_number(int socket, int& value);

}  // namespace interproc::detail
