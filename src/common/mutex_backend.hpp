// SPDX-License-Identifier: MIT
#pragma once
// The seam between InterprocessMutex (src/common/interprocess_mutex.cpp, its public rules
// written once) and its implementations, each of which defines the functions below:
//  - Linux: a robust futex of its own on the thread's robust list, with 64-bit glibc
//    (src/posix/futex_mutex_linux.cpp), else a robust, process-shared pthread mutex
//    (src/posix/robust_mutex_linux.cpp);
//  - macOS/BSD (the portable build) and Windows: an owner word in shared memory with a
//    liveness check on the slow path (src/owner_word/).
// Either one keeps its words in a small segment, anonymous or named, that starts with
// mutex_magic, so a child or an opener can check that a segment it got as a mutex really is one.

#include "common/deadline.hpp"
#include "common/fail.hpp"
#include "common/native_handle.hpp"
#include "common/segment_backend.hpp"

#include <interproc/interprocess_mutex.hpp>
#include <interproc/recursive_mutex.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace interproc::detail {

inline constexpr std::uint32_t mutex_magic = 0x58544d49;  // "IMTX"

// The first member of each implementation's words: 0 until their creator has initialised
// everything else, then mutex_magic (publish_mutex_words), so an opener never uses a mutex
// that is still being made.
using MutexMagic = std::atomic<std::uint32_t>;

// What an InterprocessMutex owns: the words every process shares, and the kernel object the
// implementation pairs with them, if it needs one (the owner word on Windows: the event its
// waiters sleep on). Both travel to a child (a StateRecord in common/transfer.hpp).
struct MutexState {
  SharedSegment words;
  ScopedHandle companion;
};

// A new, unlocked mutex's state: anonymous, or with `name` (validated) its words are the
// named segment `*name`, created exclusively (std::errc::file_exists if taken). Throws when
// the OS refuses memory or handles; a failed create leaves no name behind. `kind` goes into
// a named mutex's tag: SegmentKind::recursive_mutex for InterprocessRecursiveMutex, so that
// neither kind opens the other's name.
MutexState create_mutex_state(const std::string* name, SegmentKind kind = SegmentKind::mutex);
// An existing named mutex's state: std::errc::no_such_file_or_directory if there is none,
// errc::not_ready while its creator is still making it, errc::foreign_object for an object
// that is not this implementation's mutex of that `kind`.
MutexState open_mutex_state(const std::string& name, SegmentKind kind = SegmentKind::mutex);
// Blocks until the calling thread holds the lock, or until `deadline` (std::nullopt: no
// deadline); the result is std::nullopt when the deadline passed first.
LockResult lock_state(MutexState& state);
std::optional<LockResult> lock_state_until(MutexState& state, std::optional<Clock::time_point> deadline);
std::optional<LockResult> try_lock_state(MutexState& state);
// Both throw errc::not_owner unless the calling thread holds the lock.
void unlock_state(MutexState& state);
void mark_state_consistent(MutexState& state);
// A mutex's state from parts received from a parent: throws errc::bad_handle_argument when
// the segment is not a mutex's, or the companions are not what this implementation pairs
// with its words. Owns `words` either way; takes the companions only once they are checked.
MutexState attach_mutex_state(SharedSegment words, const std::vector<native_handle>& companions);

// Called as a mutex object lets go of its state (destruction, move assignment). Linux: a
// state still locked by a thread of this process stays mapped until the process ends, so
// the kernel's robust-list walk at that thread's end can still mark it, and glibc's list
// never points into unmapped memory. Elsewhere: nothing to do.
void retire_state(MutexState& state) noexcept;

// Both implementations keep this flag in their shared words: set when a locker takes the
// lock over from a dead owner, cleared by mark_consistent(). Read and written under the lock.
using OwnerDiedFlag = std::atomic<std::uint32_t>;

// An acquisition's result with the pending report applied: owner_died while the flag is set.
inline std::optional<LockResult> with_pending_report(OwnerDiedFlag& pending,
                                                     std::optional<LockResult> result) noexcept {
  if (!result) return result;
  if (*result == LockResult::owner_died) pending.store(1, std::memory_order_relaxed);
  return pending.load(std::memory_order_relaxed) != 0 ? LockResult::owner_died : LockResult::acquired;
}

// The shared words as the implementation's struct (which starts with a std::uint32_t magic).
template <class Words>
Words& words_of(const MutexState& state) noexcept {
  return *std::launder(reinterpret_cast<Words*>(state.words.bytes().data()));
}

inline MutexMagic& magic_of(const SharedSegment& words) noexcept {
  return *std::launder(reinterpret_cast<MutexMagic*>(words.bytes().data()));
}

