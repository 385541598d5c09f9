// SPDX-License-Identifier: MIT
#pragma once
// What the waiting objects (event, semaphore, condition, queue) share: how their state is
// made, opened by name, received by a child, and reached from the public classes.

#include "common/name_rules.hpp"
#include "common/wait_backend.hpp"

#include <interproc/record_queue.hpp>
#include <interproc/barrier.hpp>
#include <interproc/shared_queue.hpp>
#include <interproc/spawn.hpp>
#include <interproc/waiting_object.hpp>

#include <gsl/assert>

#include <atomic>
#include <cstdint>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace interproc::detail {

// The first word of every waiting object's shared memory: its kind's magic, written last by
// the creator, so that an opener never sees a half-made object.
struct ObjectHeader {
  std::atomic<std::uint32_t> magic;
};

// What a kind of waiting object is: its magic, the size of its shared words (which start
// with an ObjectHeader; 0 where the size varies and the kind checks it) and how many
// WaitWords it has.
struct WaitLayout {
  std::uint32_t magic;
  std::size_t size;
  std::size_t wait_words;
  const char* name;
};

// Each kind's layout, defined next to the kind; wait_layout() finds one by ObjectKind.
extern const WaitLayout event_layout;
extern const WaitLayout semaphore_layout;
extern const WaitLayout condition_layout;
extern const WaitLayout queue_layout;
extern const WaitLayout record_queue_layout;  // SharedQueue of encoded items, JoinableQueue
extern const WaitLayout barrier_layout;
const WaitLayout* wait_layout(ObjectKind kind) noexcept;

// Companion `index` of `state`, or invalid_handle on backends without companions.
inline native_handle companion_of(const WaitState& state, std::size_t index) noexcept {
  return index < state.companions.size() ? state.companions[index].get() : invalid_handle;
}

// A new object: `layout.size` zeroed bytes, named when `name` is given, with a companion per
// wait word. The caller sets the words up, then calls publish().
WaitState create_wait_state(const WaitLayout& layout, const std::string* name);
void publish(WaitState& state, const WaitLayout& layout) noexcept;
// A queue's two halves: its lock (named `<name>.lock` when `name` is given) and its wait
// state, as create_wait_state makes it; a failure leaves neither name behind.
struct LockedWaitState {
  InterprocessMutex lock;
  WaitState state;
};
LockedWaitState create_locked_wait_state(const WaitLayout& layout, const std::string* name);
// The named object `name`: errc::not_ready before its creator published it,
// errc::foreign_object when it is not of this layout.
WaitState open_wait_state(const WaitLayout& layout, std::string_view name);
// An object received from a parent: errc::bad_handle_argument unless `words` and the
// companions are what `layout` says.
WaitState attach_wait_state(const WaitLayout& layout, SharedSegment words,
                            const std::vector<native_handle>& companions);
// Removes a waiting object's name (its segment's; Windows companions go with their last handle).
bool remove_wait_name(std::string_view name);

template <class Words>
Words& words_of(const WaitState& state) noexcept {
  return *std::launder(reinterpret_cast<Words*>(state.words.bytes().data()));
}

struct WaitAccess {
  static WaitState& state(const WaitingObject& object) noexcept {
    Expects(object.state_ != nullptr);  // a moved-from object
    return *object.state_;
  }
  static bool has_state(const WaitingObject& object) noexcept { return object.state_ != nullptr; }
  template <class Object>
  static Object make(WaitState state) {
    return Object(new WaitState(std::move(state)));
  }
  // The handles of an object, its words' segment first, then its companions.
  static std::vector<native_handle> handles(const WaitingObject& object) {
    std::vector<native_handle> all{SegmentAccess::handle(state(object).words)};
    for (const ScopedHandle& companion : state(object).companions) all.push_back(companion.get());
    return all;
  }
  // As MutexAccess::forget, for a fork child that borrowed the object.
  static void forget(WaitingObject& alias) noexcept {
    if (alias.state_ == nullptr) return;  // moved into a typed object
    SegmentAccess::forget(alias.state_->words);
    for (ScopedHandle& companion : alias.state_->companions) (void)companion.release();
  }
};

// The shared words of the kinds with one wait word: event (0 clear, 1 set), semaphore (the
// count), condition (the notification count).
struct OneWord {
  ObjectHeader header;
  WaitWord word;
};
inline WaitWord& one_word(const WaitingObject& object) { return words_of<OneWord>(WaitAccess::state(object)).word; }
inline native_handle one_companion(const WaitingObject& object) { return companion_of(WaitAccess::state(object), 0); }

// A new object of `Object`, named when `name` is given: made, set up by init(state), then
// published.
template <class Object, class Init>
Object make_waiting(const WaitLayout& layout, std::optional<std::string_view> name, Init init) {
  std::string text;
  if (name) {
    check_segment_name(*name, layout.name);
    text = std::string(*name);
  }
  WaitState state = create_wait_state(layout, name ? &text : nullptr);
  init(state);
  publish(state, layout);
  return WaitAccess::make<Object>(std::move(state));
}

// A child's barrier counts its process as a holder while the entry runs (common/barrier.cpp).
void enlist_barrier(InterprocessBarrier& barrier);
void let_go_barrier(InterprocessBarrier& barrier) noexcept;

// A queue from parts received from a parent (or borrowed by a fork child): throws
// errc::bad_handle_argument unless its ring holds items of `item_size` bytes.
QueueCore attach_queue(WaitState state, InterprocessMutex lock, std::uint64_t item_size);
// A fork child's borrowed queue lets go of its parts without closing or unmapping them.
void forget_queue(QueueCore& alias) noexcept;
// The same for a queue of encoded items (common/record_queue.cpp), whose slots the parent
// said are `slot_bytes` long.
RecordQueueCore attach_record_queue(WaitState state, InterprocessMutex lock, std::uint64_t slot_bytes, bool joinable);
void forget_record_queue(RecordQueueCore& alias) noexcept;

}  // namespace interproc::detail
