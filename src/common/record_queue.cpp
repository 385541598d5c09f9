// SPDX-License-Identifier: MIT
// The core of SharedQueue<T> for encoded items and of JoinableQueue<T>: a ring of slots of
// one size in one segment, each [length: 64 bits][the item's encoded bytes], guarded by an
// InterprocessMutex, with the two wait words of the fixed-size queue (not empty, not full)
// and a third that join() sleeps on (all done).
//
// Crash safety is the fixed-size queue's (common/queue.cpp): under the lock, a push bumps
// `not_empty` and wakes a consumer, writes the slot, then advances `tail`; a pop bumps
// `not_full`, copies the slot out, then advances `head`. A process killed anywhere in
// either has published nothing or all, so no torn item is ever visible, and a locker told
// owner_died only marks the lock consistent.
//
// A slot's length is read from shared memory, so it is checked against this process's own
// copy of the maximum (checked once at open), never trusted: a forged length is refused
// with invalid_message and its slot is consumed, so the queue goes on.
//
// JoinableQueue's counts, all under the lock:
//  - unfinished = tail - done: a push publishes its item and its task in the one store of
//    `tail`; task_done() adds one to `done`.
//  - each process that holds popped items not yet done has a holder record {pid, taken,
//    done}. pop() adds to `taken` before it advances `head`; task_done() adds to the global
//    `done` before the holder's. So a process killed between two steps is never seen holding
//    fewer items than it took: join() may report a consumer killed inside pop() whose item
//    stayed queued, but never waits for ever on one that died holding an item.
//  - join() sleeps on `all_done` in slices; between slices it looks for a holder whose
//    process has ended while taken > done, and throws errc::unfinished_tasks naming it.

#include <interproc/record_queue.hpp>
#include <interproc/shared_value.hpp>

#include "common/fail.hpp"
#include "common/wait_many.hpp"
#include "common/name_tracker.hpp"
#include "common/mutex_backend.hpp"
#include "common/process_liveness.hpp"
#include "common/waiting.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>

