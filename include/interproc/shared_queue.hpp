// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// SharedQueue: a bounded multi-producer, multi-consumer queue between processes, like
/// Python's multiprocessing.Queue, of trivially copyable items or of any type the codec
/// encodes (include/interproc/codec.hpp).
#include <interproc/codec.hpp>
#include <interproc/export.hpp>
#include <interproc/interprocess_mutex.hpp>
#include <interproc/record_queue.hpp>
#include <interproc/open_or_create.hpp>
#include <interproc/timeouts.hpp>
#include <interproc/type_fingerprint.hpp>
#include <interproc/waiting_object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <string>
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
                                std::uint64_t fingerprint, NameLifetime lifetime = NameLifetime::persistent);
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

/// The largest encoded item a SharedQueue of a codec type created without a maximum holds.
inline constexpr std::size_t default_max_item_bytes = std::size_t{64} * 1024;

/// A bounded queue of T shared by processes: any number of processes push and pop.
/// Two kinds, chosen by T (one class template):
/// - a trivially copyable T: items are copied as sizeof(T) bytes into fixed slots;
/// - any other type the codec encodes (std::string, std::vector, std::pair, a
///   codec<T> specialization...): items travel encoded, each of at most the maximum the
///   queue was created with (create(capacity, max_item_bytes)); a larger one is refused with
///   errc::message_too_large, never truncated. The queue's segment carries T's fingerprint:
///   opened by name or received by a child as another type, it is errc::wrong_object_kind.
///   Its slots take capacity * (max_item_bytes + 8) bytes of shared memory (address space;
///   the OS backs only what items touch on Linux and macOS; Windows commits it all).
/// Bounded, both: push() waits while `capacity` items are queued (Python's Queue(maxsize));
/// see the README for the capacity rule of Python's unbounded Queue().
/// Crash behaviour: an item is in the queue whole or not at all; a producer killed during
/// push() leaves it out, a consumer killed during pop() leaves it in (a fixed-slot queue:
/// or the reverse, once the item is committed and only the wake-up is left), and nobody
/// waits for a process that died. Move-only. Pass it to a child with spawn_child, or share it by name.
template <class T>
class SharedQueue {
  static constexpr bool fixed = std::is_trivially_copyable_v<T>;
  static_assert(fixed || is_encodable_v<T>,
                "SharedQueue<T> needs a trivially copyable T or one the codec encodes (include/interproc/codec.hpp)");
  using Core = std::conditional_t<fixed, detail::QueueCore, detail::RecordQueueCore>;

 public:
  /// An empty queue with room for `capacity` items (of a codec type: of up to
  /// default_max_item_bytes encoded bytes each). Throws errc::invalid_size for 0 or a size no
  /// address space holds.
  static SharedQueue create(std::size_t capacity) {
    if constexpr (fixed) {
      return SharedQueue(detail::QueueCore::create(capacity, sizeof(T), detail::type_fingerprint<T>()));
    } else {
      return create(capacity, default_max_item_bytes);
    }
  }
  /// An empty queue of a codec type with room for `capacity` items of up to
  /// `max_item_bytes` encoded bytes each (a std::string of n characters encodes to n + 8).
  static SharedQueue create(std::size_t capacity, std::size_t max_item_bytes) {
    static_assert(!fixed, "a SharedQueue of a trivially copyable T holds items of sizeof(T): create(capacity)");
    return SharedQueue(detail::RecordQueueCore::create(capacity, max_item_bytes, detail::type_fingerprint<T>(),
                                                       detail::RecordQueueCore::Flavor::plain));
  }
  /// An empty queue under `name` (the rules of InterprocessMutex::create_named: at most 25
  /// characters, since its lock is named `name.lock`), with its `lifetime` (NameLifetime).
  static SharedQueue create_named(std::string_view name, std::size_t capacity,
                                  NameLifetime lifetime = NameLifetime::persistent) {
    if constexpr (fixed) {
      return SharedQueue(
          detail::QueueCore::create_named(name, capacity, sizeof(T), detail::type_fingerprint<T>(), lifetime));
    } else {
      return create_named(name, capacity, default_max_item_bytes, lifetime);
    }
  }
  /// A named queue of a codec type, of items of up to `max_item_bytes` encoded bytes.
  static SharedQueue create_named(std::string_view name, std::size_t capacity, std::size_t max_item_bytes,
                                  NameLifetime lifetime = NameLifetime::persistent) {
    static_assert(!fixed,
                  "a SharedQueue of a trivially copyable T holds items of sizeof(T): create_named(name, capacity)");
    return SharedQueue(detail::RecordQueueCore::create_named(name, capacity, max_item_bytes,
                                                             detail::type_fingerprint<T>(),
                                                             detail::RecordQueueCore::Flavor::plain, lifetime));
  }
  /// The queue `name`; errc::wrong_object_kind if its items are not T (another type, even of
  /// the same size), errc::foreign_object if the name is another kind's (a value, an event,
  /// a queue of trivially copyable items opened as one of a codec type or the other way).
  static SharedQueue open_named(std::string_view name) {
    if constexpr (fixed) {
      return SharedQueue(detail::QueueCore::open_named(name, sizeof(T), detail::type_fingerprint<T>()));
    } else {
      return SharedQueue(detail::RecordQueueCore::open_named(name, detail::type_fingerprint<T>(),
                                                             detail::RecordQueueCore::Flavor::plain));
    }
  }
  /// The queue `name`, made empty with room for `capacity` items if there is none (see
  /// SharedSegment::open_or_create; a queue found keeps its own capacity()).
  static SharedQueue open_or_create(std::string_view name, std::size_t capacity) {
    return detail::open_or_create_named([&] { return create_named(name, capacity); }, [&] { return open_named(name); });
  }
  /// Removes the queue's names; true if there was one.
  static bool remove_named(std::string_view name) { return Core::remove_named(name); }

