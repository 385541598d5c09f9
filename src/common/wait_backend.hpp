// SPDX-License-Identifier: MIT
#pragma once
// The seam for sleeping on a 32-bit word in shared memory until another process changes it:
// what InterprocessEvent, InterprocessSemaphore, InterprocessCondition and SharedQueue wait
// with. Implementations:
//  - Linux: a shared futex (posix/wait_linux.cpp); no polling;
//  - macOS 14.4 and later: os_sync_wait_on_address with OS_SYNC_WAIT_ON_ADDRESS_SHARED;
//    macOS 10.12 to 14.3: __ulock_wait (both found at run time); the BSDs and the portable
//    build without them: a bounded back-off (posix/wait_portable.cpp);
//  - Windows: WaitOnAddress does not cross processes, so each word has a companion kernel
//    semaphore that travels with the object (win32/wait_win.cpp).
//
// A word counts its waiters next to it, so that a change with nobody waiting costs no
// system call. A waiter that dies while registered leaves the count high: later changes
// then make a system call they did not need, and nothing else.
//
// No sleep lasts longer than max_unwoken_sleep on any backend: a waker that dies between its
// change of value and its wake (or a wake lost any other way) delays a waiter by at most
// that, and never strands it.

#include "common/deadline.hpp"
#include "common/native_handle.hpp"
#include "common/segment_backend.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace interproc::detail {

// In shared memory.
struct WaitWord {
  std::atomic<std::uint32_t> value;
  std::atomic<std::uint32_t> waiters;  // registered sleepers (or soon-to-be sleepers)
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "wait words must be lock-free across processes");

// What a waiting object owns: its shared words, and one companion per WaitWord where the
// backend needs one (Windows); none elsewhere.
struct WaitState {
  SharedSegment words;
  std::vector<ScopedHandle> companions;
};

// The longest one sleep_on() lasts before its caller looks at its word again, woken or not.
inline constexpr std::chrono::milliseconds max_unwoken_sleep{50};

// Sleeps while `word` holds `expected`, until a wake, `deadline` (std::nullopt: none),
// max_unwoken_sleep or a spurious return; callers re-check their condition (and deadline).
// `companion`: the word's companion.
void sleep_on(std::atomic<std::uint32_t>& word, native_handle companion, std::uint32_t expected,
              std::optional<Clock::time_point> deadline);
// Wakes up to `count` sleepers of `word` (wake_all: every one); `registered` is how many
// the word's count says there are.
void wake_sleepers(std::atomic<std::uint32_t>& word, native_handle companion, std::uint32_t count,
                   std::uint32_t registered);
inline constexpr std::uint32_t wake_all = UINT32_MAX;

// A new companion for one word (Windows: an unnamed semaphore; elsewhere: none), or a named
// one `<name>.<index>` that open_companion() finds (Windows only; elsewhere: none).
ScopedHandle create_companion(const std::string* name, int index);
ScopedHandle open_companion(const std::string& name, int index);
// The companions received from a parent, taken over once shown to be what create_companion
// makes (Windows: semaphores; elsewhere: there must be none). Throws
// errc::bad_handle_argument otherwise, leaving the handles it did not take open.
std::vector<ScopedHandle> adopt_companions(const std::vector<native_handle>& handles, std::size_t expected);
// How many companions an object with `words` wait words has on this backend.
std::size_t companions_for(std::size_t words) noexcept;

// Sleeps on `word` as a registered waiter, unless its value has already moved on.
inline void wait_on(WaitWord& word, native_handle companion, std::uint32_t expected,
                    std::optional<Clock::time_point> deadline) {
  word.waiters.fetch_add(1, std::memory_order_seq_cst);
  if (word.value.load(std::memory_order_seq_cst) == expected) sleep_on(word.value, companion, expected, deadline);
  word.waiters.fetch_sub(1, std::memory_order_seq_cst);
}

// Wakes `count` waiters of `word`, after its value was changed with a seq_cst operation:
// either a waiter saw the new value, or this sees the waiter.
inline void wake(WaitWord& word, native_handle companion, std::uint32_t count) {
  const std::uint32_t registered = word.waiters.load(std::memory_order_seq_cst);
  if (registered != 0) wake_sleepers(word.value, companion, count, registered);
}

}  // namespace interproc::detail
