// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// The untyped core of SharedQueue<T> for types the codec encodes (strings, vectors, pairs)
/// and of JoinableQueue<T>: a ring of `capacity` slots, each holding one encoded item of at
/// most `max_item_bytes` bytes (an implementation detail).
#include <interproc/export.hpp>
#include <interproc/interprocess_mutex.hpp>
#include <interproc/name_lifetime.hpp>
#include <interproc/waiting_object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace interproc::detail {
struct RecordQueueAccess;
struct SharedDataAccess;

class INTERPROC_EXPORT RecordQueueCore : public WaitingObject {
 public:
  enum class Popped { item, timeout, closed };
  // Whether the queue counts its items' task_done() calls (JoinableQueue).
  enum class Flavor : std::uint32_t { plain = 0, joinable = 1 };

  static RecordQueueCore create(std::size_t capacity, std::size_t max_item_bytes, std::uint64_t fingerprint,
                                Flavor flavor);
  static RecordQueueCore create_named(std::string_view name, std::size_t capacity, std::size_t max_item_bytes,
                                      std::uint64_t fingerprint, Flavor flavor,
                                      NameLifetime lifetime = NameLifetime::persistent);
  static RecordQueueCore open_named(std::string_view name, std::uint64_t fingerprint, Flavor flavor);
  static bool remove_named(std::string_view name);

  // Adds the `size` bytes at `bytes` as one item; false when `timeout` passed with the queue
  // full. errc::message_too_large over max_item_bytes(), errc::closed once closed.
  bool push(const void* bytes, std::size_t size, std::chrono::milliseconds timeout);
  // The oldest item's bytes into `out`. errc::invalid_message for an item whose recorded
  // length is impossible (the item is taken out of the queue, so the next pop goes on; in a
  // joinable queue it counts as done at once, since no caller holds it).
  Popped pop(std::string& out, std::chrono::milliseconds timeout);
  void close();
  bool is_closed() const;
  std::size_t size() const;
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t max_item_bytes() const noexcept { return max_item_bytes_; }

  // JoinableQueue: one item this process popped is done (errc::invalid_argument if it holds
  // none); join waits until every item pushed is done (false on timeout), and throws
  // errc::unfinished_tasks once a process that popped items and did not finish them is dead.
  void task_done();
  bool join(std::chrono::milliseconds timeout);
  std::size_t unfinished() const;

 private:
  friend struct RecordQueueAccess;
  friend struct SharedDataAccess;
  RecordQueueCore(WaitState* state, InterprocessMutex lock, std::size_t capacity, std::size_t max_item_bytes,
                  bool joinable) noexcept
      : WaitingObject(state), lock_(std::move(lock)), capacity_(capacity), max_item_bytes_(max_item_bytes),
        joinable_(joinable) {}

  InterprocessMutex lock_;  // guards the ring and the task counts
  // Checked once and kept here: what another process writes into the shared header later
  // can never make this one copy outside a slot.
  std::size_t capacity_;
  std::size_t max_item_bytes_;
  bool joinable_;
};

}  // namespace interproc::detail
