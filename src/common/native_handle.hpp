// SPDX-License-Identifier: MIT
#pragma once
// Native handles stay out of the public headers: they travel as std::intptr_t there and
// are owned by ScopedHandle here. POSIX: a file descriptor. Windows: a HANDLE, where both
// NULL and INVALID_HANDLE_VALUE mean "none" (CreateFileMapping returns NULL on failure,
// CreateFile returns INVALID_HANDLE_VALUE).

#include <cstdint>
#include <utility>

namespace interproc::detail {

using native_handle = std::intptr_t;
inline constexpr native_handle invalid_handle = -1;

bool is_valid_handle(native_handle h) noexcept;  // per backend
void close_handle(native_handle h) noexcept;     // per backend; ignores invalid handles

// Move-only owner of one native handle.
class ScopedHandle {
 public:
  ScopedHandle() noexcept = default;
  explicit ScopedHandle(native_handle h) noexcept : handle_(h) {}
  ScopedHandle(ScopedHandle&& other) noexcept : handle_(other.release()) {}
  ScopedHandle& operator=(ScopedHandle&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ScopedHandle(const ScopedHandle&) = delete;
  ScopedHandle& operator=(const ScopedHandle&) = delete;
  ~ScopedHandle() { reset(); }

  native_handle get() const noexcept { return handle_; }
  bool valid() const noexcept { return is_valid_handle(handle_); }
  [[nodiscard]] native_handle release() noexcept { return std::exchange(handle_, invalid_handle); }
  void reset(native_handle h = invalid_handle) noexcept {
    if (is_valid_handle(handle_)) close_handle(handle_);
    handle_ = h;
  }

 private:
  native_handle handle_ = invalid_handle;
};

}  // namespace interproc::detail
