// SPDX-License-Identifier: MIT
#include "common/native_handle.hpp"

#include <windows.h>

namespace interproc::detail {

bool is_valid_handle(native_handle h) noexcept {
  // Both mean "none": CreateFileMappingW and OpenThread fail with NULL, CreateFileW with
  // INVALID_HANDLE_VALUE. (-1 is also GetCurrentProcess()'s pseudo handle, never stored here.)
  return h != 0 && reinterpret_cast<HANDLE>(h) != INVALID_HANDLE_VALUE;
}

void close_handle(native_handle h) noexcept {
  if (is_valid_handle(h)) ::CloseHandle(reinterpret_cast<HANDLE>(h));
}

}  // namespace interproc::detail
