// SPDX-License-Identifier: MIT
// Connection's channel on Windows: the two ends of a byte-mode duplex named pipe with a
// random name, created with FILE_FLAG_FIRST_PIPE_INSTANCE (so that a pipe someone planted
// under the name fails the call instead of being used), one instance, remote clients
// refused, and a DACL for this user alone (win32/owner_only_security.hpp); neither handle is
// inheritable. Synchronous I/O: ReadFile blocks until bytes come, and fails with
// ERROR_BROKEN_PIPE once the other end's handles are all closed, which TerminateProcess
// does too. Named pipes signal no readiness to WaitForMultipleObjects without overlapped
// I/O, so waits look with PeekNamedPipe in slices.

#include "common/connection_backend.hpp"
#include "common/fail.hpp"
#include "win32/owner_only_security.hpp"
#include "win32/win_util.hpp"

#include <windows.h>
#include <ntsecapi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

namespace interproc::detail {
namespace {

constexpr DWORD pipe_buffer = 64 * 1024;
constexpr DWORD largest_io = 1u << 30;
// Small messages go out in one WriteFile, so that the reader wakes once.
constexpr std::size_t joined_write = 64 * 1024;

std::wstring unique_pipe_name() {
  static std::atomic<unsigned long> counter{0};
  unsigned long long random = 0;
  if (!::RtlGenRandom(&random, sizeof random)) fail_last_error("RtlGenRandom", "pipe name");
  wchar_t name[96];
  std::swprintf(name, 96, L"\\\\.\\pipe\\interproc.conn.%lu.%lu.%016llx", ::GetCurrentProcessId(), counter.fetch_add(1),
                random);
  return name;
}

bool peer_is_gone(DWORD error) noexcept {
  return error == ERROR_BROKEN_PIPE || error == ERROR_NO_DATA || error == ERROR_PIPE_NOT_CONNECTED;
}

void write_all(HANDLE pipe, const std::byte* bytes, std::size_t size) {
  while (size != 0) {
    DWORD written = 0;
    const DWORD piece = static_cast<DWORD>(std::min<std::size_t>(size, largest_io));
    if (!::WriteFile(pipe, bytes, piece, &written, nullptr)) {
      const DWORD error = ::GetLastError();
      if (peer_is_gone(error)) fail(errc::closed, "Connection::send: the peer end is closed");
      throw_win32(error, "WriteFile(connection)");
    }
    bytes += written;
    size -= written;
  }
}

}  // namespace

std::pair<ScopedHandle, ScopedHandle> create_channel_pair() {
  OwnerOnlySecurity security;
  const std::wstring name = unique_pipe_name();
  ScopedHandle server(
      from_handle(::CreateNamedPipeW(name.c_str(), PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                     PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1,
                                     pipe_buffer, pipe_buffer, 0, security.get())));
  if (!server.valid()) fail_last_error("CreateNamedPipeW", "connection pipe");
  ScopedHandle client(from_handle(
      ::CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, security.get(), OPEN_EXISTING, 0, nullptr)));
  if (!client.valid()) fail_last_error("CreateFileW", "connection pipe");
  // The client is connected already: ConnectNamedPipe says so with ERROR_PIPE_CONNECTED.
  if (!::ConnectNamedPipe(as_handle(server.get()), nullptr) && ::GetLastError() != ERROR_PIPE_CONNECTED)
    fail_last_error("ConnectNamedPipe", "connection pipe");
  return {std::move(server), std::move(client)};
}

void write_channel(native_handle channel, gsl::span<const std::byte> head, gsl::span<const std::byte> body) {
  const HANDLE pipe = as_handle(channel);
  if (body.size() <= joined_write) {
    std::byte joined[24 + joined_write];
    const std::size_t size = head.size() + body.size();
    if (head.size() <= 24) {
      std::memcpy(joined, head.data(), head.size());
      if (!body.empty()) std::memcpy(joined + head.size(), body.data(), body.size());
      return write_all(pipe, joined, size);
    }
  }
  // No zero-byte writes: a byte-mode reader would take one for the end of the stream.
  if (!head.empty()) write_all(pipe, head.data(), head.size());
  if (!body.empty()) write_all(pipe, body.data(), body.size());
}

std::size_t read_channel(native_handle channel, std::byte* into, std::size_t size) {
  for (;;) {
    DWORD got = 0;
    if (::ReadFile(as_handle(channel), into, static_cast<DWORD>(std::min<std::size_t>(size, largest_io)), &got,
                   nullptr)) {
      if (got != 0) return got;
      continue;
    }
    const DWORD error = ::GetLastError();
    if (peer_is_gone(error)) return 0;
    throw_win32(error, "ReadFile(connection)");
  }
}

bool wait_channel(native_handle channel, std::optional<Clock::time_point> deadline) {
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    DWORD available = 0;
    if (!::PeekNamedPipe(as_handle(channel), nullptr, 0, nullptr, &available, nullptr)) return true;  // peer gone
    if (available != 0) return true;
    if (deadline && Clock::now() >= *deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(10));
  }
}

bool is_channel(native_handle channel) noexcept {
  return is_valid_handle(channel) && ::GetFileType(as_handle(channel)) == FILE_TYPE_PIPE;
}

}  // namespace interproc::detail
