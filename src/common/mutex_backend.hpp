// SPDX-License-Identifier: MIT
#pragma once
// The seam between InterprocessMutex and its implementations:
//  - Linux: a robust, process-shared pthread mutex (src/posix/interprocess_mutex_linux.cpp);
//  - macOS/BSD (the portable build) and Windows: an owner word in shared memory with a
//    liveness check on the slow path (src/common/owner_word_mutex.cpp + owner_word.hpp).
// Either one keeps its state in a small segment that starts with mutex_magic, so a child
// can check that a segment handed over as a mutex really is one.

#include "common/native_handle.hpp"
#include "common/segment_backend.hpp"

#include <interproc/interprocess_mutex.hpp>

#include <atomic>
#include <cstdint>
#include <optional>

namespace interproc::detail {

inline constexpr std::uint32_t mutex_magic = 0x58544d49;  // "IMTX"

// 1 on Windows (the event waiters sleep on), 0 on POSIX.
extern const int mutex_wake_handles;
// Takes ownership of a wake handle from a parent; throws errc::bad_handle_argument if it is
// not one (Windows: not an event). Only called where mutex_wake_handles is 1.
ScopedHandle adopt_wake_handle(native_handle h);

// Both implementations keep this flag in their shared state: set when a locker takes the
// lock over from a dead owner, cleared by mark_consistent(). Read and written under the lock.
using OwnerDiedFlag = std::atomic<std::uint32_t>;

// An acquisition's result with the pending report applied: owner_died while the flag is set.
inline std::optional<LockResult> with_pending_report(OwnerDiedFlag& pending,
                                                     std::optional<LockResult> result) noexcept {
  if (!result) return result;
  if (*result == LockResult::owner_died) pending.store(1, std::memory_order_relaxed);
  return pending.load(std::memory_order_relaxed) != 0 ? LockResult::owner_died : LockResult::acquired;
}

// Called as a mutex object lets go of its state (destruction, move assignment). Linux: a
// state still locked by a thread of this process stays mapped until the process ends, so
// the kernel's robust-list walk at that thread's end can still mark it, and glibc's list
// never points into unmapped memory. Elsewhere: nothing to do.
void retire_state(SharedSegment& state) noexcept;

struct MutexAccess {
  static const SharedSegment& state(const InterprocessMutex& m) noexcept { return m.state_; }
  static native_handle wake_handle(const InterprocessMutex& m) noexcept { return m.wake_handle_; }
  // A mutex from parts received from a parent; throws errc::bad_handle_argument when the
  // state segment is not a mutex or the wake handle is not of the expected kind.
  static InterprocessMutex attach(SharedSegment state, ScopedHandle wake);

  static InterprocessMutex assemble(SharedSegment state, ScopedHandle wake) noexcept {
    InterprocessMutex m;
    m.state_ = std::move(state);
    m.wake_handle_ = wake.release();
    return m;
  }
  // As SegmentAccess::alias / forget, for a mutex.
  static InterprocessMutex alias(const InterprocessMutex& original) noexcept {
    return assemble(SegmentAccess::alias(original.state_), ScopedHandle(original.wake_handle_));
  }
  static void forget(InterprocessMutex& alias) noexcept {
    SegmentAccess::forget(alias.state_);
    alias.wake_handle_ = invalid_handle;
  }
  // Notes an acquisition's result for previous_owner_died(); passes it on unchanged.
  static std::optional<LockResult> record(InterprocessMutex& m, std::optional<LockResult> result) noexcept {
    if (result) m.previous_owner_died_ = *result == LockResult::owner_died;
    return result;
  }
};

}  // namespace interproc::detail
