// SPDX-License-Identifier: MIT
#pragma once
// The seam between Connection's framing (common/connection.cpp, written once) and the byte
// channels under it: posix/connection_posix.cpp (socketpair) and win32/connection_win.cpp
// (a named pipe pair). A channel is one native handle, read and written as a byte stream.

#include "common/deadline.hpp"
#include "common/native_handle.hpp"

#include <interproc/connection.hpp>

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

namespace interproc::detail {

struct ConnectionState {
  ScopedHandle channel;
  std::size_t max_message = Connection::default_max_message;
  // Bytes read from the channel and not yet taken: [begin, end) of `buffer`.
  std::vector<std::byte> buffer;
  std::size_t begin = 0;
  std::size_t end = 0;
  // A whole message recv<T> refused for its type, kept for the next recv.
  bool has_pending = false;
  std::uint64_t pending_fingerprint = 0;
  std::vector<std::byte> pending;
  // Set once a header could not be trusted: the stream is out of step for good.
  bool out_of_step = false;
  bool peer_gone = false;  // the channel reported its end
};

struct ConnectionAccess {
  static Connection make(ConnectionState* state) noexcept { return Connection(state); }
  static ConnectionState* state(const Connection& c) noexcept { return c.state_; }
  // The child side: a Connection over `channel`, checked to be a channel (errc::bad_handle_argument).
  static Connection adopt(native_handle channel, std::uint64_t max_message);
  // A Connection naming the same channel as `original` (a fork child's borrowed copy);
  // `forget` lets it go without closing it.
  static Connection alias(const Connection& original);
  static void forget(Connection& alias) noexcept;
};

// Two connected channels. Throws the OS's error.
std::pair<ScopedHandle, ScopedHandle> create_channel_pair();

// Writes all of `head` then all of `body`; throws errc::closed when the peer is gone.
void write_channel(native_handle channel, gsl::span<const std::byte> head, gsl::span<const std::byte> body);

// Reads what is there, up to `size` bytes, blocking until at least one arrives: the count,
// or 0 once the peer's end is closed and everything was read.
std::size_t read_channel(native_handle channel, std::byte* into, std::size_t size);

// Whether the channel has bytes to read or its peer is gone, waiting until `deadline`
// (std::nullopt: as long as it takes).
bool wait_channel(native_handle channel, std::optional<Clock::time_point> deadline);

// Whether `channel` (a handle received from a parent) is a channel: a socket / a pipe.
bool is_channel(native_handle channel) noexcept;

}  // namespace interproc::detail
