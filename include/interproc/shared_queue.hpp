// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// SharedQueue: a bounded multi-producer, multi-consumer queue between processes, like
/// Python's multiprocessing.Queue, of trivially copyable items.
#include <interproc/export.hpp>
#include <interproc/interprocess_mutex.hpp>
#include <interproc/open_or_create.hpp>
#include <interproc/timeouts.hpp>
#include <interproc/type_fingerprint.hpp>
#include <interproc/waiting_object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace interproc {

namespace detail {
struct QueueAccess;
struct SharedDataAccess;

// The queue without its item type: items are copied as item_size bytes.
class INTERPROC_EXPORT QueueCore : public WaitingObject {
 public:
  enum class Popped { item, timeout, closed };

  static QueueCore create(std::size_t capacity, std::size_t item_size, std::uint64_t fingerprint);
  static QueueCore create_named(std::string_view name, std::size_t capacity, std::size_t item_size,
                                std::uint64_t fingerprint);
  static QueueCore open_named(std::string_view name, std::size_t item_size, std::uint64_t fingerprint);
  static bool remove_named(std::string_view name);

  // False when `timeout` passed with the queue full; errc::closed once closed.
  bool push(const void* item, std::chrono::milliseconds timeout);
  Popped pop(void* item, std::chrono::milliseconds timeout);
  void close();
  bool is_closed() const;
  std::size_t size() const;
  std::size_t capacity() const;

 private:
  friend struct QueueAccess;
  friend struct SharedDataAccess;
  QueueCore(WaitState* state, InterprocessMutex lock, std::size_t capacity, std::size_t item_size) noexcept
      : WaitingObject(state), lock_(std::move(lock)), capacity_(capacity), item_size_(item_size) {}

  InterprocessMutex lock_;  // guards the ring; the words waiters sleep on are in the state
  // Checked once and kept here: what another process writes into the shared header later
  // can never make this one copy outside the ring or the caller's item.
  std::size_t capacity_;
  std::size_t item_size_;
};
}  // namespace detail

/// A bounded queue of T shared by processes: any number of processes push and pop.
/// T must be trivially copyable: items are copied as bytes. Crash behaviour: an item is in
/// the queue whole or not at all; a producer killed during push() leaves it out, a consumer
/// killed during pop() leaves it in, and nobody waits for a process that died. Move-only.
/// Pass it to a child with spawn_child, or share it by name.
template <class T>
class SharedQueue {
  static_assert(std::is_trivially_copyable_v<T>, "SharedQueue<T> needs a trivially copyable T");

 public:
  /// An empty queue with room for `capacity` items. Throws errc::invalid_size for 0 or a
  /// size no address space holds.
  static SharedQueue create(std::size_t capacity) {
    return SharedQueue(detail::QueueCore::create(capacity, sizeof(T), detail::type_fingerprint<T>()));
  }
  /// An empty queue under `name` (the rules of InterprocessMutex::create_named: at most 25
  /// characters, since its lock is named `name.lock`).
  static SharedQueue create_named(std::string_view name, std::size_t capacity) {
    return SharedQueue(detail::QueueCore::create_named(name, capacity, sizeof(T), detail::type_fingerprint<T>()));
  }
  /// The queue `name`; errc::wrong_object_kind if its items are not T (another type, even of
  /// the same size), errc::foreign_object if the name is another kind's (a value, an event).
  static SharedQueue open_named(std::string_view name) {
    return SharedQueue(detail::QueueCore::open_named(name, sizeof(T), detail::type_fingerprint<T>()));
  }
  /// The queue `name`, made empty with room for `capacity` items if there is none (see
  /// SharedSegment::open_or_create; a queue found keeps its own capacity()).
  static SharedQueue open_or_create(std::string_view name, std::size_t capacity) {
    return detail::open_or_create_named([&] { return create_named(name, capacity); }, [&] { return open_named(name); });
  }
  /// Removes the queue's names; true if there was one.
  static bool remove_named(std::string_view name) { return detail::QueueCore::remove_named(name); }

  /// Adds `item`, waiting while the queue is full. Throws errc::closed once closed.
  void push(const T& item) { core_.push(&item, std::chrono::milliseconds::max()); }
  /// Adds `item` if there is room now.
  bool try_push(const T& item) { return core_.push(&item, std::chrono::milliseconds(0)); }
  /// Adds `item` if there is room within `timeout`.
  template <class Rep, class Period>
  bool push_for(const T& item, std::chrono::duration<Rep, Period> timeout) {
    return core_.push(&item, detail::saturated_milliseconds(timeout));
  }
  /// Adds `item` if there is room before `deadline`, on the deadline's own clock.
  template <class Clock, class Duration>
  bool push_until(const T& item, const std::chrono::time_point<Clock, Duration>& deadline) {
    return detail::retry_until(deadline, [&](std::chrono::milliseconds left) { return core_.push(&item, left); });
  }

  /// The oldest item, waiting while the queue is empty; std::nullopt once it is closed and
  /// drained.
  std::optional<T> pop() { return pop_within(std::chrono::milliseconds::max()); }
  /// The oldest item if there is one now.
  std::optional<T> try_pop() { return pop_within(std::chrono::milliseconds(0)); }
  /// The oldest item if one comes within `timeout`.
  template <class Rep, class Period>
  std::optional<T> pop_for(std::chrono::duration<Rep, Period> timeout) {
    return pop_within(detail::saturated_milliseconds(timeout));
  }
  /// The oldest item if one comes before `deadline`, on the deadline's own clock.
  template <class Clock, class Duration>
  std::optional<T> pop_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    std::optional<T> item;
    detail::retry_until(deadline,
                        [&](std::chrono::milliseconds left) { return (item = pop_within(left)).has_value(); });
    return item;
  }

  /// Closes the queue: push() throws errc::closed from now on, pop() drains what is left,
  /// then returns std::nullopt; every waiter wakes.
  void close() { core_.close(); }
  /// Whether close() was called.
  bool closed() const { return core_.is_closed(); }
  /// The number of items now (it may change at once).
  std::size_t size() const { return core_.size(); }
  /// How many items fit.
  std::size_t capacity() const { return core_.capacity(); }

 private:
  friend struct detail::SharedDataAccess;
  explicit SharedQueue(detail::QueueCore core) : core_(std::move(core)) {}

  std::optional<T> pop_within(std::chrono::milliseconds timeout) {
    alignas(T) unsigned char bytes[sizeof(T)];  // T need not be default-constructible
    if (core_.pop(bytes, timeout) != detail::QueueCore::Popped::item) return std::nullopt;
    return *std::launder(reinterpret_cast<T*>(bytes));
  }

  detail::QueueCore core_;
};

}  // namespace interproc
