// SPDX-License-Identifier: MIT
#pragma once
// A worker slot's inbox (parent to worker) or outbox (worker to parent), one payload at a
// time. It starts as the segment the worker is given (generation 0). A payload that does not
// fit makes the sender grow it: a named segment of the next generation, at least twice as
// large, which the sender keeps while it is current; the receiver opens it the first time an
// item names it, then removes the name (POSIX; Windows removes a section with its last
// handle). So growth costs one segment per doubling, not one per payload.
#include <interproc/shared_segment.hpp>

#include "common/pool_wire.hpp"

#include <gsl/span>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace interproc::detail {

// `base` names a slot's arena of one direction (arena_base), generations are appended.
std::string arena_base(const std::string& nonce, std::size_t slot, char direction);

class ArenaWriter {
 public:
  ArenaWriter(SharedSegment& first, std::string base) : first_(&first), base_(std::move(base)) {}

  // The current generation's memory, whatever is in it.
  gsl::span<std::byte> memory() const noexcept { return current().bytes(); }
  // At least `size` bytes, growing into a new generation when the current one is smaller.
  gsl::span<std::byte> room(std::size_t size);
  PayloadPlace place(std::size_t size) const noexcept { return {size, 1, generation_}; }
  // Back to generation 0, for a new receiver: removes the current name, which a receiver
  // that died may not have opened.
  void restart() noexcept;

 private:
  SharedSegment& current() const noexcept { return generation_ == 0 ? *first_ : grown_; }

  SharedSegment* first_;
  mutable SharedSegment grown_;
  std::string base_;
  std::uint32_t generation_ = 0;
};

class ArenaReader {
 public:
  ArenaReader(SharedSegment& first, std::string base) : first_(&first), base_(std::move(base)) {}

  // The payload at `place`, opening its generation first if it is new; errc::invalid_message
  // for a place outside it.
  std::string_view view(const PayloadPlace& place);
  // Back to generation 0, for a new sender: removes the name of the next generation, which a
  // sender that died may have made without telling.
  void restart() noexcept;

 private:
  SharedSegment* first_;
  SharedSegment opened_;
  std::string base_;
  std::uint32_t generation_ = 0;
};

// Puts `bytes` into `item`, or into `arena` when they do not fit, and says where.
template <class Item>
void put_payload(Item& item, ArenaWriter& arena, std::string_view bytes) {
  if (bytes.size() <= payload_bytes) {
    if (!bytes.empty()) std::memcpy(item.data, bytes.data(), bytes.size());
    item.payload = PayloadPlace{bytes.size(), 0, 0};
    return;
  }
  std::memcpy(arena.room(bytes.size()).data(), bytes.data(), bytes.size());
  item.payload = arena.place(bytes.size());
}

// The payload of `item`, read in place: valid until the sender's next payload.
template <class Item>
std::string_view payload_view(const Item& item, ArenaReader& arena) {
  if (item.payload.in_arena != 0) return arena.view(item.payload);
  return std::string_view(item.data,
                          static_cast<std::size_t>(std::min<std::uint64_t>(item.payload.size, payload_bytes)));
}

}  // namespace interproc::detail