namespace interproc::detail {
namespace {

constexpr std::size_t max_holders = 128;

struct Holder {
  std::atomic<std::uint64_t> pid;  // 0: free
  std::atomic<std::uint64_t> taken;
  std::atomic<std::uint64_t> done;
};

struct RecordWords {
  ObjectHeader header;
  std::uint32_t flavor;
  std::uint64_t capacity;
  std::uint64_t max_item_bytes;
  std::uint64_t fingerprint;
  std::atomic<std::uint64_t> head;  // items taken
  std::atomic<std::uint64_t> tail;  // items put
  std::atomic<std::uint64_t> done;  // JoinableQueue: task_done() calls
  std::atomic<std::uint32_t> closed;
  WaitWord not_empty;  // bumped by every push and by close
  WaitWord not_full;   // bumped by every pop and by close
  WaitWord all_done;   // bumped by the task_done() that leaves no task unfinished
  Holder holders[max_holders];
};
constexpr std::size_t ring_offset = (sizeof(RecordWords) + 63) / 64 * 64;
constexpr std::size_t length_bytes = sizeof(std::uint64_t);

enum WaitIndex : std::size_t { not_empty_index = 0, not_full_index = 1, all_done_index = 2 };

std::size_t slot_size(std::size_t max_item_bytes) noexcept { return (length_bytes + max_item_bytes + 7) / 8 * 8; }

}  // namespace

const WaitLayout record_queue_layout{0x43525149, 0, 3, "SharedQueue"};  // "IQRC"; the size varies

struct RecordQueueAccess {
  static RecordQueueCore make(WaitState state, InterprocessMutex lock) {
    const RecordWords& w = words_of<RecordWords>(state);
    const auto capacity = static_cast<std::size_t>(w.capacity);
    const auto max_bytes = static_cast<std::size_t>(w.max_item_bytes);
    const bool joinable = w.flavor == static_cast<std::uint32_t>(RecordQueueCore::Flavor::joinable);
    return RecordQueueCore(new WaitState(std::move(state)), std::move(lock), capacity, max_bytes, joinable);
  }
  static RecordWords& words(const RecordQueueCore& q) { return words_of<RecordWords>(WaitAccess::state(q)); }
  static native_handle companion(const RecordQueueCore& q, std::size_t index) {
    return companion_of(WaitAccess::state(q), index);
  }
  static InterprocessMutex& lock(RecordQueueCore& q) { return q.lock_; }
};

namespace {

// The largest segment a queue asks for: a ring beyond it is surely a mistake.
constexpr std::size_t max_ring_bytes = SIZE_MAX / 4;

std::size_t ring_bytes(std::size_t capacity, std::size_t max_item_bytes) {
  if (max_item_bytes == 0 || max_item_bytes > max_ring_bytes)
    fail(errc::invalid_size, "SharedQueue: a maximum item size of " + std::to_string(max_item_bytes) + " bytes");
  const std::size_t limit = (max_ring_bytes - ring_offset) / slot_size(max_item_bytes);
  if (capacity == 0 || capacity > limit)
    fail(errc::invalid_size, "SharedQueue: a capacity of " + std::to_string(capacity) + " items of up to " +
                                 std::to_string(max_item_bytes) + " bytes");
  return ring_offset + capacity * slot_size(max_item_bytes);
}

RecordQueueCore make_queue(const std::string* name, std::size_t capacity, std::size_t max_item_bytes,
                           std::uint64_t fingerprint, RecordQueueCore::Flavor flavor) {
  WaitLayout layout = record_queue_layout;
  layout.size = ring_bytes(capacity, max_item_bytes);
  auto [lock, state] = create_locked_wait_state(layout, name);
  RecordWords& w = words_of<RecordWords>(state);
  w.flavor = static_cast<std::uint32_t>(flavor);
  w.capacity = capacity;
  w.max_item_bytes = max_item_bytes;
  w.fingerprint = fingerprint;
  publish(state, layout);
  return RecordQueueAccess::make(std::move(state), std::move(lock));
}

// Whether `state`'s header describes a ring that fills its segment exactly, of `flavor`.
bool is_ring(const WaitState& state, RecordQueueCore::Flavor flavor) noexcept {
  const RecordWords& w = words_of<RecordWords>(state);
  const std::size_t size = state.words.size();
  if (size <= ring_offset || w.flavor != static_cast<std::uint32_t>(flavor)) return false;
  if (w.max_item_bytes == 0 || w.max_item_bytes > max_ring_bytes) return false;
  const std::size_t slot = slot_size(static_cast<std::size_t>(w.max_item_bytes));
  return (size - ring_offset) % slot == 0 && w.capacity == (size - ring_offset) / slot;
}

const char* kind_name(RecordQueueCore::Flavor flavor) noexcept {
  return flavor == RecordQueueCore::Flavor::joinable ? "JoinableQueue" : "SharedQueue";
}

// Takes the queue's lock before `deadline`. Owner death needs no repair (see the top).
bool lock_before(InterprocessMutex& lock, std::optional<Clock::time_point> deadline) {
  if (!deadline) {
    if (lock.lock() == LockResult::owner_died) lock.mark_consistent();
    return true;
  }
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
  if (!lock.try_lock_for(std::max(left, std::chrono::milliseconds(0)))) return false;
  if (lock.previous_owner_died()) lock.mark_consistent();
  return true;
}

bool passed(std::optional<Clock::time_point> deadline) noexcept { return deadline && Clock::now() >= *deadline; }

void signal(WaitWord& word, native_handle companion, std::uint32_t count) {
  word.value.fetch_add(1, std::memory_order_seq_cst);
  wake(word, companion, count);
}

// How many rounds of 64 looks at its word a waiter makes before it registers and sleeps:
// about a microsecond, what a push or pop of a small item takes. A waiter that finds the
// word moved on never registers, so a queue kept busy by both ends makes no system call for
// its wakes (the waker's wake() sees no waiter). No yield between looks: measured on a
// loaded 2-core machine (bench queue_strings), yielding spins cost 10 times more than none.
constexpr int spin_looks = 16;

// Whether `word` moved on from `ticket` within spin_looks rounds of looks (before `deadline`).
bool moved_on_soon(const WaitWord& word, std::uint32_t ticket, std::optional<Clock::time_point> deadline) {
  for (int round = 0; round < spin_looks && !passed(deadline); ++round) {
    for (int look = 0; look < 64; ++look) {
      if (word.value.load(std::memory_order_acquire) != ticket) return true;
    }
  }
  return false;
}

// Waits for `word` to move on from `ticket`: a short spin first, then a registered sleep.
void await_change(WaitWord& word, native_handle companion, std::uint32_t ticket,
                  std::optional<Clock::time_point> deadline) {
  if (moved_on_soon(word, ticket, deadline)) return;
  wait_on(word, companion, ticket, deadline);
}

unsigned char* slot_at(const RecordQueueCore& q, RecordWords& w, std::uint64_t index) noexcept {
  const std::size_t at = static_cast<std::size_t>(index % q.capacity());
  return reinterpret_cast<unsigned char*>(&w) + ring_offset + at * slot_size(q.max_item_bytes());
}

// This process's holder record, claimed if it has none; under the lock.
Holder& holder_of_this_process(RecordWords& w) {
  const std::uint64_t pid = current_process_id();
  Holder* free = nullptr;
  for (Holder& h : w.holders) {
    const std::uint64_t owner = h.pid.load(std::memory_order_relaxed);
    if (owner == pid) return h;
    if (owner == 0 && free == nullptr) free = &h;
  }
  if (free == nullptr)
    fail(errc::count_overflow, "JoinableQueue::pop: more than " + std::to_string(max_holders) +
                                   " processes hold items they have not marked done");
  free->taken.store(0, std::memory_order_relaxed);  // counts first: a claim cut short leaves the slot free
  free->done.store(0, std::memory_order_relaxed);
  free->pid.store(pid, std::memory_order_release);
  return *free;
}

Holder* find_holder(RecordWords& w, std::uint64_t pid) noexcept {
  for (Holder& h : w.holders) {
    if (h.pid.load(std::memory_order_relaxed) == pid) return &h;
  }
  return nullptr;
}

// One more task done; wakes join() when none is left. Under the lock.
void finish_one(RecordWords& w, native_handle all_done_companion) {
  const std::uint64_t all_done = w.done.load(std::memory_order_relaxed) + 1;
  w.done.store(all_done, std::memory_order_release);
  if (all_done == w.tail.load(std::memory_order_relaxed)) signal(w.all_done, all_done_companion, wake_all);
}

}  // namespace

RecordQueueCore RecordQueueCore::create(std::size_t capacity, std::size_t max_item_bytes, std::uint64_t fingerprint,
                                        Flavor flavor) {
  return make_queue(nullptr, capacity, max_item_bytes, fingerprint, flavor);
}

RecordQueueCore RecordQueueCore::create_named(std::string_view name, std::size_t capacity, std::size_t max_item_bytes,
                                              std::uint64_t fingerprint, Flavor flavor, NameLifetime lifetime) {
  const std::string text(name);
  RecordQueueCore queue = make_queue(&text, capacity, max_item_bytes, fingerprint, flavor);
  apply_lifetime(lifetime, {text, data_lock_name(text)});
  return queue;
}

RecordQueueCore RecordQueueCore::open_named(std::string_view name, std::uint64_t fingerprint, Flavor flavor) {
  const std::string lock_name = data_lock_name(name);
  WaitState state = open_wait_state(record_queue_layout, name);
  InterprocessMutex lock = InterprocessMutex::open_named(lock_name);
  if (!is_ring(state, flavor) || words_of<RecordWords>(state).fingerprint != fingerprint) {
    fail(errc::wrong_object_kind, std::string(kind_name(flavor)) + "::open_named(\"" + std::string(name) +
                                      "\"): not a " + kind_name(flavor) + " of this item type");
  }
  return RecordQueueAccess::make(std::move(state), std::move(lock));
}

bool RecordQueueCore::remove_named(std::string_view name) {
  const std::string lock_name = data_lock_name(name);
  const bool existed = remove_wait_name(name);
  InterprocessMutex::remove_named(lock_name);
  return existed;
}

RecordQueueCore attach_record_queue(WaitState state, InterprocessMutex lock, std::uint64_t slot_bytes, bool joinable) {
  const auto flavor = joinable ? RecordQueueCore::Flavor::joinable : RecordQueueCore::Flavor::plain;
  if (!is_ring(state, flavor) ||
      slot_size(static_cast<std::size_t>(words_of<RecordWords>(state).max_item_bytes)) != slot_bytes)
    fail(errc::bad_handle_argument,
         std::string("the segment handed over as a ") + kind_name(flavor) + " does not hold its items");
  return RecordQueueAccess::make(std::move(state), std::move(lock));
}

void forget_record_queue(RecordQueueCore& alias) noexcept {
  WaitAccess::forget(alias);
  MutexAccess::forget(RecordQueueAccess::lock(alias));
}

bool RecordQueueCore::push(const void* bytes, std::size_t size, std::chrono::milliseconds timeout) {
  if (size > max_item_bytes_) {
    fail(errc::message_too_large, "SharedQueue::push: an item of " + std::to_string(size) +
                                      " bytes, more than the queue's maximum of " + std::to_string(max_item_bytes_));
  }
  RecordWords& w = RecordQueueAccess::words(*this);
  const auto deadline = deadline_after(timeout);
  for (;;) {
    if (!lock_before(lock_, deadline)) return false;
    std::unique_lock<InterprocessMutex> hold(lock_, std::adopt_lock);
    if (w.closed.load(std::memory_order_relaxed) != 0) fail(errc::closed, "SharedQueue::push: the queue is closed");
    const std::uint64_t tail = w.tail.load(std::memory_order_relaxed);
    if (tail - w.head.load(std::memory_order_relaxed) < capacity_) {
      signal(w.not_empty, RecordQueueAccess::companion(*this, not_empty_index), 1);
      unsigned char* slot = slot_at(*this, w, tail);
      const auto length = static_cast<std::uint64_t>(size);
      std::memcpy(slot, &length, length_bytes);
      if (size != 0) std::memcpy(slot + length_bytes, bytes, size);
      w.tail.store(tail + 1, std::memory_order_release);
      return true;
    }
    const std::uint32_t ticket = w.not_full.value.load(std::memory_order_seq_cst);
    hold.unlock();
    if (passed(deadline)) return false;
    await_change(w.not_full, RecordQueueAccess::companion(*this, not_full_index), ticket, deadline);
  }
}

RecordQueueCore::Popped RecordQueueCore::pop(std::string& out, std::chrono::milliseconds timeout) {
  RecordWords& w = RecordQueueAccess::words(*this);
  const auto deadline = deadline_after(timeout);
  for (;;) {
    if (!lock_before(lock_, deadline)) return Popped::timeout;
    std::unique_lock<InterprocessMutex> hold(lock_, std::adopt_lock);
    const std::uint64_t head = w.head.load(std::memory_order_relaxed);
    if (w.tail.load(std::memory_order_relaxed) != head) {
      signal(w.not_full, RecordQueueAccess::companion(*this, not_full_index), 1);
      const unsigned char* slot = slot_at(*this, w, head);
      std::uint64_t length = 0;
      std::memcpy(&length, slot, length_bytes);
      const bool valid = length <= max_item_bytes_;
      if (valid) out.assign(reinterpret_cast<const char*>(slot + length_bytes), static_cast<std::size_t>(length));
      if (joinable_ && valid) {
        Holder& mine = holder_of_this_process(w);
        mine.taken.store(mine.taken.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      }
      w.head.store(head + 1, std::memory_order_release);
      if (!valid) {
        if (joinable_) finish_one(w, RecordQueueAccess::companion(*this, all_done_index));  // nobody can do it
        fail(errc::invalid_message, "SharedQueue::pop: an item claims " + std::to_string(length) +
                                        " bytes, more than the queue's maximum of " + std::to_string(max_item_bytes_));
      }
      return Popped::item;
    }
    if (w.closed.load(std::memory_order_relaxed) != 0) return Popped::closed;
    const std::uint32_t ticket = w.not_empty.value.load(std::memory_order_seq_cst);
    hold.unlock();
    if (passed(deadline)) return Popped::timeout;
    await_change(w.not_empty, RecordQueueAccess::companion(*this, not_empty_index), ticket, deadline);
  }
}

void RecordQueueCore::close() {
  RecordWords& w = RecordQueueAccess::words(*this);
  lock_before(lock_, std::nullopt);
  std::lock_guard<InterprocessMutex> hold(lock_, std::adopt_lock);
  signal(w.not_empty, RecordQueueAccess::companion(*this, not_empty_index), wake_all);
  signal(w.not_full, RecordQueueAccess::companion(*this, not_full_index), wake_all);
  w.closed.store(1, std::memory_order_release);
}

bool RecordQueueCore::is_closed() const {
  return RecordQueueAccess::words(*this).closed.load(std::memory_order_acquire) != 0;
}

std::size_t RecordQueueCore::size() const {
  const RecordWords& w = RecordQueueAccess::words(*this);
  const std::uint64_t head = w.head.load(std::memory_order_acquire);
  return static_cast<std::size_t>(w.tail.load(std::memory_order_acquire) - head);
}

void RecordQueueCore::task_done() {
  RecordWords& w = RecordQueueAccess::words(*this);
  lock_before(lock_, std::nullopt);
  std::lock_guard<InterprocessMutex> hold(lock_, std::adopt_lock);
  Holder* mine = find_holder(w, current_process_id());
  const std::uint64_t taken = mine != nullptr ? mine->taken.load(std::memory_order_relaxed) : 0;
  const std::uint64_t done = mine != nullptr ? mine->done.load(std::memory_order_relaxed) : 0;
  if (taken == done) {
    fail(errc::invalid_argument,
         "JoinableQueue::task_done: called more times than this process popped items (Python: ValueError)");
  }
  // The global count first (see the top).
  finish_one(w, RecordQueueAccess::companion(*this, all_done_index));
  mine->done.store(done + 1, std::memory_order_relaxed);
  if (done + 1 == taken) mine->pid.store(0, std::memory_order_release);  // holds nothing now: free the record
}

std::size_t RecordQueueCore::unfinished() const {
  const RecordWords& w = RecordQueueAccess::words(*this);
  const std::uint64_t done = w.done.load(std::memory_order_acquire);
  return static_cast<std::size_t>(w.tail.load(std::memory_order_acquire) - done);
}

namespace {

// Throws errc::unfinished_tasks if a process that holds items not done has ended.
void refuse_dead_holders(RecordWords& w) {
  for (Holder& h : w.holders) {
    const std::uint64_t pid = h.pid.load(std::memory_order_acquire);
    const std::uint64_t held = h.taken.load(std::memory_order_relaxed) - h.done.load(std::memory_order_relaxed);
    if (pid == 0 || held == 0 || !process_has_ended(pid)) continue;
    fail(errc::unfinished_tasks, "JoinableQueue::join: process " + std::to_string(pid) + " ended holding " +
                                     std::to_string(held) + " item(s) it never marked done with task_done()");
  }
}

// How long join() sleeps between two looks for consumers that died.
constexpr std::chrono::milliseconds holder_check_slice{100};

}  // namespace

bool RecordQueueCore::join(std::chrono::milliseconds timeout) {
  RecordWords& w = RecordQueueAccess::words(*this);
  const auto deadline = deadline_after(timeout);
  for (;;) {
    const std::uint32_t ticket = w.all_done.value.load(std::memory_order_seq_cst);
    if (unfinished() == 0) return true;
    refuse_dead_holders(w);
    if (passed(deadline)) return false;
    auto slice = Clock::now() + holder_check_slice;
    if (deadline) slice = std::min(slice, *deadline);
    wait_on(w.all_done, RecordQueueAccess::companion(*this, all_done_index), ticket, slice);
  }
}

bool record_queue_ready(const RecordQueueCore& core) noexcept {
  const RecordWords& w = RecordQueueAccess::words(core);
  return w.tail.load(std::memory_order_acquire) != w.head.load(std::memory_order_acquire) ||
         w.closed.load(std::memory_order_acquire) != 0;
}

}  // namespace interproc::detail
