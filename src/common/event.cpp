// SPDX-License-Identifier: MIT
// InterprocessEvent: one wait word, 0 (clear) or 1 (set).

#include <interproc/event.hpp>

#include "common/name_rules.hpp"
#include "common/waiting.hpp"

namespace interproc {
namespace detail {
namespace {

struct EventWords {
  ObjectHeader header;
  WaitWord state;
};
EventWords& words(const InterprocessEvent& e) { return words_of<EventWords>(WaitAccess::state(e)); }
native_handle companion(const InterprocessEvent& e) { return companion_of(WaitAccess::state(e), 0); }

InterprocessEvent make_event(const std::string* name) {
  WaitState state = create_wait_state(event_layout, name);
  publish(state, event_layout);
  return WaitAccess::make<InterprocessEvent>(std::move(state));
}

}  // namespace

const WaitLayout event_layout{0x54564549, sizeof(EventWords), 1, "InterprocessEvent"};  // "IEVT"

}  // namespace detail

using detail::WaitAccess;

InterprocessEvent InterprocessEvent::create() { return detail::make_event(nullptr); }

InterprocessEvent InterprocessEvent::create_named(std::string_view name) {
  detail::check_segment_name(name);
  const std::string text(name);
  return detail::make_event(&text);
}

InterprocessEvent InterprocessEvent::open_named(std::string_view name) {
  return WaitAccess::make<InterprocessEvent>(detail::open_wait_state(detail::event_layout, name));
}

bool InterprocessEvent::remove_named(std::string_view name) { return detail::remove_wait_name(name); }

void InterprocessEvent::set() {
  detail::EventWords& w = detail::words(*this);
  if (w.state.value.exchange(1, std::memory_order_seq_cst) == 0)
    detail::wake(w.state, detail::companion(*this), detail::wake_all);
}

void InterprocessEvent::clear() { detail::words(*this).state.value.store(0, std::memory_order_seq_cst); }

bool InterprocessEvent::is_set() const { return detail::words(*this).state.value.load(std::memory_order_acquire) != 0; }

void InterprocessEvent::wait() { wait_for(std::chrono::milliseconds::max()); }

bool InterprocessEvent::wait_for(std::chrono::milliseconds timeout) {
  detail::EventWords& w = detail::words(*this);
  const auto deadline = detail::deadline_after(timeout);
  while (w.state.value.load(std::memory_order_acquire) == 0) {
    if (deadline && detail::Clock::now() >= *deadline) return false;
    detail::wait_on(w.state, detail::companion(*this), 0, deadline);
  }
  return true;
}

}  // namespace interproc
