// SPDX-License-Identifier: MIT
// SharedQueue's core: a ring of fixed-size items in one segment, guarded by an
// InterprocessMutex, with two wait words (not empty, not full).
//
// A push copies the item, advances `tail` and bumps `not_empty`, all under the lock; a pop
// copies out, advances `head` and bumps `not_full`. The queue's state is consistent at every
// step, so a process killed anywhere in them has either published nothing (the item is out,
// or still in) or everything, and a locker told owner_died only marks the lock consistent.
// The wake comes after the unlock, so the woken one finds the lock free (one wake per item,
// not a second one for the lock), and only when a waiter registered: a waiter first watches
// its word for a moment (watch()), so a busy queue makes no system call at all. A process
// killed between its unlock and its wake delays a sleeper by max_unwoken_sleep at most, the
// bound every sleep has (wait_backend.hpp).

#include <interproc/shared_queue.hpp>
#include <interproc/shared_value.hpp>

#include "common/name_tracker.hpp"
#include "common/fail.hpp"
#include "common/mutex_backend.hpp"
#include "common/name_rules.hpp"
#include "common/wait_many.hpp"
#include "common/waiting.hpp"

#include <cstring>
#include <mutex>

namespace interproc::detail {
namespace {

struct QueueWords {
  ObjectHeader header;
  std::uint32_t item_size;
  std::uint64_t capacity;
  std::uint64_t fingerprint;
  std::atomic<std::uint64_t> head;  // items taken; changed under the lock
  std::atomic<std::uint64_t> tail;  // items put; changed under the lock
  std::atomic<std::uint32_t> closed;
  // Waited on with wait_claimable() and woken with wake_claiming() only (wait_backend.hpp).
  WaitWord not_empty;  // bumped by every push and by close
  WaitWord not_full;   // bumped by every pop and by close
};
constexpr std::size_t ring_offset = (sizeof(QueueWords) + 63) / 64 * 64;

enum WaitIndex : std::size_t { not_empty_index = 0, not_full_index = 1 };

}  // namespace

const WaitLayout queue_layout{0x45555149, 0, 2, "SharedQueue"};  // "IQUE"; the size varies

struct QueueAccess {
  // The queue over `state`, whose header was checked to hold `capacity` items of `item_size`.
  static QueueCore make(WaitState state, InterprocessMutex lock, std::size_t capacity, std::size_t item_size) {
    return QueueCore(new WaitState(std::move(state)), std::move(lock), capacity, item_size);
  }
  static std::size_t capacity(const QueueCore& q) noexcept { return q.capacity_; }
  static std::size_t item_size(const QueueCore& q) noexcept { return q.item_size_; }
  static QueueWords& words(const QueueCore& q) { return words_of<QueueWords>(WaitAccess::state(q)); }
  static native_handle companion(const QueueCore& q, std::size_t index) {
    return companion_of(WaitAccess::state(q), index);
  }
  static InterprocessMutex& lock(QueueCore& q) { return q.lock_; }
};

namespace {

std::size_t ring_bytes(std::size_t capacity, std::size_t item_size) {
  const std::size_t limit = (SIZE_MAX / 2 - ring_offset) / item_size;
  if (capacity == 0 || capacity > limit)
    fail(errc::invalid_size, "SharedQueue: a capacity of " + std::to_string(capacity) + " items");
  return ring_offset + capacity * item_size;
}

QueueCore make_queue(const std::string* name, std::size_t capacity, std::size_t item_size, std::uint64_t fingerprint) {
  WaitLayout layout = queue_layout;
  layout.size = ring_bytes(capacity, item_size);
  auto [lock, state] = create_locked_wait_state(layout, name);
  QueueWords& w = words_of<QueueWords>(state);
  w.item_size = static_cast<std::uint32_t>(item_size);
  w.capacity = capacity;
  w.fingerprint = fingerprint;
  publish(state, layout);
  return QueueAccess::make(std::move(state), std::move(lock), capacity, item_size);
}

// Whether `state`'s header describes a ring of items of `item_size` bytes filling its
// segment exactly (without overflow, whatever the header holds).
bool holds_items(const WaitState& state, std::size_t item_size) noexcept {
  const QueueWords& w = words_of<QueueWords>(state);
  const std::size_t size = state.words.size();
  return size > ring_offset && w.item_size == item_size && (size - ring_offset) % item_size == 0 &&
         w.capacity == (size - ring_offset) / item_size;
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

void* slot(const QueueCore& q, QueueWords& w, std::uint64_t index) noexcept {
  const std::size_t at = static_cast<std::size_t>(index % QueueAccess::capacity(q));
  return reinterpret_cast<unsigned char*>(&w) + ring_offset + at * QueueAccess::item_size(q);
}

bool passed(std::optional<Clock::time_point> deadline) noexcept { return deadline && Clock::now() >= *deadline; }

// Sleeps until `word` moves on from `ticket` (or `deadline`, or max_unwoken_sleep): watched
// first, registered only if it does not move soon.
void await_change(WaitWord& word, native_handle companion, std::uint32_t ticket,
                  std::optional<Clock::time_point> deadline) {
  if (!watch(word, ticket)) wait_claimable(word, companion, ticket, deadline);
}

}  // namespace

QueueCore QueueCore::create(std::size_t capacity, std::size_t item_size, std::uint64_t fingerprint) {
  return make_queue(nullptr, capacity, item_size, fingerprint);
}

QueueCore QueueCore::create_named(std::string_view name, std::size_t capacity, std::size_t item_size,
                                  std::uint64_t fingerprint, NameLifetime lifetime) {
  const std::string text(name);
  QueueCore queue = make_queue(&text, capacity, item_size, fingerprint);
  apply_lifetime(lifetime, {text, data_lock_name(text)});
  return queue;
}

QueueCore QueueCore::open_named(std::string_view name, std::size_t item_size, std::uint64_t fingerprint) {
  const std::string lock_name = data_lock_name(name);
  // The words first: another kind's name is foreign_object there, before its lacking a
  // lock could say anything. Once published, the lock (created first) exists.
  WaitState state = open_wait_state(queue_layout, name);
  InterprocessMutex lock = InterprocessMutex::open_named(lock_name);
  if (!holds_items(state, item_size) || words_of<QueueWords>(state).fingerprint != fingerprint) {
    fail(errc::wrong_object_kind, "SharedQueue::open_named(\"" + std::string(name) + "\"): not a queue of " +
                                      std::to_string(item_size) + "-byte items of this type");
  }
  const auto capacity = static_cast<std::size_t>(words_of<QueueWords>(state).capacity);
  return QueueAccess::make(std::move(state), std::move(lock), capacity, item_size);
}

bool QueueCore::remove_named(std::string_view name) {
  const std::string lock_name = data_lock_name(name);
  const bool existed = remove_wait_name(name);
  InterprocessMutex::remove_named(lock_name);
  return existed;
}

QueueCore attach_queue(WaitState state, InterprocessMutex lock, std::uint64_t item_size) {
  if (item_size == 0 || item_size > UINT32_MAX || !holds_items(state, static_cast<std::size_t>(item_size)))
    fail(errc::bad_handle_argument, "the segment handed over as a SharedQueue does not hold its items");
  const auto capacity = static_cast<std::size_t>(words_of<QueueWords>(state).capacity);
  return QueueAccess::make(std::move(state), std::move(lock), capacity, static_cast<std::size_t>(item_size));
}

void forget_queue(QueueCore& alias) noexcept {
  WaitAccess::forget(alias);
  MutexAccess::forget(QueueAccess::lock(alias));
}

bool QueueCore::push(const void* item, std::chrono::milliseconds timeout) {
  QueueWords& w = QueueAccess::words(*this);
  const auto deadline = deadline_after(timeout);
  for (;;) {
    if (!lock_before(lock_, deadline)) return false;
    std::unique_lock<InterprocessMutex> hold(lock_, std::adopt_lock);
    if (w.closed.load(std::memory_order_relaxed) != 0) fail(errc::closed, "SharedQueue::push: the queue is closed");
    const std::uint64_t tail = w.tail.load(std::memory_order_relaxed);
    if (tail - w.head.load(std::memory_order_relaxed) < capacity_) {
      std::memcpy(slot(*this, w, tail), item, item_size_);
      w.tail.store(tail + 1, std::memory_order_release);
      w.not_empty.value.fetch_add(1, std::memory_order_seq_cst);
      hold.unlock();
      wake_claiming(w.not_empty, QueueAccess::companion(*this, not_empty_index));
      return true;
    }
    const std::uint32_t ticket = w.not_full.value.load(std::memory_order_seq_cst);
    hold.unlock();
    if (passed(deadline)) return false;
    await_change(w.not_full, QueueAccess::companion(*this, not_full_index), ticket, deadline);
  }
}

QueueCore::Popped QueueCore::pop(void* item, std::chrono::milliseconds timeout) {
  QueueWords& w = QueueAccess::words(*this);
  const auto deadline = deadline_after(timeout);
  for (;;) {
    if (!lock_before(lock_, deadline)) return Popped::timeout;
    std::unique_lock<InterprocessMutex> hold(lock_, std::adopt_lock);
    const std::uint64_t head = w.head.load(std::memory_order_relaxed);
    if (w.tail.load(std::memory_order_relaxed) != head) {
      std::memcpy(item, slot(*this, w, head), item_size_);
      w.head.store(head + 1, std::memory_order_release);
      w.not_full.value.fetch_add(1, std::memory_order_seq_cst);
      hold.unlock();
      wake_claiming(w.not_full, QueueAccess::companion(*this, not_full_index));
      return Popped::item;
    }
    if (w.closed.load(std::memory_order_relaxed) != 0) return Popped::closed;
    const std::uint32_t ticket = w.not_empty.value.load(std::memory_order_seq_cst);
    hold.unlock();
    if (passed(deadline)) return Popped::timeout;
    await_change(w.not_empty, QueueAccess::companion(*this, not_empty_index), ticket, deadline);
  }
}

void QueueCore::close() {
  QueueWords& w = QueueAccess::words(*this);
  lock_before(lock_, std::nullopt);
  std::unique_lock<InterprocessMutex> hold(lock_, std::adopt_lock);
  w.closed.store(1, std::memory_order_release);
  w.not_empty.value.fetch_add(1, std::memory_order_seq_cst);
  w.not_full.value.fetch_add(1, std::memory_order_seq_cst);
  hold.unlock();
  wake_claiming(w.not_empty, QueueAccess::companion(*this, not_empty_index));
  wake_claiming(w.not_full, QueueAccess::companion(*this, not_full_index));
}

bool QueueCore::is_closed() const { return QueueAccess::words(*this).closed.load(std::memory_order_acquire) != 0; }

std::size_t QueueCore::size() const {
  const QueueWords& w = QueueAccess::words(*this);
  const std::uint64_t head = w.head.load(std::memory_order_acquire);
  return static_cast<std::size_t>(w.tail.load(std::memory_order_acquire) - head);
}

std::size_t QueueCore::capacity() const { return capacity_; }

}  // namespace interproc::detail

// ---- for interproc::wait (common/wait_many.hpp) ----

namespace interproc::detail {

bool queue_ready(const QueueCore& core) noexcept {
  const QueueWords& w = QueueAccess::words(core);
  return w.tail.load(std::memory_order_acquire) != w.head.load(std::memory_order_acquire) ||
         w.closed.load(std::memory_order_acquire) != 0;
}

void sleep_on_queue(const QueueCore& core, std::optional<Clock::time_point> deadline) {
  QueueWords& w = QueueAccess::words(core);
  // The ticket first, then the look: a push after the look bumps the word past the ticket.
  const std::uint32_t ticket = w.not_empty.value.load(std::memory_order_seq_cst);
  if (queue_ready(core)) return;
  wait_claimable(w.not_empty, QueueAccess::companion(core, not_empty_index), ticket, deadline);
}

}  // namespace interproc::detail
