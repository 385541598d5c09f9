// SPDX-License-Identifier: MIT
// InterprocessBarrier: one 64-bit state word (generation, broken flag, arrivals) changed
// by compare-exchange, a wait word `epoch` that every trip, break and reset moves on (the
// waiters sleep on it), and a table of the processes holding the barrier.
//
// A generation ends either by a trip (the last arrival moves to the next generation) or by
// a break and then a reset. A waiter that finds the generation moved on tells the two apart
// by `broken_generation`, written before a broken generation is left.
//
// Deaths: each holder writes its pid into a free record and clears it when it lets go. A
// waiter, each time its sleep ends (at most max_unwoken_sleep later), asks the OS whether
// the process of each record still runs; a record of an ended process breaks the barrier
// and is cleared, so that reset() gives a barrier the dead process no longer breaks.

#include <interproc/barrier.hpp>

#include "common/fail.hpp"
#include "common/name_tracker.hpp"
#include "common/process_backend.hpp"
#include "common/process_liveness.hpp"
#include "common/waiting.hpp"

#include <string>

namespace interproc {
namespace detail {
namespace {

struct BarrierWords {
  ObjectHeader header;
  WaitWord epoch;
  std::atomic<std::uint64_t> state;  // generation << 32 | broken_bit | arrivals
  std::atomic<std::uint32_t> parties;
  std::atomic<std::uint32_t> broken_generation;  // the last broken generation + 1; 0: none yet
  std::atomic<std::uint64_t> holders[InterprocessBarrier::max_holders()];  // pids; 0: free
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "the barrier's words must be lock-free across processes");

constexpr std::uint64_t broken_bit = std::uint64_t{1} << 31;
constexpr std::uint64_t arrivals_mask = broken_bit - 1;
std::uint32_t generation_of(std::uint64_t s) noexcept { return static_cast<std::uint32_t>(s >> 32); }
std::uint32_t arrivals_of(std::uint64_t s) noexcept { return static_cast<std::uint32_t>(s & arrivals_mask); }
bool is_broken(std::uint64_t s) noexcept { return (s & broken_bit) != 0; }
std::uint64_t fresh_state(std::uint32_t generation) noexcept { return std::uint64_t{generation} << 32; }

[[noreturn]] void throw_broken(const char* why) {
  fail(errc::broken_barrier, std::string("InterprocessBarrier: ") + why);
}

void check_parties(std::uint64_t parties) {
  if (parties == 0 || parties > InterprocessBarrier::max_parties())
    fail(errc::invalid_argument, "InterprocessBarrier: " + std::to_string(parties) + " parties (1 .. " +
                                     std::to_string(InterprocessBarrier::max_parties()) + ")");
}

// Wakes every waiter after a change of the state word.
void advance(BarrierWords& w, native_handle companion) {
  w.epoch.value.fetch_add(1, std::memory_order_seq_cst);
  wake(w.epoch, companion, wake_all);
}

// Breaks `generation` if it is still the current one and not broken yet.
void break_generation(BarrierWords& w, native_handle companion, std::uint32_t generation) {
  std::uint64_t s = w.state.load(std::memory_order_seq_cst);
  while (generation_of(s) == generation && !is_broken(s)) {
    if (w.state.compare_exchange_weak(s, s | broken_bit, std::memory_order_seq_cst)) {
      w.broken_generation.store(generation + 1, std::memory_order_seq_cst);
      advance(w, companion);
      return;
    }
  }
}

// Clears the records of processes that ended; whether there was one.
bool clear_ended_holders(BarrierWords& w) noexcept {
  bool found = false;
  for (std::atomic<std::uint64_t>& holder : w.holders) {
    std::uint64_t pid = holder.load(std::memory_order_acquire);
    if (pid != 0 && process_has_ended(pid) && holder.compare_exchange_strong(pid, 0, std::memory_order_acq_rel))
      found = true;
  }
  return found;
}

InterprocessBarrier make_barrier(std::optional<std::string_view> name, std::uint32_t parties) {
  check_parties(parties);
  return make_waiting<InterprocessBarrier>(barrier_layout, name, [parties](WaitState& state) {
    words_of<BarrierWords>(state).parties.store(parties, std::memory_order_relaxed);
  });
}

}  // namespace

const WaitLayout barrier_layout{0x52524249, sizeof(BarrierWords), 1, "InterprocessBarrier"};  // "IBRR"

// What spawn.cpp needs: a child's barrier counts its process from the start of its entry
// (in the process that runs it, whatever the start method) until the entry returns.
struct BarrierAccess {
  static void enlist(InterprocessBarrier& b) { b.enlist(); }
  static void let_go(InterprocessBarrier& b) noexcept { b.let_go(); }
};
void enlist_barrier(InterprocessBarrier& b) { BarrierAccess::enlist(b); }
void let_go_barrier(InterprocessBarrier& b) noexcept { BarrierAccess::let_go(b); }

}  // namespace detail

using detail::BarrierWords;
using detail::fail;
using detail::native_handle;
using detail::WaitAccess;

namespace {
BarrierWords& words(const InterprocessBarrier& b) { return detail::words_of<BarrierWords>(WaitAccess::state(b)); }
}  // namespace

InterprocessBarrier InterprocessBarrier::create(std::uint32_t parties) {
  InterprocessBarrier b = detail::make_barrier(std::nullopt, parties);
  b.enlist();
  return b;
}

InterprocessBarrier InterprocessBarrier::create_named(std::string_view name, std::uint32_t parties,
                                                      NameLifetime lifetime) {
  InterprocessBarrier b = detail::make_barrier(name, parties);
  detail::apply_lifetime(lifetime, {std::string(name)});
  b.enlist();
  return b;
}

InterprocessBarrier InterprocessBarrier::open_named(std::string_view name) {
  auto b = WaitAccess::make<InterprocessBarrier>(detail::open_wait_state(detail::barrier_layout, name));
  b.enlist();
  return b;
}

InterprocessBarrier InterprocessBarrier::open_or_create(std::string_view name, std::uint32_t parties) {
  detail::check_parties(parties);
  InterprocessBarrier b =
      detail::open_or_create_named([&] { return create_named(name, parties); }, [&] { return open_named(name); });
  if (b.parties() != parties) {
    fail(errc::invalid_argument, "InterprocessBarrier::open_or_create(\"" + std::string(name) + "\"): it has " +
                                     std::to_string(b.parties()) + " parties, not " + std::to_string(parties));
  }
  return b;
}

bool InterprocessBarrier::remove_named(std::string_view name) { return detail::remove_wait_name(name); }

InterprocessBarrier::InterprocessBarrier(InterprocessBarrier&& other) noexcept
    : WaitingObject(std::move(other)), record_(std::exchange(other.record_, no_record)),
      record_pid_(std::exchange(other.record_pid_, 0)) {}

InterprocessBarrier& InterprocessBarrier::operator=(InterprocessBarrier&& other) noexcept {
  if (this != &other) {
    let_go();
    record_ = std::exchange(other.record_, no_record);
    record_pid_ = std::exchange(other.record_pid_, 0);
    WaitingObject::operator=(std::move(other));
  }
  return *this;
}

InterprocessBarrier::~InterprocessBarrier() { let_go(); }

// Takes a record for this process unless it has one (a fork copy of the object has its
// parent's, which it must leave alone).
void InterprocessBarrier::enlist() {
  const std::uint64_t me = detail::current_process_id();
  if (record_ != no_record && record_pid_ == me) return;
  for (std::uint32_t i = 0; i < max_holders(); ++i) {
    std::uint64_t free = 0;
    if (words(*this).holders[i].compare_exchange_strong(free, me, std::memory_order_acq_rel)) {
      record_ = i;
      record_pid_ = me;
      return;
    }
  }
  fail(errc::invalid_argument,
       "InterprocessBarrier: " + std::to_string(max_holders()) + " processes hold it already (max_holders())");
}

void InterprocessBarrier::let_go() noexcept {
  if (record_ == no_record || !WaitAccess::has_state(*this)) return;
  if (record_pid_ == detail::current_process_id()) {
    std::uint64_t mine = record_pid_;
    words(*this).holders[record_].compare_exchange_strong(mine, 0, std::memory_order_acq_rel);
  }
  record_ = no_record;
}

std::uint32_t InterprocessBarrier::wait() { return *wait_for(std::chrono::milliseconds::max()); }

std::optional<std::uint32_t> InterprocessBarrier::wait_for(std::chrono::milliseconds timeout) {
  enlist();
  BarrierWords& w = words(*this);
  const native_handle companion = detail::one_companion(*this);
  const std::uint32_t parties = w.parties.load(std::memory_order_relaxed);
  const auto deadline = detail::deadline_after(timeout);
  std::uint64_t s = w.state.load(std::memory_order_seq_cst);
  std::uint32_t generation = 0;
  std::uint32_t index = 0;
  for (;;) {
    if (detail::is_broken(s)) detail::throw_broken("it is broken");
    generation = detail::generation_of(s);
    index = detail::arrivals_of(s);
    const bool last = index + 1 == parties;
    const std::uint64_t next = last ? detail::fresh_state(generation + 1) : s + 1;
    if (w.state.compare_exchange_weak(s, next, std::memory_order_seq_cst)) {
      if (!last) break;
      detail::advance(w, companion);
      return index;
    }
  }
  for (;;) {
    // Read before the state: a change after the look moves it on, so the sleep returns.
    const std::uint32_t seen = w.epoch.value.load(std::memory_order_seq_cst);
    s = w.state.load(std::memory_order_seq_cst);
    if (detail::generation_of(s) != generation) {
      if (w.broken_generation.load(std::memory_order_seq_cst) == generation + 1)
        detail::throw_broken("it was broken, then reset, while this caller waited");
      return index;
    }
    if (detail::is_broken(s)) detail::throw_broken("it was broken while this caller waited");
    if (detail::clear_ended_holders(w)) {
      detail::break_generation(w, companion, generation);
      continue;
    }
    if (deadline && detail::Clock::now() >= *deadline) {
      detail::break_generation(w, companion, generation);
      return std::nullopt;
    }
    detail::wait_on(w.epoch, companion, seen, deadline);
  }
}

void InterprocessBarrier::abort() {
  BarrierWords& w = words(*this);
  detail::break_generation(w, detail::one_companion(*this), detail::generation_of(w.state.load()));
}

void InterprocessBarrier::reset() {
  BarrierWords& w = words(*this);
  const native_handle companion = detail::one_companion(*this);
  std::uint64_t s = w.state.load(std::memory_order_seq_cst);
  for (;;) {
    const std::uint32_t generation = detail::generation_of(s);
    if (!detail::is_broken(s)) {
      if (detail::arrivals_of(s) == 0) return;
      detail::break_generation(w, companion, generation);  // its waiters must see it broken
    } else {
      w.broken_generation.store(generation + 1, std::memory_order_seq_cst);
      if (w.state.compare_exchange_strong(s, detail::fresh_state(generation + 1), std::memory_order_seq_cst)) {
        detail::advance(w, companion);
        return;
      }
    }
    s = w.state.load(std::memory_order_seq_cst);
  }
}

std::uint32_t InterprocessBarrier::parties() const { return words(*this).parties.load(std::memory_order_relaxed); }

std::uint32_t InterprocessBarrier::n_waiting() const {
  const std::uint64_t s = words(*this).state.load(std::memory_order_acquire);
  return detail::is_broken(s) ? 0 : detail::arrivals_of(s);
}

bool InterprocessBarrier::broken() const {
  return detail::is_broken(words(*this).state.load(std::memory_order_acquire));
}

}  // namespace interproc
