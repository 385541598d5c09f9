// SPDX-License-Identifier: MIT
// Linux (glibc): the mutex is a futex word of its own that follows the kernel's robust-futex
// protocol (Documentation/locking/robust-futex-ABI.rst, robust-futexes.rst; futex(2),
// get_robust_list(2)). The word holds the owner's thread id, FUTEX_WAITERS while a locker may
// sleep on it, and FUTEX_OWNER_DIED once the kernel found its owner dead. While a thread holds
// the lock, the lock's list node is on that thread's robust list, so when the thread ends in
// any way (return, exit, SIGKILL, crash) the kernel sets FUTEX_OWNER_DIED in the word and
// wakes one sleeper: the next locker takes the lock over and is told.
//
// The robust list is the one glibc registers for every thread (set_robust_list(2) at thread
// start and in a fork child); the kernel knows one list per thread, so a lock of our own must
// share it. That is sound because the node is what glibc's own robust mutexes put there:
//  - the kernel finds the word at futex_offset from the node's `next` pointer, a single value
//    per list; our node keeps glibc's pthread_mutex_t distances (static_assert below) and each
//    thread checks the offset that get_robust_list(2) reports before it uses the list;
//  - glibc links its nodes both ways ({prev, next}, each pointing at a neighbour's `next`, the
//    head being its own `next`; a word before the head serves as its `prev`), and unlinks any
//    node from the middle through its neighbours, ours included, so ours has that shape too;
//    bit 0 of a `next` marks a PI mutex, kept as is and masked before a pointer is followed;
//  - list_op_pending names the node while it is being linked or unlinked, around the word's
//    change, so a death in between is still seen (the ABI doc's "list_op_pending" section).
// Only the owning thread touches its list, and only the kernel reads it, at that thread's end,
// so compiler fences (std::atomic_signal_fence) order the steps.

#include "common/fail.hpp"
#include "common/mutex_backend.hpp"
#include "common/segment_backend.hpp"
#include "common/wait_backend.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <optional>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sched.h>
#include <unistd.h>

#if !defined(__GLIBC__) || !__PTHREAD_MUTEX_HAVE_PREV
#error "futex_mutex_linux.cpp needs glibc's doubly linked robust list (64-bit glibc)"
#endif

