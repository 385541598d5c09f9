// SPDX-License-Identifier: MIT
// The Windows pieces of the owner-word mutex (src/owner_word/owner_word_mutex.cpp): the owner is
// a (process id, thread id) pair, its liveness is its thread object's state, and waiters
// sleep on an auto-reset event that unlock() signals, together with the owner's thread
// handle, which is signalled when that thread ends: a dead owner wakes its waiters at once.
// A named mutex's event is named too, so unrelated processes find it: CreateEventW (created
// exclusively, owner-only DACL) and OpenEventW(SYNCHRONIZE | EVENT_MODIFY_STATE), in the
// session's namespace beside the mutex's section "Local\interproc.<name>".

#include "common/fail.hpp"
#include "common/wait_backend.hpp"
#include "owner_word/owner_word.hpp"
#include "win32/owner_only_security.hpp"
#include "win32/win_util.hpp"

#include <windows.h>

#include <string>
#include <system_error>

namespace interproc::detail {
namespace {

DWORD owner_pid(std::uint64_t owner) noexcept { return static_cast<DWORD>(owner >> 32); }
DWORD owner_tid(std::uint64_t owner) noexcept { return static_cast<DWORD>(owner & 0xffffffffu); }

enum class ThreadState { alive, dead, unknown };

// Opens the owner's thread to wait on it. Thread ids are unique among live threads of the
// whole system, but are reused once a thread has ended: a thread with the owner's tid in
// another process means the owner is gone. (Reuse inside the owner's own process cannot
// be told apart from the owner with a pid/tid word; Windows hands out ids from one pool,
// so that needs the owner's death and a new thread getting its id in the same process.)
ThreadState open_owner_thread(std::uint64_t owner, ScopedHandle& thread) noexcept {
  thread.reset(from_handle(::OpenThread(SYNCHRONIZE | THREAD_QUERY_LIMITED_INFORMATION, FALSE, owner_tid(owner))));
  if (!thread.valid()) {
    // ERROR_INVALID_PARAMETER: no thread has that id. Anything else (access denied to
    // another user's thread) proves nothing, so the owner counts as alive.
    return ::GetLastError() == ERROR_INVALID_PARAMETER ? ThreadState::dead : ThreadState::unknown;
  }
  if (::GetProcessIdOfThread(as_handle(thread.get())) != owner_pid(owner)) return ThreadState::dead;
  // A thread object outlives its thread while handles to it exist; signalled means ended.
  if (::WaitForSingleObject(as_handle(thread.get()), 0) == WAIT_OBJECT_0) return ThreadState::dead;
  return ThreadState::alive;
}

DWORD to_wait_ms(std::chrono::microseconds timeout) noexcept {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
  if (ms < 1) return 1;
  return ms >= INFINITE ? INFINITE - 1 : static_cast<DWORD>(ms);
}

// ':' is outside the name rules, so no segment or mutex name can ever collide with an event's:
// sections and events share one namespace.
std::wstring event_name(const std::string& name) {
  return L"Local\\interproc." + std::wstring(name.begin(), name.end()) + L":wake";
}
std::string shown_event(const std::string& name) { return quoted("Local\\interproc." + name + ":wake"); }

[[noreturn]] void fail_exists(const char* call, const std::string& name) {
  throw std::system_error(std::make_error_code(std::errc::file_exists), call + ("(" + shown_event(name) + ")"));
}

ScopedHandle create_named_event(const std::string& name) {
  OwnerOnlySecurity security;
  ::SetLastError(ERROR_SUCCESS);  // ERROR_ALREADY_EXISTS below must come from this call
  ScopedHandle event(from_handle(::CreateEventW(security.get(), FALSE, FALSE, event_name(name).c_str())));
  // ACCESS_DENIED: another user's event of that name; it exists all the same.
  if (!event.valid() && ::GetLastError() == ERROR_ACCESS_DENIED) fail_exists("CreateEventW", name);
  if (!event.valid()) fail_last_error("CreateEventW", shown_event(name));
  if (::GetLastError() == ERROR_ALREADY_EXISTS) fail_exists("CreateEventW", name);  // never attach to it
  return event;
}

}  // namespace

std::uint64_t current_owner_id() noexcept {
  // Never 0: no thread has id 0 (the System Idle Process's threads are not user threads).
  return (static_cast<std::uint64_t>(::GetCurrentProcessId()) << 32) | ::GetCurrentThreadId();
}

bool owner_is_dead(std::uint64_t owner) noexcept {
  ScopedHandle thread;
  return open_owner_thread(owner, thread) == ThreadState::dead;
}

void wait_for_owner(native_handle wake, std::atomic<std::uint32_t>&, std::uint32_t, std::uint64_t owner,
                    std::chrono::microseconds timeout) noexcept {
  const DWORD ms = to_wait_ms(timeout);
  ScopedHandle thread;
  const ThreadState state = open_owner_thread(owner, thread);
  if (state == ThreadState::dead) return;  // the caller takes the lock over now
  if (state == ThreadState::unknown) {
    ::WaitForSingleObject(as_handle(wake), ms);
    return;
  }
  const HANDLE handles[2] = {as_handle(wake), as_handle(thread.get())};
  ::WaitForMultipleObjects(2, handles, FALSE, ms);
}

std::chrono::microseconds max_wait_slice() noexcept {
  // Releases and deaths both wake waiters through handles; the slice only bounds a missed
  // wake (an auto-reset event wakes one waiter per SetEvent).
  return max_unwoken_sleep;
}

ScopedHandle create_wake_handle(const std::string* name) {
  // Auto-reset, unsignalled, not inheritable (spawn_child passes it explicitly).
  if (name != nullptr) return create_named_event(*name);
  ScopedHandle event(from_handle(::CreateEventW(nullptr, FALSE, FALSE, nullptr)));
  if (!event.valid()) fail_last_error("CreateEventW", "mutex wake event");
  return event;
}

ScopedHandle open_wake_handle(const std::string& name) {
  ScopedHandle event(from_handle(::OpenEventW(SYNCHRONIZE | EVENT_MODIFY_STATE, FALSE, event_name(name).c_str())));
  if (event.valid()) return event;
  // The mutex's section without its event: its last other holder closed it meanwhile.
  if (::GetLastError() == ERROR_FILE_NOT_FOUND) {
    throw std::system_error(std::make_error_code(std::errc::no_such_file_or_directory),
                            "OpenEventW(" + shown_event(name) + ")");
  }
  fail_last_error("OpenEventW", shown_event(name));
}

void wake_one(native_handle wake, std::atomic<std::uint32_t>&, std::uint32_t) noexcept { ::SetEvent(as_handle(wake)); }

ScopedHandle adopt_wake_handle(const std::vector<native_handle>& companions) {
  if (companions.size() != 1) {
    fail(errc::bad_handle_argument,
         "a Windows mutex has one companion (its wake event), got " + std::to_string(companions.size()));
  }
  const native_handle h = companions[0];
  const std::string shown = "inherited handle " + std::to_string(h);
  // Not an event: a forged or stale value, possibly another live handle of this process,
  // which is not ours to close.
  if (!is_valid_handle(h) || object_type_name(as_handle(h)) != L"Event") {
    fail(errc::bad_handle_argument, shown + " is not an event (a mutex's wake handle)");
  }
  return ScopedHandle(h);
}

}  // namespace interproc::detail
