// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// JoinableQueue: Python's multiprocessing.JoinableQueue, a SharedQueue whose consumers mark
/// each item done, so that join() can wait until all the work is finished.
#include <interproc/codec.hpp>
#include <interproc/record_queue.hpp>
#include <interproc/shared_queue.hpp>
#include <interproc/timeouts.hpp>
#include <interproc/type_fingerprint.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace interproc {

/// A bounded queue of T (any type the codec encodes, trivially copyable ones included)
/// shared by processes, that counts unfinished tasks: every push() adds one, every
/// task_done() takes one away, and join() waits until none is left.
///
///     auto jq = interproc::JoinableQueue<long>::create(1024);
///     jq.push(1);  auto item = jq.pop();  jq.task_done();  jq.join();
///
/// A consumer that dies is not waited for: the queue records, per process, how many items it
/// popped and how many it marked done (a record keyed by its process id, in the queue's
/// shared memory). join() looks at those records at least every 100 ms, and once a process
/// that popped items it never marked done has ended, throws errc::unfinished_tasks saying
/// which process and how many; so does every later join(), since those tasks stay unfinished.
/// A consumer killed inside pop() itself may be reported so although its item stayed queued.
/// task_done() marks one item that *this process* popped: a process calls it at most as many
/// times as it popped items, or it throws errc::invalid_argument (Python: ValueError).
/// Crash behaviour and everything else as SharedQueue. Move-only.
template <class T>
class JoinableQueue {
  static_assert(is_encodable_v<T>, "JoinableQueue<T> needs a T the codec encodes (include/interproc/codec.hpp)");

 public:
  /// An empty queue with room for `capacity` items of up to `max_item_bytes` encoded bytes
  /// each (a trivially copyable T: sizeof(T)). Throws errc::invalid_size for 0.
  static JoinableQueue create(std::size_t capacity, std::size_t max_item_bytes = default_max_bytes()) {
    return JoinableQueue(detail::RecordQueueCore::create(capacity, max_item_bytes, detail::type_fingerprint<T>(),
                                                         detail::RecordQueueCore::Flavor::joinable));
  }
  /// An empty queue under `name` (at most 25 characters, as SharedQueue::create_named), with
  /// its `lifetime` (NameLifetime).
  static JoinableQueue create_named(std::string_view name, std::size_t capacity,
                                    std::size_t max_item_bytes = default_max_bytes(),
                                    NameLifetime lifetime = NameLifetime::persistent) {
    return JoinableQueue(detail::RecordQueueCore::create_named(name, capacity, max_item_bytes,
                                                               detail::type_fingerprint<T>(),
                                                               detail::RecordQueueCore::Flavor::joinable, lifetime));
  }
  /// The joinable queue `name`; errc::wrong_object_kind if its items are not T or it is a
  /// plain SharedQueue, errc::foreign_object for another kind's name.
  static JoinableQueue open_named(std::string_view name) {
    return JoinableQueue(detail::RecordQueueCore::open_named(name, detail::type_fingerprint<T>(),
                                                             detail::RecordQueueCore::Flavor::joinable));
  }
  /// Removes the queue's names; true if there was one.
  static bool remove_named(std::string_view name) { return detail::RecordQueueCore::remove_named(name); }

  /// Adds `item` and one unfinished task, waiting while the queue is full. Throws
  /// errc::closed once closed, errc::message_too_large for an item over the maximum.
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

  /// The oldest item, waiting while the queue is empty; std::nullopt once closed and drained.
  /// Each item popped is owed one task_done(). An item that does not decode as T (forged in
  /// shared memory) throws errc::invalid_message and counts as done: nobody holds it.
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

  /// One item this process popped is done. Throws errc::invalid_argument if this process
  /// holds none that is not marked done already.
  void task_done() { core_.task_done(); }
  /// Waits until every item ever pushed is marked done. Throws errc::unfinished_tasks once a
  /// process holding items not marked done has ended (see the class description).
  void join() { core_.join(std::chrono::milliseconds::max()); }
  /// join() for at most `timeout`: false if tasks are still unfinished then.
  template <class Rep, class Period>
  bool join_for(std::chrono::duration<Rep, Period> timeout) {
    return core_.join(detail::saturated_milliseconds(timeout));
  }
  /// The tasks pushed and not yet marked done (it may change at once).
  std::size_t unfinished_tasks() const { return core_.unfinished(); }

  /// As SharedQueue::close(): push() throws errc::closed, pop() drains then returns nullopt.
  void close() { core_.close(); }
  /// Whether close() was called.
  bool closed() const { return core_.is_closed(); }
  /// The number of items queued now.
  std::size_t size() const { return core_.size(); }
  /// How many items fit.
  std::size_t capacity() const { return core_.capacity(); }
  /// The largest encoded item it takes.
  std::size_t max_item_bytes() const { return core_.max_item_bytes(); }

 private:
  friend struct detail::SharedDataAccess;
  explicit JoinableQueue(detail::RecordQueueCore core) : core_(std::move(core)) {}

  static constexpr std::size_t default_max_bytes() {
    if constexpr (detail::is_raw_encodable_v<T>) {
      return sizeof(T);
    } else {
      return default_max_item_bytes;
    }
  }

  bool push_within(const T& item, std::chrono::milliseconds timeout) {
    thread_local std::string encoded;
    encoded.clear();
    interproc::encode(encoded, item);
    return core_.push(encoded.data(), encoded.size(), timeout);
  }

  std::optional<T> pop_within(std::chrono::milliseconds timeout) {
    thread_local std::string encoded;
    if (core_.pop(encoded, timeout) != detail::RecordQueueCore::Popped::item) return std::nullopt;
    try {
      return interproc::decode<T>(encoded);
    } catch (...) {
      core_.task_done();  // taken by this process, and no caller will ever hold it
      throw;
    }
  }

  detail::RecordQueueCore core_;
};

}  // namespace interproc
