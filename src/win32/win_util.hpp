// SPDX-License-Identifier: MIT
#pragma once
// Pieces every Win32 file needs: HANDLE <-> native_handle, and Win32 errors as
// std::system_error in std::system_category().

#include "common/native_handle.hpp"

#include <windows.h>

#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace interproc::detail {

inline HANDLE as_handle(native_handle h) noexcept { return reinterpret_cast<HANDLE>(h); }
inline native_handle from_handle(HANDLE h) noexcept { return reinterpret_cast<native_handle>(h); }

[[noreturn]] inline void throw_win32(DWORD error, const std::string& what) {
  throw std::system_error(static_cast<int>(error), std::system_category(), what);
}

// Reads GetLastError() before building the message, so nothing can overwrite it first;
// `object` is a literal or an existing string, so no allocation precedes that either.
[[noreturn]] inline void fail_last_error(const char* call, std::string_view object) {
  const DWORD error = ::GetLastError();
  throw_win32(error, std::string(call) + "(" + std::string(object) + ")");
}

// The type name of the object behind a handle ("Event", "Semaphore", "Section"), or an
// empty string if it cannot be asked: how a child checks the handles a token names.
std::wstring object_type_name(HANDLE h);

// A mapped view, unmapped on destruction unless released.
class ScopedView {
 public:
  explicit ScopedView(void* address) noexcept : address_(address) {}
  ScopedView(const ScopedView&) = delete;
  ScopedView& operator=(const ScopedView&) = delete;
  ~ScopedView() {
    if (address_ != nullptr) ::UnmapViewOfFile(address_);
  }
  void* get() const noexcept { return address_; }
  [[nodiscard]] void* release() noexcept { return std::exchange(address_, nullptr); }

 private:
  void* address_;
};

}  // namespace interproc::detail