namespace interproc::detail {
namespace {

// A robust-list node as glibc links them.
struct RobustLink {
  std::uintptr_t prev;
  std::uintptr_t next;
};

// glibc's pthread_mutex_t: the futex word at __lock, the node at __list.
constexpr std::size_t glibc_link_offset = offsetof(__pthread_mutex_s, __list) - offsetof(__pthread_mutex_s, __lock);

struct RobustLock {
  std::atomic<std::uint32_t> word;  // 0: free; else owner tid | FUTEX_WAITERS | FUTEX_OWNER_DIED
  unsigned char gap[glibc_link_offset - sizeof(std::atomic<std::uint32_t>)];
  RobustLink link;  // on the owner's robust list while it holds the lock; unused otherwise
};
static_assert(offsetof(RobustLock, link) == glibc_link_offset);
constexpr long futex_offset = -static_cast<long>(offsetof(RobustLock, link) + offsetof(RobustLink, next));

struct FutexState {
  MutexMagic magic;
  OwnerDiedFlag owner_died;
  RobustLock lock;
};

// What a thread needs to lock: its id (the word's value while it holds the lock) and its
// robust list. Cached per thread: gettid(2) and get_robust_list(2) are system calls.
struct ThisThread {
  robust_list_head* list = nullptr;
  std::uint32_t tid = 0;
};
thread_local ThisThread this_thread_cache;

// fork(2): the child's thread has a new id, and glibc empties its list (same address).
void forget_thread_in_child() noexcept { this_thread_cache = ThisThread{}; }

robust_list_head* registered_list() {
  robust_list_head* head = nullptr;
  std::size_t length = 0;
  if (::syscall(SYS_get_robust_list, 0, &head, &length) != 0) fail_errno(errno, "get_robust_list");
  if (head == nullptr || length != sizeof(robust_list_head) || head->futex_offset != futex_offset) {
    fail(errc::not_supported, "InterprocessMutex: this thread has no robust list laid out as glibc's");
  }
  return head;
}

const ThisThread& this_thread() {
  if (this_thread_cache.tid != 0) return this_thread_cache;
  static std::once_flag registered;
  std::call_once(registered, [] { ::pthread_atfork(nullptr, nullptr, &forget_thread_in_child); });
  this_thread_cache.list = registered_list();
  this_thread_cache.tid = static_cast<std::uint32_t>(::gettid());
  return this_thread_cache;
}

FutexState& futex_state(MutexState& state) noexcept { return words_of<FutexState>(state); }

std::uint32_t owner_of(std::uint32_t word) noexcept { return word & FUTEX_TID_MASK; }

// The node whose `next` field `pointer` (a list value, maybe with the PI bit) points at. The
// list holds addresses as integers because of that bit; the casts below are the ABI's.
RobustLink& node_at(std::uintptr_t pointer) noexcept {
  // NOLINTNEXTLINE(performance-no-int-to-ptr)
  return *reinterpret_cast<RobustLink*>((pointer & ~std::uintptr_t{1}) - offsetof(RobustLink, next));
}

robust_list* as_list_pointer(std::uintptr_t address) noexcept {
  return reinterpret_cast<robust_list*>(address);  // NOLINT(performance-no-int-to-ptr): see node_at
}

std::uintptr_t address_of_next(RobustLink& link) noexcept { return reinterpret_cast<std::uintptr_t>(&link.next); }

void announce(const ThisThread& me, RobustLock& lock) noexcept {
  me.list->list_op_pending = as_list_pointer(address_of_next(lock.link));
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

void end_announcement(const ThisThread& me) noexcept {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  me.list->list_op_pending = nullptr;
}

// Links the node first in the list: filled in before the head points at it.
void link_node(const ThisThread& me, RobustLock& lock) noexcept {
  const auto head = reinterpret_cast<std::uintptr_t>(me.list);
  const auto first = reinterpret_cast<std::uintptr_t>(me.list->list.next);
  node_at(first).prev = address_of_next(lock.link);
  lock.link.next = first;
  lock.link.prev = head;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  me.list->list.next = as_list_pointer(address_of_next(lock.link));
}

// Unlinks the node through its neighbours. Its own pointers keep stale values: nothing reads a
// node that is on no list (the kernel does not follow list_op_pending's `next`).
void unlink_node(RobustLock& lock) noexcept {
  node_at(lock.link.next).prev = lock.link.prev;
  node_at(lock.link.prev).next = lock.link.next;
}

[[noreturn]] void fail_recursive() {
  fail(errc::recursive_lock, "InterprocessMutex: the calling thread already holds this lock");
}

// Takes the word over from `seen` (free, or its owner dead), keeping FUTEX_WAITERS and adding
// `extra`. The result says whether an owner had died.
std::optional<LockResult> try_take(RobustLock& lock, std::uint32_t seen, std::uint32_t me,
                                   std::uint32_t extra) noexcept {
  const std::uint32_t mine = me | (seen & FUTEX_WAITERS) | extra;
  if (!lock.word.compare_exchange_strong(seen, mine, std::memory_order_acquire, std::memory_order_relaxed)) {
    return std::nullopt;
  }
  return (seen & FUTEX_OWNER_DIED) != 0 ? LockResult::owner_died : LockResult::acquired;
}

// Before it sleeps, a locker looks again between sched_yield(2)s: the owner of a short critical
// section lets go sooner than a sleep and a wake-up take, and yielding leaves it the CPU (on few
// cores it may be waiting for ours). The owner-word mutex waits the same way.
constexpr int yields_before_sleeping = 64;

std::optional<LockResult> yield_for_release(RobustLock& lock, std::uint32_t me,
                                            std::optional<Clock::time_point> deadline) noexcept {
  for (int round = 0; round < yields_before_sleeping && (!deadline || Clock::now() < *deadline); ++round) {
    const std::uint32_t seen = lock.word.load(std::memory_order_relaxed);
    if (owner_of(seen) == 0) {
      if (auto result = try_take(lock, seen, me, 0)) return result;
    }
    ::sched_yield();
  }
  return std::nullopt;
}

// Sleeps until the word is free or its owner dead, then takes it with FUTEX_WAITERS set (other
// sleepers may remain). std::nullopt once `deadline` has passed.
std::optional<LockResult> sleep_for_release(RobustLock& lock, std::uint32_t me,
                                            std::optional<Clock::time_point> deadline) {
  for (;;) {
    std::uint32_t seen = lock.word.load(std::memory_order_relaxed);
    if (owner_of(seen) == 0) {
      if (auto result = try_take(lock, seen, me, FUTEX_WAITERS)) return result;
      continue;
    }
    if (deadline && Clock::now() >= *deadline) return std::nullopt;
    if ((seen & FUTEX_WAITERS) == 0 &&
        !lock.word.compare_exchange_strong(seen, seen | FUTEX_WAITERS, std::memory_order_relaxed)) {
      continue;
    }
    sleep_on(lock.word, invalid_handle, seen | FUTEX_WAITERS, deadline);
  }
}

std::optional<LockResult> acquire_contended(RobustLock& lock, std::uint32_t me,
                                            std::optional<Clock::time_point> deadline) {
  if (owner_of(lock.word.load(std::memory_order_relaxed)) == me) fail_recursive();
  if (auto result = yield_for_release(lock, me, deadline)) return result;
  return sleep_for_release(lock, me, deadline);
}

// Runs `acquire` announced on the robust list, and links the node if it took the lock.
template <class Acquire>
std::optional<LockResult> acquire_listed(FutexState& s, Acquire acquire) {
  const ThisThread& me = this_thread();
  announce(me, s.lock);
  std::optional<LockResult> result;
  try {
    result = acquire(me.tid);
  } catch (...) {
    end_announcement(me);
    throw;
  }
  if (result) link_node(me, s.lock);
  end_announcement(me);
  return with_pending_report(s.owner_died, result);
}

bool held_by_this_thread(const RobustLock& lock) {
  return owner_of(lock.word.load(std::memory_order_relaxed)) == this_thread().tid;
}

}  // namespace

void retire_state(MutexState& state) noexcept {
  if (!state.words) return;
  const std::uint32_t owner = owner_of(futex_state(state).lock.word.load(std::memory_order_relaxed));
  // tgkill(2) with signal 0 finds a thread id only within the given thread group.
  const bool held_here = owner != 0 && (owner == static_cast<std::uint32_t>(::gettid()) ||
                                        ::tgkill(::getpid(), static_cast<pid_t>(owner), 0) == 0);
  if (held_here) SegmentAccess::leave_mapped(state.words);
}

MutexState attach_mutex_state(SharedSegment words, const std::vector<native_handle>& companions) {
  check_mutex_words<FutexState>(words);
  if (!companions.empty()) fail(errc::bad_handle_argument, "a futex mutex has no companion handle");
  return MutexState{std::move(words), ScopedHandle()};
}

MutexState create_mutex_state(const std::string* name, SegmentKind kind) {
  SharedSegment segment = create_mutex_words<FutexState>(name, kind);
  ::new (segment.bytes().data()) FutexState{{0}, {0}, {{0}, {}, {0, 0}}};
  publish_mutex_words(segment);  // last: an opener checks it (open_mutex_words)
  return MutexState{std::move(segment), ScopedHandle()};
}

MutexState open_mutex_state(const std::string& name, SegmentKind kind) {
  return MutexState{open_mutex_words<FutexState>(name, kind), ScopedHandle()};
}

// The uncontended lock, kept free of std::optional: one compare-exchange, the node linked.
LockResult lock_state(MutexState& state) {
  FutexState& s = futex_state(state);
  const ThisThread& me = this_thread();
  announce(me, s.lock);
  std::uint32_t free_word = 0;
  if (!s.lock.word.compare_exchange_strong(free_word, me.tid, std::memory_order_acquire, std::memory_order_relaxed)) {
    end_announcement(me);
    return *lock_state_until(state, std::nullopt);
  }
  link_node(me, s.lock);
  end_announcement(me);
  if (s.owner_died.load(std::memory_order_relaxed) != 0) return LockResult::owner_died;
  return LockResult::acquired;
}

std::optional<LockResult> lock_state_until(MutexState& state, std::optional<Clock::time_point> deadline) {
  RobustLock& lock = futex_state(state).lock;
  return acquire_listed(futex_state(state), [&](std::uint32_t me) -> std::optional<LockResult> {
    std::uint32_t free_word = 0;
    if (lock.word.compare_exchange_strong(free_word, me, std::memory_order_acquire, std::memory_order_relaxed)) {
      return LockResult::acquired;
    }
    return acquire_contended(lock, me, deadline);
  });
}

std::optional<LockResult> try_lock_state(MutexState& state) {
  RobustLock& lock = futex_state(state).lock;
  return acquire_listed(futex_state(state), [&](std::uint32_t me) -> std::optional<LockResult> {
    const std::uint32_t seen = lock.word.load(std::memory_order_relaxed);
    if (owner_of(seen) == me) fail_recursive();
    return owner_of(seen) == 0 ? try_take(lock, seen, me, 0) : std::nullopt;
  });
}

void mark_state_consistent(MutexState& state) {
  FutexState& s = futex_state(state);
  if (!held_by_this_thread(s.lock)) {
    fail(errc::not_owner, "InterprocessMutex::mark_consistent: the calling thread does not hold the lock");
  }
  s.owner_died.store(0, std::memory_order_relaxed);
}

void unlock_state(MutexState& state) {
  RobustLock& lock = futex_state(state).lock;
  const ThisThread& me = this_thread();
  if (owner_of(lock.word.load(std::memory_order_relaxed)) != me.tid) {
    fail(errc::not_owner, "InterprocessMutex::unlock: the calling thread does not hold the lock");
  }
  announce(me, lock);
  unlink_node(lock);
  const std::uint32_t released = lock.word.exchange(0, std::memory_order_release);
  if ((released & FUTEX_WAITERS) != 0) wake_sleepers(lock.word, invalid_handle, 1, 0);
  end_announcement(me);
}

}  // namespace interproc::detail
