// SPDX-License-Identifier: MIT
// Fuzzes what a consumer reads from a queue of encoded items: the input is written over the
// ring's slots of a SharedQueue<std::pair<std::string, long>> (lengths and bytes, as a broken
// or hostile process sharing the segment could write them), with the slots' count words set
// so that every slot is queued. Every pop must then give an item, or refuse with
// invalid_message or message_too_large: a crash, a sanitizer report or another error is a
// finding.
#include "common/waiting.hpp"

#include <interproc/interproc.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

namespace {

using Items = interproc::SharedQueue<std::pair<std::string, long>>;
constexpr std::size_t capacity = 4;
constexpr std::size_t max_item_bytes = 120;

// Pushes `capacity` items, so that head and tail say every slot is queued, then overwrites
// the slots (the last capacity * slot bytes of the segment) with `data`.
void fill(Items& q, const std::uint8_t* data, std::size_t size) {
  for (std::size_t i = 0; i < capacity; ++i) q.push({"x", static_cast<long>(i)});
  const gsl::span<std::byte> bytes =
      interproc::detail::WaitAccess::state(interproc::detail::SharedDataAccess::core(q)).words.bytes();
  const std::size_t slot = (8 + max_item_bytes + 7) / 8 * 8;
  std::byte* ring = bytes.data() + bytes.size() - capacity * slot;
  std::memcpy(ring, data, std::min(size, capacity * slot));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Items q = Items::create(capacity, max_item_bytes);
  fill(q, data, size);
  for (std::size_t i = 0; i < capacity; ++i) {
    try {
      if (!q.try_pop()) std::abort();  // every slot was queued
    } catch (const std::system_error& e) {
      if (e.code() != interproc::errc::invalid_message && e.code() != interproc::errc::message_too_large) std::abort();
    }
  }
  if (q.try_pop()) std::abort();
  return 0;
}