// Throws errc::bad_handle_argument unless `words` is large enough for Words and starts with
// mutex_magic: a segment received as a mutex's really is one.
template <class Words>
void check_mutex_words(const SharedSegment& words) {
  if (words.size() < sizeof(Words) || magic_of(words).load(std::memory_order_acquire) != mutex_magic)
    fail(errc::bad_handle_argument, "the segment handed over as a mutex is not an InterprocessMutex");
}

// A new mutex's words, zero-filled: anonymous, or the named segment `*name`.
template <class Words>
SharedSegment create_mutex_words(const std::string* name, SegmentKind kind) {
  static_assert(offsetof(Words, magic) == 0 && std::is_same_v<decltype(Words::magic), MutexMagic>);
  return name != nullptr ? create_tagged_segment(*name, sizeof(Words), segment_tag(kind, mutex_magic))
                         : create_words_segment(sizeof(Words));
}

// The creator's last step, after every other word and the companion are ready.
inline void publish_mutex_words(const SharedSegment& words) noexcept {
  magic_of(words).store(mutex_magic, std::memory_order_release);
}

// Removes the name of a mutex whose create failed after its words were created, keeping the
// exception that is on its way (the name of someone else's mutex is never touched: a create
// that finds the name taken fails before this).
inline void forget_failed_name(const std::string* name) noexcept {
  if (name == nullptr) return;
  try {
    remove_named_segment(*name);
  } catch (const std::system_error&) {
  }
}

// A named mutex's words, checked: errc::not_ready until the creator has published them, and
// errc::foreign_object for a segment of another size (another implementation's mutex, or
// no mutex at all) or that starts with anything but mutex_magic.
template <class Words>
SharedSegment open_mutex_words(const std::string& name, SegmentKind kind) {
  std::uint64_t tag = 0;
  SharedSegment words = open_tagged_segment(name, tag);
  const char* const type = kind == SegmentKind::mutex ? "InterprocessMutex" : "InterprocessRecursiveMutex";
  const std::string shown = std::string(type) + "::open_named(" + quoted(name) + ")";
  if (tag != segment_tag(kind, mutex_magic) || words.size() != sizeof(Words))
    fail(errc::foreign_object, shown + ": not an " + type + " of this build");
  const std::uint32_t magic = magic_of(words).load(std::memory_order_acquire);
  if (magic == 0) fail(errc::not_ready, shown + ": its creator has not finished making it");
  if (magic != mutex_magic) fail(errc::foreign_object, shown + ": not an InterprocessMutex");
  return words;
}

// An InterprocessRecursiveMutex over `mutex`, and the mutex under one (common/recursive_mutex.cpp).
InterprocessRecursiveMutex make_recursive(InterprocessMutex mutex);
InterprocessMutex& mutex_of(InterprocessRecursiveMutex& m) noexcept;

struct MutexAccess {
  static MutexState& state(const InterprocessMutex& m) noexcept { return *m.state_; }
  static bool has_state(const InterprocessMutex& m) noexcept { return m.state_ != nullptr; }
  static InterprocessMutex make(MutexState state) { return InterprocessMutex(new MutexState(std::move(state))); }
  // A second mutex object for the same words and companion, for a fork child that already
  // has them; the alias must be forget()-ed, never destroyed, where the original lives.
  static InterprocessMutex alias(const InterprocessMutex& original) {
    return make(
        MutexState{SegmentAccess::alias(original.state_->words), ScopedHandle(original.state_->companion.get())});
  }
  static void forget(InterprocessMutex& alias) noexcept {
    if (alias.state_ == nullptr) return;  // moved into a typed object
    SegmentAccess::forget(alias.state_->words);
    (void)alias.state_->companion.release();
  }
  // Every handle of the mutex: its words' segment first, then its companion, if any.
  static std::vector<native_handle> handles(const InterprocessMutex& m) {
    std::vector<native_handle> all{SegmentAccess::handle(m.state_->words)};
    // Compared, not valid(): inline code here must not call into the library (tests use it).
    if (m.state_->companion.get() != invalid_handle) all.push_back(m.state_->companion.get());
    return all;
  }
  // Notes an acquisition's result for previous_owner_died(); passes it on unchanged.
  static std::optional<LockResult> record(InterprocessMutex& m, std::optional<LockResult> result) noexcept {
    if (result) m.previous_owner_died_ = *result == LockResult::owner_died;
    return result;
  }
  static LockResult record(InterprocessMutex& m, LockResult result) noexcept {
    m.previous_owner_died_ = result == LockResult::owner_died;
    return result;
  }
};

}  // namespace interproc::detail