  /// Adds `item`, waiting while the queue is full. Throws errc::closed once closed, and for
  /// a codec type errc::message_too_large for an item over the maximum.
  void push(const T& item) { push_within(item, std::chrono::milliseconds::max()); }
  /// Adds `item` if there is room now.
  bool try_push(const T& item) { return push_within(item, std::chrono::milliseconds(0)); }
  /// Adds `item` if there is room within `timeout`.
  template <class Rep, class Period>
  bool push_for(const T& item, std::chrono::duration<Rep, Period> timeout) {
    return push_within(item, detail::saturated_milliseconds(timeout));
  }
  /// Adds `item` if there is room before `deadline`, on the deadline's own clock.
  template <class Clock, class Duration>
  bool push_until(const T& item, const std::chrono::time_point<Clock, Duration>& deadline) {
    return detail::retry_until(deadline, [&](std::chrono::milliseconds left) { return push_within(item, left); });
  }

  /// The oldest item, waiting while the queue is empty; std::nullopt once it is closed and
  /// drained. A codec type's item whose bytes do not decode as T (forged in shared memory)
  /// throws errc::invalid_message, and is gone from the queue.
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
  /// The largest encoded item it takes (a trivially copyable T: sizeof(T)).
  std::size_t max_item_bytes() const {
    if constexpr (fixed) {
      return sizeof(T);
    } else {
      return core_.max_item_bytes();
    }
  }

 private:
  friend struct detail::SharedDataAccess;
  explicit SharedQueue(Core core) : core_(std::move(core)) {}

  bool push_within(const T& item, std::chrono::milliseconds timeout) {
    if constexpr (fixed) {
      return core_.push(&item, timeout);
    } else {
      thread_local std::string encoded;  // reused: most items need no allocation
      encoded.clear();
      interproc::encode(encoded, item);
      return core_.push(encoded.data(), encoded.size(), timeout);
    }
  }

  std::optional<T> pop_within(std::chrono::milliseconds timeout) {
    if constexpr (fixed) {
      alignas(T) unsigned char bytes[sizeof(T)];  // T need not be default-constructible
      if (core_.pop(bytes, timeout) != detail::QueueCore::Popped::item) return std::nullopt;
      return *std::launder(reinterpret_cast<T*>(bytes));
    } else {
      thread_local std::string encoded;
      if (core_.pop(encoded, timeout) != detail::RecordQueueCore::Popped::item) return std::nullopt;
      return interproc::decode<T>(encoded);
    }
  }

  Core core_;
};

}  // namespace interproc
