// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// Pipe and Connection: two duplex ends that carry whole messages of any codec type, like
/// Python's multiprocessing.Pipe() and its Connection objects.
#include <interproc/codec.hpp>
#include <interproc/export.hpp>
#include <interproc/timeouts.hpp>
#include <interproc/type_fingerprint.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <gsl/span>
#include <utility>
#include <vector>

namespace interproc {

namespace detail {
struct ConnectionState;
struct ConnectionAccess;
}  // namespace detail

/// One end of a Pipe. Each message travels whole, with a length and the fingerprint of the
/// type it was sent as: send(value) of any codec type (include/interproc/codec.hpp),
/// recv<T>() for exactly that type, send_bytes / recv_bytes for raw bytes.
///
/// Errors, each a std::system_error:
/// - errc::closed: recv / poll once the peer end is closed (or its process died) and every
///   message it sent was read; send once the peer is gone; any call after close().
/// - errc::message_too_large: send of a message over max_message(); a received header that
///   claims more. The stream cannot be trusted past such a header: every later recv
///   throws errc::invalid_message.
/// - errc::invalid_message: a header that is not one (forged, torn: the peer ended within a
///   message), or bytes that do not decode as T. After a bad header the connection stays
///   refused (every later recv throws it again); a bad body loses only that message.
/// - errc::type_mismatch: recv<T> of a message sent as another type. The message is kept:
///   the next recv of the right type (or recv_bytes) returns it, so nothing is lost and the
///   stream stays in step.
///
/// Move-only. One thread at a time sends and one receives (POSIX: a sender and a receiver
/// may be different threads; Windows: one thread at a time in all, since synchronous pipe
/// I/O on one handle is serialised). Pass it to a child with spawn_child; the child gets it
/// with ChildContext::connection(). Close this process's copy of the child's end after
/// spawning (as with Python's Pipe), or its peer never sees the end when the child dies.
class INTERPROC_EXPORT Connection {
 public:
  /// The largest message a Pipe takes unless told otherwise: 64 MiB.
  static constexpr std::size_t default_max_message = std::size_t(64) << 20;

  /// Takes over `other`'s end; `other` is left closed.
  Connection(Connection&& other) noexcept;
  /// Closes this end, then takes over `other`'s.
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  /// Closes this end.
  ~Connection();

  /// Sends `value`, encoded by the codec, as one message. Blocks while the peer's buffer is
  /// full. Throws errc::message_too_large, errc::closed.
  template <class T>
  void send(const T& value) {
    std::vector<std::byte> bytes;
    encode(bytes, value);
    send_message(detail::type_fingerprint<T>(), bytes);
  }
  /// Receives the next message, which must have been sent as a T; blocks until it is here.
  template <class T>
  T recv() {
    std::vector<std::byte> bytes = receive_message(detail::type_fingerprint<T>(), true);
    return decode<T>(gsl::span<const std::byte>(bytes.data(), bytes.size()));
  }
  /// Sends `bytes` as one raw message (recv_bytes on the other end).
  void send_bytes(gsl::span<const std::byte> bytes);
  /// The payload of the next message, whatever it was sent as (for send(value): its encoding).
  std::vector<std::byte> recv_bytes();
  /// True when recv would not block: a message (or part of one) has arrived, or the peer
  /// is gone. Waits up to `timeout` for that.
  bool poll(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  /// poll() with any duration.
  template <class Rep, class Period>
  bool poll(std::chrono::duration<Rep, Period> timeout) {
    return poll(detail::saturated_milliseconds(timeout));
  }
  /// Closes this end now; the peer's recv then throws errc::closed after what was sent.
  /// Idempotent.
  void close() noexcept;
  /// Whether close() was called (or this object was moved from).
  bool closed() const noexcept;
  /// The largest message this end sends or accepts.
  std::size_t max_message() const noexcept;

 private:
  friend struct detail::ConnectionAccess;
  explicit Connection(detail::ConnectionState* state) noexcept : state_(state) {}
  void send_message(std::uint64_t fingerprint, gsl::span<const std::byte> payload);
  // `typed`: refuse (and keep) a message of another fingerprint than `fingerprint`.
  std::vector<std::byte> receive_message(std::uint64_t fingerprint, bool typed);

  detail::ConnectionState* state_;  // owned; null once moved from
};

/// Two connected ends, for `auto [left, right] = Pipe::create();`.
struct PipeEnds {
  Connection first;   ///< one end
  Connection second;  ///< the other end
};

/// Python's multiprocessing.Pipe(duplex=True).
class INTERPROC_EXPORT Pipe {
 public:
  /// Two connected duplex ends, each refusing messages over `max_message` bytes (the same
  /// bound for both; at least 1). POSIX: socketpair(AF_UNIX, SOCK_STREAM); Windows: a named
  /// pipe pair only this user can open. Throws errc::invalid_size for 0, the OS's error when
  /// it refuses.
  static PipeEnds create(std::size_t max_message = Connection::default_max_message);
};

}  // namespace interproc
