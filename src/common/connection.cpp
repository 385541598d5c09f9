// SPDX-License-Identifier: MIT
// Connection's framing, written once over the channel seam (common/connection_backend.hpp).
// A message is a header, then its payload:
//   magic (u32 "IPCM") | zero (u32) | payload length (u64) | type fingerprint (u64)
// in native byte order (both ends are the same program on the same machine). Received bytes
// gather in a buffer, so a small message costs one read; a large payload is read straight
// into its own vector, which grows with what arrives: a forged length never allocates more
// than twice what the peer really sent plus 1 MiB.

#include "common/connection_backend.hpp"
#include "common/fail.hpp"

#include <gsl/assert>

#include <algorithm>
#include <cstring>
#include <utility>

namespace interproc {
namespace detail {
namespace {

constexpr std::uint32_t frame_magic = 0x4d435049;  // "IPCM"
// send_bytes' messages: no type_fingerprint<T>() is 0 in practice (an FNV-1a hash).
constexpr std::uint64_t raw_fingerprint = 0;
constexpr std::size_t buffer_size = std::size_t(64) << 10;
constexpr std::size_t growth_step = std::size_t(1) << 20;

struct FrameHeader {
  std::uint32_t magic;
  std::uint32_t zero;
  std::uint64_t length;
  std::uint64_t fingerprint;
};
static_assert(sizeof(FrameHeader) == 24, "the header has no padding");

ConnectionState& usable(ConnectionState* state) {
  Expects(state != nullptr);  // a moved-from Connection
  if (!state->channel.valid()) fail(errc::closed, "Connection: this end is closed");
  return *state;
}

std::size_t buffered(const ConnectionState& s) noexcept { return s.end - s.begin; }

// Reads until `count` bytes are buffered in one piece; false if the peer ended first.
bool fill(ConnectionState& s, std::size_t count) {
  if (s.buffer.empty()) s.buffer.resize(buffer_size);
  if (s.begin + count > s.buffer.size()) {
    std::memmove(s.buffer.data(), s.buffer.data() + s.begin, buffered(s));
    s.end -= s.begin;
    s.begin = 0;
  }
  while (buffered(s) < count) {
    const std::size_t got = read_channel(s.channel.get(), s.buffer.data() + s.end, s.buffer.size() - s.end);
    if (got == 0) {
      s.peer_gone = true;
      return false;
    }
    s.end += got;
  }
  return true;
}

[[noreturn]] void lose_step(ConnectionState& s, errc code, const std::string& why) {
  s.out_of_step = true;
  fail(code, "Connection::recv: " + why);
}

// The next `length` bytes of the stream.
std::vector<std::byte> take(ConnectionState& s, std::size_t length) {
  if (length <= buffer_size) {
    if (!fill(s, length)) lose_step(s, errc::invalid_message, "the peer ended within a message");
    std::vector<std::byte> out(s.buffer.data() + s.begin, s.buffer.data() + s.begin + length);
    s.begin += length;
    return out;
  }
  const std::size_t first = std::min(length, buffered(s));
  std::vector<std::byte> out(s.buffer.data() + s.begin, s.buffer.data() + s.begin + first);
  s.begin += first;
  std::size_t got = first;
  while (got < length) {
    out.resize(std::min(length, std::max(got * 2, got + growth_step)));
    while (got < out.size()) {
      const std::size_t n = read_channel(s.channel.get(), out.data() + got, out.size() - got);
      if (n == 0) {
        s.peer_gone = true;
        lose_step(s, errc::invalid_message, "the peer ended within a message");
      }
      got += n;
    }
  }
  return out;
}

FrameHeader next_header(ConnectionState& s) {
  if (!fill(s, sizeof(FrameHeader))) {
    if (buffered(s) == 0) fail(errc::closed, "Connection::recv: the peer end is closed");
    lose_step(s, errc::invalid_message, "the peer ended within a message header");
  }
  FrameHeader header{};
  std::memcpy(&header, s.buffer.data() + s.begin, sizeof header);
  if (header.magic != frame_magic || header.zero != 0) lose_step(s, errc::invalid_message, "not a message header");
  if (header.length > s.max_message) {
    lose_step(s, errc::message_too_large,
              "a message of " + std::to_string(header.length) + " bytes, over the " + std::to_string(s.max_message) +
                  "-byte maximum");
  }
  s.begin += sizeof header;
  return header;
}

[[noreturn]] void refuse_type() {
  fail(errc::type_mismatch,
       "Connection::recv: the message was sent as another type (it is kept for a recv of that type)");
}

}  // namespace

Connection ConnectionAccess::adopt(native_handle channel, std::uint64_t max_message) {
  if (!is_channel(channel) || max_message == 0 || max_message > SIZE_MAX)
    fail(errc::bad_handle_argument, "the handle handed over as a Connection is not one");
  auto* state = new ConnectionState;
  state->channel.reset(channel);
  state->max_message = static_cast<std::size_t>(max_message);
  return make(state);
}

Connection ConnectionAccess::alias(const Connection& original) {
  auto* state = new ConnectionState;
  state->channel.reset(usable(original.state_).channel.get());
  state->max_message = original.state_->max_message;
  return make(state);
}

void ConnectionAccess::forget(Connection& alias) noexcept {
  if (alias.state_ != nullptr) (void)alias.state_->channel.release();
}

}  // namespace detail

using detail::ConnectionState;
using detail::fail;

PipeEnds Pipe::create(std::size_t max_message) {
  if (max_message == 0) fail(errc::invalid_size, "Pipe::create: a maximum message size of 0");
  auto channels = detail::create_channel_pair();
  auto* first = new ConnectionState;
  first->channel = std::move(channels.first);
  first->max_message = max_message;
  Connection left = detail::ConnectionAccess::make(first);
  auto* second = new ConnectionState;
  second->channel = std::move(channels.second);
  second->max_message = max_message;
  return PipeEnds{std::move(left), detail::ConnectionAccess::make(second)};
}

Connection::Connection(Connection&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    delete state_;
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

Connection::~Connection() { delete state_; }

void Connection::send_bytes(gsl::span<const std::byte> bytes) { send_message(detail::raw_fingerprint, bytes); }

std::vector<std::byte> Connection::recv_bytes() { return receive_message(detail::raw_fingerprint, false); }

void Connection::send_message(std::uint64_t fingerprint, gsl::span<const std::byte> payload) {
  ConnectionState& s = detail::usable(state_);
  if (payload.size() > s.max_message) {
    fail(errc::message_too_large, "Connection::send: a message of " + std::to_string(payload.size()) +
                                      " bytes, over the " + std::to_string(s.max_message) + "-byte maximum");
  }
  const detail::FrameHeader header{detail::frame_magic, 0, payload.size(), fingerprint};
  detail::write_channel(s.channel.get(), gsl::as_bytes(gsl::span<const detail::FrameHeader>(&header, 1)), payload);
}

std::vector<std::byte> Connection::receive_message(std::uint64_t fingerprint, bool typed) {
  ConnectionState& s = detail::usable(state_);
  if (s.has_pending) {
    if (typed && s.pending_fingerprint != fingerprint) detail::refuse_type();
    s.has_pending = false;
    return std::move(s.pending);
  }
  if (s.out_of_step) fail(errc::invalid_message, "Connection::recv: the stream is out of step after a bad header");
  const detail::FrameHeader header = detail::next_header(s);
  std::vector<std::byte> payload = detail::take(s, static_cast<std::size_t>(header.length));
  if (typed && header.fingerprint != fingerprint) {
    s.has_pending = true;
    s.pending_fingerprint = header.fingerprint;
    s.pending = std::move(payload);
    detail::refuse_type();
  }
  return payload;
}

bool Connection::poll(std::chrono::milliseconds timeout) {
  ConnectionState& s = detail::usable(state_);
  if (s.has_pending || s.out_of_step || s.peer_gone || detail::buffered(s) != 0) return true;
  return detail::wait_channel(s.channel.get(), detail::deadline_after(timeout));
}

void Connection::close() noexcept {
  if (state_ != nullptr) state_->channel.reset();
}

bool Connection::closed() const noexcept { return state_ == nullptr || !state_->channel.valid(); }

std::size_t Connection::max_message() const noexcept { return state_ != nullptr ? state_->max_message : 0; }

}  // namespace interproc
