// SPDX-License-Identifier: MIT
// A Windows child's pipes (SpawnOptions' Redirect::pipe()) and the I/O on them. Anonymous
// pipes (CreatePipe) cannot do overlapped I/O, so each pipe is a named pipe of one instance
// whose end here is overlapped: one step of I/O starts a read on each output pipe and a
// write on the stdin pipe and waits for whichever finishes first (WaitForMultipleObjects),
// so no full pipe can stall another.

#include "common/fail.hpp"
#include "common/process_backend.hpp"
#include "win32/handoff_win.hpp"
#include "win32/pipes_win.hpp"
#include "win32/win_util.hpp"

#include <windows.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <system_error>

namespace interproc::detail {

namespace {
constexpr DWORD pipe_buffer = 65536;

// One overlapped read or write, at a fixed address while it is under way.
struct PipeOperation {
  OVERLAPPED overlapped{};
  ScopedHandle event;
  HANDLE pipe = nullptr;  // the pipe it runs on, while `busy`
  bool busy = false;
  char buffer[pipe_buffer];
};
}  // namespace

struct PendingPipeIo {
  PipeOperation operations[3];  // by stream: the stdin write, the stdout and stderr reads
};

namespace {

// Stops the operation and waits until the system no longer writes to its buffer.
void cancel(PipeOperation& operation) noexcept {
  if (!operation.busy) return;
  DWORD ignored = 0;
  ::CancelIoEx(operation.pipe, &operation.overlapped);
  ::GetOverlappedResult(operation.pipe, &operation.overlapped, &ignored, TRUE);
  operation.busy = false;
}

PendingPipeIo& pending_io(ChildPipes& pipes) {
  if (!pipes.pending) pipes.pending.reset(new PendingPipeIo);
  return *pipes.pending;
}

PipeOperation& prepared(PendingPipeIo& io, int stream, HANDLE pipe) {
  PipeOperation& operation = io.operations[stream];
  if (!operation.event.valid()) {
    operation.event.reset(from_handle(::CreateEventW(nullptr, TRUE, FALSE, nullptr)));
    if (!operation.event.valid()) fail_last_error("CreateEventW", "a pipe's I/O");
  }
  operation.overlapped = OVERLAPPED{};
  operation.overlapped.hEvent = as_handle(operation.event.get());
  operation.pipe = pipe;
  return operation;
}

[[noreturn]] void broken_input(ChildPipes& pipes) {
  pipes.ends[0].reset();
  throw std::system_error(std::make_error_code(std::errc::broken_pipe), "write to the child's stdin pipe");
}

// ERROR_BROKEN_PIPE: the writer closed its end; ERROR_NO_DATA: a write to a pipe whose
// reader is closing (WriteFile's documentation, named pipes).
bool pipe_ended(DWORD error) noexcept { return error == ERROR_BROKEN_PIPE || error == ERROR_NO_DATA; }

// The end of an operation, at once or through GetOverlappedResult: `done` bytes or `error`.
void finish(ChildPipes& pipes, int stream, DWORD done, DWORD error) {
  if (stream == 0) {
    if (error == ERROR_SUCCESS) return;
    if (pipe_ended(error)) broken_input(pipes);
    pipes.ends[0].reset();
    throw_win32(error, "WriteFile(the child's stdin pipe)");
  }
  if (error == ERROR_SUCCESS) {
    pipes.received[stream].append(pipes.pending->operations[stream].buffer, done);
    return;
  }
  pipes.ends[stream].reset();  // end of file, or an error that ends the stream as surely
  if (!pipe_ended(error)) throw_win32(error, "ReadFile(the child's output pipe)");
}

// Starts the stream's operation; true if it finished at once.
bool start(ChildPipes& pipes, int stream, std::string_view& input) {
  const HANDLE pipe = as_handle(pipes.ends[stream].get());
  PipeOperation& operation = prepared(pending_io(pipes), stream, pipe);
  DWORD done = 0;
  BOOL finished = FALSE;
  if (stream == 0) {
    const std::size_t size = std::min<std::size_t>(input.size(), pipe_buffer);
    std::copy_n(input.data(), size, operation.buffer);
    input.remove_prefix(size);
    finished = ::WriteFile(pipe, operation.buffer, static_cast<DWORD>(size), &done, &operation.overlapped);
  } else {
    finished = ::ReadFile(pipe, operation.buffer, pipe_buffer, &done, &operation.overlapped);
  }
  const DWORD error = finished ? ERROR_SUCCESS : ::GetLastError();
  if (error == ERROR_IO_PENDING) {
    operation.busy = true;
    return false;
  }
  finish(pipes, stream, done, error);
  return true;
}

DWORD wait_milliseconds(std::optional<Clock::time_point> deadline) {
  if (!deadline) return INFINITE;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
  return static_cast<DWORD>(std::clamp<std::chrono::milliseconds::rep>(left, 0, INFINITE - 1));
}

bool busy(const ChildPipes& pipes, int stream) noexcept {
  return pipes.pending && pipes.pending->operations[stream].busy;
}

}  // namespace

void PendingPipeIoDeleter::operator()(PendingPipeIo* io) const noexcept {
  for (PipeOperation& operation : io->operations) cancel(operation);
  delete io;
}

bool pump_pipes(ChildPipes& pipes, std::string_view& input, std::optional<Clock::time_point> deadline) {
  bool progress = false;
  for (int stream = 0; stream < 3; ++stream) {
    if (!pipes.ends[stream].valid() || busy(pipes, stream) || (stream == 0 && input.empty())) continue;
    progress = start(pipes, stream, input) || progress;
  }
  if (progress) return true;
  HANDLE events[3];
  int streams[3];
  DWORD count = 0;
  for (int stream = 0; stream < 3; ++stream) {
    if (!busy(pipes, stream)) continue;
    events[count] = pipes.pending->operations[stream].overlapped.hEvent;
    streams[count++] = stream;
  }
  if (count == 0) return false;
  for (;;) {
    const DWORD result = ::WaitForMultipleObjects(count, events, FALSE, wait_milliseconds(deadline));
    if (result == WAIT_FAILED) fail_last_error("WaitForMultipleObjects", "a child's pipes");
    if (result == WAIT_TIMEOUT) {
      if (deadline && Clock::now() < *deadline) continue;  // a wait longer than a DWORD counts
      return false;
    }
    const int stream = streams[result - WAIT_OBJECT_0];
    PipeOperation& operation = pipes.pending->operations[stream];
    DWORD done = 0;
    const BOOL ok = ::GetOverlappedResult(operation.pipe, &operation.overlapped, &done, FALSE);
    operation.busy = false;
    finish(pipes, stream, done, ok ? ERROR_SUCCESS : ::GetLastError());
    return true;
  }
}

bool input_pending(const ChildPipes& pipes) noexcept { return busy(pipes, 0); }

void close_pipe(ChildPipes& pipes, int stream) noexcept {
  if (pipes.pending) cancel(pipes.pending->operations[stream]);
  pipes.ends[stream].reset();
}

ChildPipeEnds make_child_pipe(int stream) {
  // A name no one can guess (the bootstrap section's random part), so no one can take it
  // first; FILE_FLAG_FIRST_PIPE_INSTANCE with one instance: no one can join it after.
  static std::atomic<unsigned> counter{0};
  const std::string id = new_boot_argument().substr(1);  // hex digits
  const std::wstring name = L"\\\\.\\pipe\\interproc." + std::to_wstring(::GetCurrentProcessId()) + L"." +
                            std::to_wstring(counter.fetch_add(1)) + L"." + std::wstring(id.begin(), id.end());
  const bool child_reads = stream == 0;
  const DWORD mode =
      (child_reads ? PIPE_ACCESS_OUTBOUND : PIPE_ACCESS_INBOUND) | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE;
  ChildPipeEnds ends;
  ends.mine.reset(from_handle(::CreateNamedPipeW(
      name.c_str(), mode, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, pipe_buffer,
      pipe_buffer, 0, nullptr)));
  if (!ends.mine.valid()) fail_last_error("CreateNamedPipeW", "a child's standard stream");
  ends.theirs.reset(from_handle(
      ::CreateFileW(name.c_str(), child_reads ? GENERIC_READ : GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr)));
  if (!ends.theirs.valid()) fail_last_error("CreateFileW", "a child's end of its pipe");
  return ends;
}

}  // namespace interproc::detail
