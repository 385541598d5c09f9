// SPDX-License-Identifier: MIT
// Windows: WaitOnAddress only works within one process, so every wait word has a companion
// kernel semaphore (CreateSemaphoreW) that travels with the object. A waiter registers on
// the word and sleeps on the semaphore; a change tops the semaphore up to as many tokens as
// there are registered waiters (ReleaseSemaphore of what NtQuerySemaphore says is missing).
// A token meant for a waiter that saw the change before sleeping, or that died (a killed
// waiter stays counted for good), stays behind: so tokens never pile up past the waiter
// count, and a waiter that takes one while its word still holds what it expects drains it
// and sleeps on, instead of returning to spin through the rest. Sleeps are cut into slices of
// max_unwoken_sleep,
// so that a waiter looks at its word again at least that often, whatever a dead process
// left half done (a waker killed before its ReleaseSemaphore, a token drained by a waiter
// that registered after the change).

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
constexpr DWORD semaphore_query_state = 0x0001;  // SEMAPHORE_QUERY_STATE (winnt.h), which NtQuerySemaphore needs

// ':' is outside the name rules, so no segment's name can be a companion's: sections and
// semaphores share one namespace. Names arrive validated, so widening char by char is exact.
std::wstring companion_name(const std::string& name, int index) {
  return L"Local\\interproc." + std::wstring(name.begin(), name.end()) + L":w" + std::to_wstring(index);
}

// NtQuerySemaphore(SemaphoreBasicInformation): ntdll's documented-by-use query of a
// semaphore's count (ntifs.h, ZwQuerySemaphore; implemented by Wine's ntdll/unix/sync.c).
struct SemaphoreBasicInformation {
  LONG current_count;
  LONG maximum_count;
};
using QuerySemaphore = LONG(NTAPI*)(HANDLE, int, void*, ULONG, ULONG*);

QuerySemaphore query_semaphore() noexcept {
  static const QuerySemaphore query = [] {
    const HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
    const FARPROC proc = ntdll != nullptr ? ::GetProcAddress(ntdll, "NtQuerySemaphore") : nullptr;
    return reinterpret_cast<QuerySemaphore>(reinterpret_cast<void (*)()>(proc));
  }();
  return query;
}

// The tokens in the semaphore now; 0 where it cannot be asked (then wakes release in full).
LONG tokens_in(HANDLE semaphore) noexcept {
  SemaphoreBasicInformation info{};
  const QuerySemaphore query = query_semaphore();
  if (query == nullptr || query(semaphore, 0, &info, sizeof info, nullptr) < 0) return 0;
  return info.current_count;
}

DWORD ms_until(Clock::time_point end) noexcept {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(end - Clock::now()).count();
  return static_cast<DWORD>(std::clamp<std::chrono::milliseconds::rep>(left, 0, slice_ms));
}

}  // namespace

void sleep_on(std::atomic<std::uint32_t>& word, native_handle companion, std::uint32_t expected,
              std::optional<Clock::time_point> deadline) {
  const auto slice_end =
      std::min(Clock::now() + std::chrono::milliseconds(slice_ms), deadline.value_or(Clock::time_point::max()));
  for (;;) {
    const DWORD ms = ms_until(slice_end);
    const DWORD result = ::WaitForSingleObject(as_handle(companion), ms);
    if (result == WAIT_FAILED) fail_last_error("WaitForSingleObject", "wait");
    // A token is for this waiter only once the word moved on; any other is stale: taken
    // (drained), and the sleep goes on.
    if (result != WAIT_OBJECT_0 || word.load(std::memory_order_seq_cst) != expected || ms == 0) return;
  }
}

void wake_sleepers(std::atomic<std::uint32_t>&, native_handle companion, std::uint32_t count,
                   std::uint32_t registered) {
  const HANDLE semaphore = as_handle(companion);
  const LONG wanted = static_cast<LONG>(std::min<std::uint32_t>({count, registered, max_tokens}));
  const LONG missing = wanted - tokens_in(semaphore);  // tokens left behind serve this wake too
  if (missing <= 0) return;
  // ERROR_TOO_MANY_POSTS: another waker filled the semaphore meanwhile.
  if (!::ReleaseSemaphore(semaphore, missing, nullptr) && ::GetLastError() != ERROR_TOO_MANY_POSTS) {
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
  ScopedHandle semaphore(from_handle(::OpenSemaphoreW(SYNCHRONIZE | SEMAPHORE_MODIFY_STATE | semaphore_query_state,
                                                      FALSE, companion_name(name, index).c_str())));
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
