// SPDX-License-Identifier: MIT
#include "common/pool_arena.hpp"

#include "common/fail.hpp"

#include <algorithm>
#include <cstdio>
#include <system_error>

namespace interproc::detail {
namespace {

std::string generation_name(const std::string& base, std::uint32_t generation) {
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%x", static_cast<unsigned>(generation));
  return base + suffix;
}

void remove_quietly(const std::string& name) noexcept {
  try {
    SharedSegment::remove_named(name);
  } catch (...) {  // nothing more to do for a name that cannot be removed
  }
}

}  // namespace

std::string arena_base(const std::string& nonce, std::size_t slot, char direction) {
  return "ip" + nonce + "." + std::to_string(slot) + direction;
}

gsl::span<std::byte> ArenaWriter::room(std::size_t size) {
  if (size > current().size()) {
    const std::size_t grown = std::max(size, 2 * current().size());
    // The receiver saw the current generation (it read every payload sent in it), so no name
    // of this arena is left but one a sender that died made: it is replaced.
    const std::string name = generation_name(base_, generation_ + 1);
    SharedSegment next;
    try {
      next = SharedSegment::create_named(name, grown);
    } catch (const std::system_error& e) {
      if (e.code() != std::errc::file_exists) throw;
      SharedSegment::remove_named(name);
      next = SharedSegment::create_named(name, grown);
    }
    grown_ = std::move(next);
    ++generation_;
  }
  return current().bytes().first(size);
}

void ArenaWriter::restart() noexcept {
  if (generation_ != 0) remove_quietly(generation_name(base_, generation_));
  grown_ = SharedSegment();
  generation_ = 0;
}

std::string_view ArenaReader::view(const PayloadPlace& place) {
  if (place.generation != generation_) {
    SharedSegment next;
    if (place.generation != 0) {
      const std::string name = generation_name(base_, place.generation);
      next = SharedSegment::open_named(name);
      SharedSegment::remove_named(name);
    }
    opened_ = std::move(next);
    generation_ = place.generation;
  }
  const SharedSegment& arena = generation_ == 0 ? *first_ : opened_;
  if (place.size > arena.size()) fail(errc::invalid_message, "ProcessPool: a payload larger than its arena");
  return std::string_view(reinterpret_cast<const char*>(arena.bytes().data()), static_cast<std::size_t>(place.size));
}

void ArenaReader::restart() noexcept {
  remove_quietly(generation_name(base_, generation_ + 1));
  opened_ = SharedSegment();
  generation_ = 0;
}

}  // namespace interproc::detail
