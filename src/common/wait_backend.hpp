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
// then make a system call they did not need, and nothing else (a queue's words claim their
// registrations instead, which heals that: wake_claiming below).
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

// One step of a busy wait: the CPU's spin-wait hint (x86 PAUSE, Arm YIELD), which leaves the
// core's resources to its sibling thread; nothing on other CPUs.
inline void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

// How many pauses watch() looks for: a few microseconds (x86 PAUSE takes 10 to 140 cycles),
// longer than a push or pop holds the lock. No sched_yield: on a loaded machine a yield gives
// the CPU away for a whole time slice (milliseconds), where a sleep is woken at once.
inline constexpr int watch_pauses = 512;

// Whether `word` moved on from `expected` within a short busy look. A waiter that watches
// first neither registers nor sleeps when the change comes soon (a busy queue), so its
// waker makes no system call either; a waker's death costs the watcher nothing more than
// the watch.
inline bool watch(const WaitWord& word, std::uint32_t expected) {
  for (int i = 0; i < watch_pauses; ++i) {
    if (word.value.load(std::memory_order_acquire) != expected) return true;
    spin_pause();
  }
  return word.value.load(std::memory_order_acquire) != expected;
}

// Claimed registrations, for words whose waiters all wait for the next change (a queue's):
// `waiters` holds a count (low 16 bits) and an epoch. A waker that finds the count non-zero
// takes every registration at once (count 0, next epoch) and wakes all their sleepers, so
// the changes that follow before those sleepers run make no system call. A waiter that
// returns without being claimed (its epoch still current) takes its own registration back.
// A waiter that died registered is claimed by the next change, so the count heals. (An
// epoch that wrapped during one sleep, or 65 536 waiters at once, cost a wake at most:
// every sleep is bounded.)
inline constexpr std::uint32_t claim_count_mask = 0xffff;
inline constexpr std::uint32_t claim_epoch_step = claim_count_mask + 1;

// Sleeps on `word` as a registered waiter, unless its value has already moved on.
inline void wait_claimable(WaitWord& word, native_handle companion, std::uint32_t expected,
                           std::optional<Clock::time_point> deadline) {
  const std::uint32_t epoch = word.waiters.fetch_add(1, std::memory_order_seq_cst) & ~claim_count_mask;
  if (word.value.load(std::memory_order_seq_cst) == expected) sleep_on(word.value, companion, expected, deadline);
  std::uint32_t seen = word.waiters.load(std::memory_order_relaxed);
  while ((seen & ~claim_count_mask) == epoch && (seen & claim_count_mask) != 0 &&
         !word.waiters.compare_exchange_weak(seen, seen - 1, std::memory_order_relaxed)) {
  }
}

// Wakes every registered waiter of `word`, after its value was changed with a seq_cst
// operation, and claims their registrations; no system call when nobody is registered.
inline void wake_claiming(WaitWord& word, native_handle companion) {
  std::uint32_t seen = word.waiters.load(std::memory_order_seq_cst);
  while ((seen & claim_count_mask) != 0) {
    const std::uint32_t next_epoch = (seen & ~claim_count_mask) + claim_epoch_step;
    if (word.waiters.compare_exchange_weak(seen, next_epoch, std::memory_order_seq_cst)) {
      wake_sleepers(word.value, companion, wake_all, seen & claim_count_mask);
      return;
    }
  }
}

// Wakes `count` waiters of `word`, after its value was changed with a seq_cst operation:
// either a waiter saw the new value, or this sees the waiter.
inline void wake(WaitWord& word, native_handle companion, std::uint32_t count) {
  const std::uint32_t registered = word.waiters.load(std::memory_order_seq_cst);
  if (registered != 0) wake_sleepers(word.value, companion, count, registered);
}

}  // namespace interproc::detail
