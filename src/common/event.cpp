// SPDX-License-Identifier: MIT
// InterprocessEvent: one wait word, 0 (clear) or 1 (set).

#include <interproc/event.hpp>

#include "common/name_tracker.hpp"
#include "common/waiting.hpp"

#include <interproc/open_or_create.hpp>

namespace interproc {
namespace detail {
const WaitLayout event_layout{0x54564549, sizeof(OneWord), 1, "InterprocessEvent"};  // "IEVT"

}  // namespace detail

using detail::WaitAccess;

InterprocessEvent InterprocessEvent::create() {
  return detail::make_waiting<InterprocessEvent>(detail::event_layout, std::nullopt, [](detail::WaitState&) {});
}

InterprocessEvent InterprocessEvent::create_named(std::string_view name, NameLifetime lifetime) {
  auto event = detail::make_waiting<InterprocessEvent>(detail::event_layout, name, [](detail::WaitState&) {});
  detail::apply_lifetime(lifetime, {std::string(name)});
  return event;
}

InterprocessEvent InterprocessEvent::open_named(std::string_view name) {
  return WaitAccess::make<InterprocessEvent>(detail::open_wait_state(detail::event_layout, name));
}

InterprocessEvent InterprocessEvent::open_or_create(std::string_view name) {
  return detail::open_or_create_named([&] { return create_named(name); }, [&] { return open_named(name); });
}

bool InterprocessEvent::remove_named(std::string_view name) { return detail::remove_wait_name(name); }

void InterprocessEvent::set() {
  detail::WaitWord& word = detail::one_word(*this);
  word.value.exchange(1, std::memory_order_seq_cst);
  // Wakes even if it was set already: a setter that died before its wake left sleepers.
  detail::wake(word, detail::one_companion(*this), detail::wake_all);
}

void InterprocessEvent::clear() { detail::one_word(*this).value.store(0, std::memory_order_seq_cst); }

bool InterprocessEvent::is_set() const { return detail::one_word(*this).value.load(std::memory_order_acquire) != 0; }

void InterprocessEvent::wait() { wait_for(std::chrono::milliseconds::max()); }

bool InterprocessEvent::wait_for(std::chrono::milliseconds timeout) {
  detail::WaitWord& word = detail::one_word(*this);
  const auto deadline = detail::deadline_after(timeout);
  while (word.value.load(std::memory_order_acquire) == 0) {
    if (deadline && detail::Clock::now() >= *deadline) return false;
    detail::wait_on(word, detail::one_companion(*this), 0, deadline);
  }
  return true;
}

}  // namespace interproc
