// SPDX-License-Identifier: MIT
#pragma once
// The fork server's protocol (StartMethod::forkserver): the client half is
// forkserver_posix.cpp (in the program that calls spawn_child), the server half
// forkserver_server_posix.cpp (the same program re-executed, stopped in child_main()).
//
// The control socket is the server's descriptor 3. The server writes server_ready once it
// runs; then the client sends one frame per child (descriptor_passing_posix.hpp):
//   bytes:       a flags byte (Request::flags), then the token text, the environment if
//                flagged (its "NAME=value" entries, each ended by a NUL) and each argument,
//                each as a u32 length and its bytes;
//   descriptors: the child's link, the standard streams the flags name (this process's, or
//                those SpawnOptions chose), the watch descriptor if flagged, the directory
//                to enter if flagged, then the token's handles in handle_fields() order.
// On the link the server writes the child's pid (-errno if it could not fork) and, once the
// child has ended, its exit code as wait_process() gives it. The client writes one command
// byte per signal; the server sends it only while the child is unreaped, so that no signal
// reaches a pid the system has given to another process since.

#include "common/fail.hpp"
#include "common/process_backend.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace interproc::detail {

inline constexpr int server_descriptor = 3;
inline constexpr char server_ready = 'R';
inline constexpr std::size_t max_request_bytes = 1 << 20;

enum class LinkCommand : char { kill = 'k', terminate = 't', kill_tree = 'g' };

struct Request {
  enum Flag : std::uint8_t {
    die_with_parent = 1,
    own_process_group = 2,
    has_watch = 4,
    stdin_open = 8,  // then stdout_open = 16, stderr_open = 32
    has_directory = 64,
    has_environment = 128,
  };
  std::uint8_t flags = 0;
  std::string token;
  std::string environment;  // with has_environment: the entries, each ended by a NUL
  std::vector<std::string> args;

  static constexpr std::uint8_t stream_open(int stream) { return static_cast<std::uint8_t>(stdin_open << stream); }

  std::string encode() const {
    std::string out(1, static_cast<char>(flags));
    put(out, token);
    if ((flags & has_environment) != 0) put(out, environment);
    for (const std::string& arg : args) put(out, arg);
    return out;
  }

  // Throws std::system_error (EPROTO) for bytes that are not a request.
  static Request decode(std::string_view bytes) {
    if (bytes.empty()) fail_errno(EPROTO, "fork server request: empty");
    Request request;
    request.flags = static_cast<std::uint8_t>(bytes[0]);
    bytes.remove_prefix(1);
    request.token = take(bytes);
    if ((request.flags & has_environment) != 0) request.environment = take(bytes);
    while (!bytes.empty()) request.args.push_back(take(bytes));
    return request;
  }

 private:
  static void put(std::string& out, std::string_view text) {
    const auto length = static_cast<std::uint32_t>(text.size());
    out.append(reinterpret_cast<const char*>(&length), sizeof length);
    out.append(text);
  }
  static std::string take(std::string_view& bytes) {
    std::uint32_t length = 0;
    if (bytes.size() < sizeof length) fail_errno(EPROTO, "fork server request: cut short");
    std::memcpy(&length, bytes.data(), sizeof length);
    bytes.remove_prefix(sizeof length);
    if (bytes.size() < length) fail_errno(EPROTO, "fork server request: cut short");
    std::string text(bytes.substr(0, length));
    bytes.remove_prefix(length);
    return text;
  }
};

// Client side, for wait_process() and the kills of a child with a link: its exit code from
// the server (std::nullopt once `deadline` passed), or errc::child_lost if the server ended
// first; and a command for the server to carry out on it.
std::optional<int> wait_served(const ChildProcess& process, std::optional<Clock::time_point> deadline);
void ask_server(const ChildProcess& process, LinkCommand command);

}  // namespace interproc::detail
