// SPDX-License-Identifier: MIT
// InterprocessCondition: a wait word counting notifications, and a ticket word. A waiter
// registers under the caller's lock, releases the lock and sleeps while no ticket is there
// for it, so a notification after the waiter checked its predicate is never lost; the
// mutex's address is never stored, unlike a process-shared pthread_cond on macOS, which
// needs the mutex at one address in every process.
//
// notify(n) grants at most n tickets, never more than there are waiters without one, and a
// waiter returns only once it took a ticket (or timed out), so exactly as many return as
// were notified, whatever the wait below wakes: a back-off wakes every poller, a kernel
// wake may hit a waiter that has not slept yet. A waiter that died while registered keeps
// its place: a later notification may grant it a ticket that the next waiter then takes
// at once, a spurious wake-up bounded by the number of such deaths.

#include <interproc/condition.hpp>

#include "common/name_tracker.hpp"
#include "common/waiting.hpp"

#include <interproc/open_or_create.hpp>

#include <algorithm>

namespace interproc {
namespace detail {
namespace {

struct ConditionWords {
  ObjectHeader header;
  WaitWord notifications;
  // Bits 0-20: tickets granted and not yet taken (<= waiters); 21-41: registered waiters;
  // 42-63: the grant generation. One word, so registering reads the generation atomically.
  std::atomic<std::uint64_t> tickets;
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "the ticket word must be lock-free across processes");

constexpr unsigned waiter_shift = 21;
constexpr unsigned generation_shift = 42;
constexpr std::uint64_t field_mask = (std::uint64_t{1} << waiter_shift) - 1;
constexpr std::uint64_t one_waiter = std::uint64_t{1} << waiter_shift;
constexpr std::uint64_t one_generation = std::uint64_t{1} << generation_shift;
std::uint32_t granted_of(std::uint64_t t) noexcept { return static_cast<std::uint32_t>(t & field_mask); }
std::uint32_t waiters_of(std::uint64_t t) noexcept {
  return static_cast<std::uint32_t>((t >> waiter_shift) & field_mask);
}
std::uint32_t generation_of(std::uint64_t t) noexcept { return static_cast<std::uint32_t>(t >> generation_shift); }

ConditionWords& words(const InterprocessCondition& c) { return words_of<ConditionWords>(WaitAccess::state(c)); }

// Grants up to `count` tickets to waiters that have none, starting a new generation; how
// many it granted.
std::uint32_t grant(std::atomic<std::uint64_t>& tickets, std::uint32_t count) {
  std::uint64_t t = tickets.load(std::memory_order_seq_cst);
  for (;;) {
    const std::uint32_t waiters = waiters_of(t);
    const std::uint32_t granted = granted_of(t);
    const std::uint32_t without = waiters > granted ? waiters - granted : 0;
    const std::uint32_t n = std::min(count, without);
    if (n == 0) return 0;
    if (tickets.compare_exchange_weak(t, t + n + one_generation, std::memory_order_seq_cst)) return n;
  }
}

// Takes a granted ticket and leaves; `or_leave`: leaves without one too (the timeout). Only
// a grant after the waiter registered (another generation) can be for it: a waiter that
// came later must not take the ticket of one notified before it came.
bool take_ticket_and_leave(std::atomic<std::uint64_t>& tickets, std::uint32_t registered_in, bool or_leave) {
  std::uint64_t t = tickets.load(std::memory_order_seq_cst);
  for (;;) {
    const bool has = granted_of(t) != 0 && generation_of(t) != registered_in;
    if (!has && !or_leave) return false;
    if (tickets.compare_exchange_weak(t, t - one_waiter - (has ? 1 : 0), std::memory_order_seq_cst)) return has;
  }
}

void notify(const InterprocessCondition& c, std::uint32_t count) {
  ConditionWords& w = words(c);
  const std::uint32_t granted =
      grant(w.tickets, std::min<std::uint32_t>(count, static_cast<std::uint32_t>(field_mask)));
  if (granted == 0) return;
  w.notifications.value.fetch_add(1, std::memory_order_seq_cst);
  wake(w.notifications, one_companion(c), granted);
}

}  // namespace

const WaitLayout condition_layout{0x444e4349, sizeof(ConditionWords), 1, "InterprocessCondition"};  // "ICND"

}  // namespace detail

using detail::WaitAccess;

InterprocessCondition InterprocessCondition::create() {
  return detail::make_waiting<InterprocessCondition>(detail::condition_layout, std::nullopt, [](detail::WaitState&) {});
}

InterprocessCondition InterprocessCondition::create_named(std::string_view name, NameLifetime lifetime) {
  auto condition =
      detail::make_waiting<InterprocessCondition>(detail::condition_layout, name, [](detail::WaitState&) {});
  detail::apply_lifetime(lifetime, {std::string(name)});
  return condition;
}

InterprocessCondition InterprocessCondition::open_named(std::string_view name) {
  return WaitAccess::make<InterprocessCondition>(detail::open_wait_state(detail::condition_layout, name));
}

InterprocessCondition InterprocessCondition::open_or_create(std::string_view name) {
  return detail::open_or_create_named([&] { return create_named(name); }, [&] { return open_named(name); });
}

bool InterprocessCondition::remove_named(std::string_view name) { return detail::remove_wait_name(name); }

void InterprocessCondition::notify_one() { detail::notify(*this, 1); }

void InterprocessCondition::notify_all() { detail::notify(*this, detail::wake_all); }

std::uint32_t InterprocessCondition::take_ticket() const {
  detail::ConditionWords& w = detail::words(*this);
  return detail::generation_of(w.tickets.fetch_add(detail::one_waiter, std::memory_order_seq_cst));
}

bool InterprocessCondition::sleep_on_ticket(std::uint32_t ticket, std::chrono::milliseconds timeout) {
  detail::ConditionWords& w = detail::words(*this);
  const auto deadline = detail::deadline_after(timeout);
  for (;;) {
    // Read before looking for a ticket: a grant after the look also moves this on.
    const std::uint32_t seen = w.notifications.value.load(std::memory_order_seq_cst);
    if (detail::take_ticket_and_leave(w.tickets, ticket, false)) return true;
    if (deadline && detail::Clock::now() >= *deadline) return detail::take_ticket_and_leave(w.tickets, ticket, true);
    detail::wait_on(w.notifications, detail::one_companion(*this), seen, deadline);
  }
}

}  // namespace interproc
