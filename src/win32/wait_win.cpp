// SPDX-License-Identifier: MIT
// Windows: WaitOnAddress only works within one process, so every wait word has a companion
// kernel semaphore (CreateSemaphoreW) that travels with the object. A waiter registers on
// the word and sleeps on the semaphore; a change releases as many tokens as there are
// registered waiters (ReleaseSemaphore). A token meant for a waiter that saw the change
// before sleeping, or that died, stays behind and causes one spurious wake-up later; the
// semaphore's maximum bounds how many can pile up, and sleeps are cut into slices of
// max_unwoken_sleep so that a waiter looks at its word again at least that often.

#include "common/fail.hpp"
#include "common/wait_backend.hpp"
#include "win32/owner_only_security.hpp"
#include "win32/win_util.hpp"

#include <windows.h>

#include <algorithm>

namespace interproc::detail {
namespace {

constexpr LONG max_tokens = 1 << 16;
constexpr DWORD slice_ms = static_cast<DWORD>(max_unwoken_sleep.count());

// ':' is outside the name rules, so no segment's name can be a companion's: sections and
// semaphores share one namespace. Names arrive validated, so widening char by char is exact.
std::wstring companion_name(const std::string& name, int index) {
  return L"Local\\interproc." + std::wstring(name.begin(), name.end()) + L":w" + std::to_wstring(index);
}

}  // namespace

void sleep_on(std::atomic<std::uint32_t>&, native_handle companion, std::uint32_t,
              std::optional<Clock::time_point> deadline) {
  DWORD ms = slice_ms;
  if (deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
    ms = static_cast<DWORD>(std::clamp<std::chrono::milliseconds::rep>(left, 0, slice_ms));
  }
  if (::WaitForSingleObject(as_handle(companion), ms) == WAIT_FAILED) fail_last_error("WaitForSingleObject", "wait");
}

void wake_sleepers(std::atomic<std::uint32_t>&, native_handle companion, std::uint32_t count,
                   std::uint32_t registered) {
  const auto tokens = static_cast<LONG>(std::min<std::uint32_t>({count, registered, max_tokens}));
  // ERROR_TOO_MANY_POSTS: the semaphore already holds more tokens than there are waiters.
  if (!::ReleaseSemaphore(as_handle(companion), tokens, nullptr) && ::GetLastError() != ERROR_TOO_MANY_POSTS) {
    fail_last_error("ReleaseSemaphore", "wake");
  }
}

ScopedHandle create_companion(const std::string* name, int index) {
  OwnerOnlySecurity security;
  const std::wstring wide = name != nullptr ? companion_name(*name, index) : std::wstring();
  ::SetLastError(ERROR_SUCCESS);
  ScopedHandle semaphore(from_handle(::CreateSemaphoreW(name != nullptr ? security.get() : nullptr, 0, max_tokens,
                                                        name != nullptr ? wide.c_str() : nullptr)));
  if (!semaphore.valid()) fail_last_error("CreateSemaphoreW", "wait companion");
  if (name != nullptr && ::GetLastError() == ERROR_ALREADY_EXISTS) {
    throw std::system_error(std::make_error_code(std::errc::file_exists), "CreateSemaphoreW(" + *name + ")");
  }
  return semaphore;
}

ScopedHandle open_companion(const std::string& name, int index) {
  ScopedHandle semaphore(
      from_handle(::OpenSemaphoreW(SYNCHRONIZE | SEMAPHORE_MODIFY_STATE, FALSE, companion_name(name, index).c_str())));
  if (!semaphore.valid()) fail_last_error("OpenSemaphoreW", name);
  return semaphore;
}

std::size_t companions_for(std::size_t words) noexcept { return words; }

std::vector<ScopedHandle> adopt_companions(const std::vector<native_handle>& handles, std::size_t expected) {
  if (handles.size() != expected) {
    fail(errc::bad_handle_argument,
         "expected " + std::to_string(expected) + " companion semaphores, got " + std::to_string(handles.size()));
  }
  // Check all before taking any: a forged value may be another live handle of this process.
  for (const native_handle h : handles) {
    if (!is_valid_handle(h) || object_type_name(as_handle(h)) != L"Semaphore")
      fail(errc::bad_handle_argument, "handle " + std::to_string(h) + " is not a semaphore");
  }
  std::vector<ScopedHandle> taken;
  for (const native_handle h : handles) taken.emplace_back(h);
  return taken;
}

}  // namespace interproc::detail
