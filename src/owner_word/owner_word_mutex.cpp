// SPDX-License-Identifier: MIT
// The owner-word mutex, for systems without robust pthread mutexes (macOS, the BSDs) and
// for Windows. The lock word in shared memory holds the owner's identity, so a waiter can
// ask the OS whether the owner still exists and take the lock over from a dead one.
//
// Uncontended lock and unlock are one compare-exchange each, with no system call. A waiter
// spins briefly, then registers in `waiters` and sleeps in slices (Windows: on an event
// that unlock() signals and on the owner's thread handle; POSIX: on a word that unlock()
// changes, through the wait seam, so in the kernel where there is a kernel wait), checking
// the owner's liveness between slices. Unlock reads `waiters` after releasing the word;
// both sides use sequentially consistent operations, so either the waiter sees the word
// free or the unlocker sees the waiter and wakes it.

#include "common/fail.hpp"
#include "common/mutex_backend.hpp"
#include "owner_word/owner_word.hpp"

#include <algorithm>
#include <atomic>
#include <new>
#include <optional>
#include <thread>

namespace interproc::detail {
namespace {

struct OwnerWordState {
  MutexMagic magic;
  std::atomic<std::uint32_t> waiters;
  std::atomic<std::uint32_t> released;  // moved on by each unlock that saw waiters; slept on
  std::atomic<std::uint64_t> owner;     // 0: free; else current_owner_id() of the holder
  OwnerDiedFlag owner_died;
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "the lock word must be lock-free across processes");

OwnerWordState& words(MutexState& state) noexcept { return words_of<OwnerWordState>(state); }

bool try_claim(OwnerWordState& s, std::uint64_t expected, std::uint64_t me) noexcept {
  return s.owner.compare_exchange_strong(expected, me, std::memory_order_seq_cst);
}

// Gives the CPU away between looks: on few cores the owner may be waiting for it.
void yield_to_owner() noexcept { std::this_thread::yield(); }

// One look at the word: takes the lock if it is free or its owner is dead.
std::optional<LockResult> try_once(OwnerWordState& s, std::uint64_t me) {
  const std::uint64_t owner = s.owner.load(std::memory_order_seq_cst);
  if (owner == 0) return try_claim(s, 0, me) ? std::optional(LockResult::acquired) : std::nullopt;
  if (owner == me) fail(errc::recursive_lock, "InterprocessMutex: the calling thread already holds this lock");
  if (owner_is_dead(owner)) return try_claim(s, owner, me) ? std::optional(LockResult::owner_died) : std::nullopt;
  return std::nullopt;
}

// Sleeps one slice as a registered waiter, unless the word changed meanwhile.
void wait_slice(const MutexState& state, OwnerWordState& s, std::chrono::microseconds slice) {
  const std::uint64_t owner = s.owner.load(std::memory_order_seq_cst);
  if (owner == 0) return;
  s.waiters.fetch_add(1, std::memory_order_seq_cst);
  // Read before the owner: an unlock after that look moves it on, so the sleep returns.
  const std::uint32_t seen = s.released.load(std::memory_order_seq_cst);
  if (s.owner.load(std::memory_order_seq_cst) == owner) {
    wait_for_owner(state.companion.get(), s.released, seen, owner, slice);
  }
  s.waiters.fetch_sub(1, std::memory_order_seq_cst);
}

// Contended path, bounded by `deadline` when given.
std::optional<LockResult> lock_slow(const MutexState& state, OwnerWordState& s, std::uint64_t me,
                                    std::optional<Clock::time_point> deadline) {
  for (int spin = 0; spin < 64 && (!deadline || Clock::now() < *deadline); ++spin) {
    if (s.owner.load(std::memory_order_relaxed) == 0 && try_claim(s, 0, me)) return LockResult::acquired;
    yield_to_owner();
  }
  auto slice = std::chrono::microseconds(50);
  for (;;) {
    if (auto result = try_once(s, me)) return result;
    auto this_slice = std::min(slice, max_wait_slice());
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::microseconds>(*deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      this_slice = std::min(this_slice, left);
    }
    wait_slice(state, s, this_slice);
    slice = std::min(slice * 2, max_wait_slice());
  }
}

}  // namespace

MutexState create_mutex_state(const std::string* name, SegmentKind kind) {
  SharedSegment segment = create_mutex_words<OwnerWordState>(name, kind);
  ::new (segment.bytes().data()) OwnerWordState{{0}, {0}, {0}, {0}, {0}};
  ScopedHandle wake;
  try {
    wake = create_wake_handle(name);
  } catch (...) {
    forget_failed_name(name);
    throw;
  }
  publish_mutex_words(segment);  // last, so an opener finds the wake handle too (open_mutex_words)
  return MutexState{std::move(segment), std::move(wake)};
}

MutexState open_mutex_state(const std::string& name, SegmentKind kind) {
  SharedSegment segment = open_mutex_words<OwnerWordState>(name, kind);
  return MutexState{std::move(segment), open_wake_handle(name)};
}

MutexState attach_mutex_state(SharedSegment words, const std::vector<native_handle>& companions) {
  check_mutex_words<OwnerWordState>(words);
  return MutexState{std::move(words), adopt_wake_handle(companions)};
}

void retire_state(MutexState&) noexcept {}

LockResult lock_state(MutexState& state) { return *lock_state_until(state, std::nullopt); }

std::optional<LockResult> lock_state_until(MutexState& state, std::optional<Clock::time_point> deadline) {
  OwnerWordState& s = words(state);
  const std::uint64_t me = current_owner_id();
  if (try_claim(s, 0, me)) return with_pending_report(s.owner_died, LockResult::acquired);
  return with_pending_report(s.owner_died, lock_slow(state, s, me, deadline));
}

std::optional<LockResult> try_lock_state(MutexState& state) {
  OwnerWordState& s = words(state);
  const std::uint64_t me = current_owner_id();
  return with_pending_report(s.owner_died, try_claim(s, 0, me) ? LockResult::acquired : try_once(s, me));
}

void mark_state_consistent(MutexState& state) {
  OwnerWordState& s = words(state);
  if (s.owner.load(std::memory_order_relaxed) != current_owner_id()) {
    fail(errc::not_owner, "InterprocessMutex::mark_consistent: the calling thread does not hold the lock");
  }
  s.owner_died.store(0, std::memory_order_relaxed);
}

void unlock_state(MutexState& state) {
  OwnerWordState& s = words(state);
  std::uint64_t me = current_owner_id();
  if (!s.owner.compare_exchange_strong(me, 0, std::memory_order_seq_cst)) {
    fail(errc::not_owner, "InterprocessMutex::unlock: the calling thread does not hold the lock");
  }
  const std::uint32_t registered = s.waiters.load(std::memory_order_seq_cst);
  if (registered != 0) {
    s.released.fetch_add(1, std::memory_order_seq_cst);
    wake_one(state.companion.get(), s.released, registered);
  }
}

}  // namespace interproc::detail
