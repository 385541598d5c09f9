// SPDX-License-Identifier: MIT
// InterprocessCondition: one wait word counting notifications. A waiter reads the count
// under the caller's lock, releases the lock and sleeps while the count is unchanged, so a
// notification after the waiter checked its predicate is never lost; the mutex's address
// is never stored, unlike a process-shared pthread_cond on macOS, which needs the mutex at
// one address in every process.

#include <interproc/condition.hpp>

#include "common/waiting.hpp"

namespace interproc {
namespace detail {
namespace {


void notify(const InterprocessCondition& c, std::uint32_t count) {
  WaitWord& word = one_word(c);
  word.value.fetch_add(1, std::memory_order_seq_cst);
  wake(word, one_companion(c), count);
}

}  // namespace

const WaitLayout condition_layout{0x444e4349, sizeof(OneWord), 1, "InterprocessCondition"};  // "ICND"

}  // namespace detail

using detail::WaitAccess;

InterprocessCondition InterprocessCondition::create() {
  return detail::make_waiting<InterprocessCondition>(detail::condition_layout, std::nullopt, [](detail::WaitState&) {});
}

InterprocessCondition InterprocessCondition::create_named(std::string_view name) {
  return detail::make_waiting<InterprocessCondition>(detail::condition_layout, name, [](detail::WaitState&) {});
}

InterprocessCondition InterprocessCondition::open_named(std::string_view name) {
  return WaitAccess::make<InterprocessCondition>(detail::open_wait_state(detail::condition_layout, name));
}

bool InterprocessCondition::remove_named(std::string_view name) { return detail::remove_wait_name(name); }

void InterprocessCondition::notify_one() { detail::notify(*this, 1); }

void InterprocessCondition::notify_all() { detail::notify(*this, detail::wake_all); }

std::uint32_t InterprocessCondition::take_ticket() const {
  return detail::one_word(*this).value.load(std::memory_order_seq_cst);
}

bool InterprocessCondition::sleep_on_ticket(std::uint32_t ticket, std::chrono::milliseconds timeout) {
  detail::WaitWord& word = detail::one_word(*this);
  const auto deadline = detail::deadline_after(timeout);
  while (word.value.load(std::memory_order_seq_cst) == ticket) {
    if (deadline && detail::Clock::now() >= *deadline) return false;
    detail::wait_on(word, detail::one_companion(*this), ticket, deadline);
  }
  return true;
}

}  // namespace interproc
