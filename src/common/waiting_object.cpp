// SPDX-License-Identifier: MIT
// The waiting objects' common state: made, opened by name and received by a child the same
// way for every kind (common/waiting.hpp).

#include "common/waiting.hpp"

#include <interproc/shared_value.hpp>

#include "common/fail.hpp"
#include "common/name_rules.hpp"

#include <cstring>

namespace interproc::detail {
namespace {

std::uint32_t magic_of(const SharedSegment& words) noexcept {
  return std::launder(reinterpret_cast<ObjectHeader*>(words.bytes().data()))->magic.load(std::memory_order_acquire);
}

}  // namespace

WaitState create_wait_state(const WaitLayout& layout, const std::string* name) {
  WaitState state;
  state.words = name != nullptr
                    ? create_tagged_segment(*name, layout.size, segment_tag(SegmentKind::waiting, layout.magic))
                    : create_words_segment(layout.size);
  for (std::size_t i = 0; i < companions_for(layout.wait_words); ++i)
    state.companions.push_back(create_companion(name, static_cast<int>(i)));
  return state;
}

LockedWaitState create_locked_wait_state(const WaitLayout& layout, const std::string* name) {
  const std::string lock_name = name != nullptr ? data_lock_name(*name) : std::string();
  InterprocessMutex lock = name != nullptr ? InterprocessMutex::create_named(lock_name) : InterprocessMutex::create();
  try {
    return LockedWaitState{std::move(lock), create_wait_state(layout, name)};
  } catch (...) {
    if (name != nullptr) InterprocessMutex::remove_named(lock_name);  // leave no half-made queue behind
    throw;
  }
}

void publish(WaitState& state, const WaitLayout& layout) noexcept {
  std::launder(reinterpret_cast<ObjectHeader*>(state.words.bytes().data()))
      ->magic.store(layout.magic, std::memory_order_release);
}

WaitState open_wait_state(const WaitLayout& layout, std::string_view name) {
  WaitState state;
  std::uint64_t tag = 0;
  state.words = open_tagged_segment(name, tag);
  const std::string shown = std::string(layout.name) + "::open_named(\"" + std::string(name) + "\")";
  // Another kind's name (a value, a mutex, an event opened as a queue) is foreign here.
  if (tag != segment_tag(SegmentKind::waiting, layout.magic) || state.words.size() < sizeof(ObjectHeader) ||
      (layout.size != 0 && state.words.size() != layout.size))
    fail(errc::foreign_object, shown + ": not an " + layout.name);
  const std::uint32_t magic = magic_of(state.words);
  if (magic == 0) fail(errc::not_ready, shown + ": its creator has not finished making it");
  if (magic != layout.magic) fail(errc::foreign_object, shown + ": not an " + layout.name);
  for (std::size_t i = 0; i < companions_for(layout.wait_words); ++i)
    state.companions.push_back(open_companion(std::string(name), static_cast<int>(i)));
  return state;
}

WaitState attach_wait_state(const WaitLayout& layout, SharedSegment words,
                            const std::vector<native_handle>& companions) {
  if (words.size() < sizeof(ObjectHeader) || (layout.size != 0 && words.size() != layout.size) ||
      magic_of(words) != layout.magic)
    fail(errc::bad_handle_argument, std::string("the segment handed over as an ") + layout.name + " is not one");
  return WaitState{std::move(words), adopt_companions(companions, companions_for(layout.wait_words))};
}

const WaitLayout* wait_layout(ObjectKind kind) noexcept {
  switch (kind) {
    case ObjectKind::event: return &event_layout;
    case ObjectKind::semaphore: return &semaphore_layout;
    case ObjectKind::condition: return &condition_layout;
    case ObjectKind::queue: return &queue_layout;
    case ObjectKind::joinable_queue:
    case ObjectKind::codec_queue: return &record_queue_layout;
    case ObjectKind::barrier: return &barrier_layout;
    default: return nullptr;
  }
}

bool remove_wait_name(std::string_view name) { return SharedSegment::remove_named(name); }

WaitingObject::WaitingObject(WaitingObject&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}

WaitingObject& WaitingObject::operator=(WaitingObject&& other) noexcept {
  if (this != &other) delete std::exchange(state_, std::exchange(other.state_, nullptr));
  return *this;
}

WaitingObject::~WaitingObject() { delete state_; }

}  // namespace interproc::detail
