// SPDX-License-Identifier: MIT
// Process liveness on Windows: a process object is signalled once the process has ended,
// and lives while any handle to it is open (OpenProcess, WaitForSingleObject).

#include "common/process_liveness.hpp"

#include <windows.h>

namespace interproc::detail {

std::uint64_t current_process_id() noexcept { return ::GetCurrentProcessId(); }

bool process_has_ended(std::uint64_t pid) noexcept {
  if (pid == 0 || pid > MAXDWORD) return false;
  HANDLE process = ::OpenProcess(SYNCHRONIZE, FALSE, static_cast<DWORD>(pid));
  // ERROR_INVALID_PARAMETER: no process has that id (any more). Anything else (access
  // denied to another user's process) proves nothing, so it counts as running.
  if (process == nullptr) return ::GetLastError() == ERROR_INVALID_PARAMETER;
  const bool ended = ::WaitForSingleObject(process, 0) == WAIT_OBJECT_0;
  ::CloseHandle(process);
  return ended;
}

}  // namespace interproc::detail
