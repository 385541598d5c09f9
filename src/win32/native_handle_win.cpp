// SPDX-License-Identifier: MIT
#include "common/native_handle.hpp"
#include "win32/win_util.hpp"

#include <windows.h>
#include <winternl.h>

#include <cstring>

namespace interproc::detail {

bool is_valid_handle(native_handle h) noexcept {
  // Both mean "none": CreateFileMappingW and OpenThread fail with NULL, CreateFileW with
  // INVALID_HANDLE_VALUE. (-1 is also GetCurrentProcess()'s pseudo handle, never stored here.)
  return h != 0 && reinterpret_cast<HANDLE>(h) != INVALID_HANDLE_VALUE;
}

void close_handle(native_handle h) noexcept {
  if (is_valid_handle(h)) ::CloseHandle(reinterpret_cast<HANDLE>(h));
}

// NtQueryObject(ObjectTypeInformation) from ntdll (documented in winternl.h, not in the
// MinGW import libraries the build links): the type name of the object behind a handle.
std::wstring object_type_name(HANDLE h) {
  using QueryObject = NTSTATUS(NTAPI*)(HANDLE, OBJECT_INFORMATION_CLASS, PVOID, ULONG, PULONG);
  const HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  const FARPROC proc = ntdll != nullptr ? ::GetProcAddress(ntdll, "NtQueryObject") : nullptr;
  if (proc == nullptr) return {};
  // Through void(*)(): the one function pointer type GCC's -Wcast-function-type lets pass.
  const auto query = reinterpret_cast<QueryObject>(reinterpret_cast<void (*)()>(proc));
  alignas(PUBLIC_OBJECT_TYPE_INFORMATION) unsigned char buffer[sizeof(PUBLIC_OBJECT_TYPE_INFORMATION) + 128];
  ULONG length = 0;
  if (query(h, ObjectTypeInformation, buffer, sizeof buffer, &length) < 0) return {};  // !NT_SUCCESS
  PUBLIC_OBJECT_TYPE_INFORMATION info;
  std::memcpy(&info, buffer, sizeof info);
  return std::wstring(info.TypeName.Buffer, info.TypeName.Length / sizeof(wchar_t));
}

}  // namespace interproc::detail
