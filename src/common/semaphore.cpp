// SPDX-License-Identifier: MIT
// InterprocessSemaphore: one wait word holding the count; acquiring is a compare-exchange
// that never takes the count below 0, waiting while it is 0.

#include <interproc/semaphore.hpp>

#include "common/name_tracker.hpp"
#include "common/fail.hpp"
#include "common/waiting.hpp"

namespace interproc {
namespace detail {
namespace {

void check_count(std::uint64_t count) {
  if (count > InterprocessSemaphore::max()) {
    fail(errc::count_overflow, "InterprocessSemaphore: a count of " + std::to_string(count) + " passes max() (" +
                                   std::to_string(InterprocessSemaphore::max()) + ")");
  }
}

InterprocessSemaphore make_semaphore(std::optional<std::string_view> name, std::uint32_t initial) {
  check_count(initial);
  return make_waiting<InterprocessSemaphore>(semaphore_layout, name, [initial](WaitState& state) {
    words_of<OneWord>(state).word.value.store(initial, std::memory_order_relaxed);
  });
}

}  // namespace

const WaitLayout semaphore_layout{0x4d455349, sizeof(OneWord), 1, "InterprocessSemaphore"};  // "ISEM"

}  // namespace detail

using detail::WaitAccess;

InterprocessSemaphore InterprocessSemaphore::create(std::uint32_t initial) {
  return detail::make_semaphore(std::nullopt, initial);
}

InterprocessSemaphore InterprocessSemaphore::create_named(std::string_view name, std::uint32_t initial,
                                                         NameLifetime lifetime) {
  InterprocessSemaphore semaphore = detail::make_semaphore(name, initial);
  detail::apply_lifetime(lifetime, {std::string(name)});
  return semaphore;
}

InterprocessSemaphore InterprocessSemaphore::open_named(std::string_view name) {
  return WaitAccess::make<InterprocessSemaphore>(detail::open_wait_state(detail::semaphore_layout, name));
}

bool InterprocessSemaphore::remove_named(std::string_view name) { return detail::remove_wait_name(name); }

bool InterprocessSemaphore::try_acquire() {
  std::atomic<std::uint32_t>& count = detail::one_word(*this).value;
  std::uint32_t now = count.load(std::memory_order_relaxed);
  while (now != 0) {
    if (count.compare_exchange_weak(now, now - 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
  }
  return false;
}

void InterprocessSemaphore::acquire() { try_acquire_for(std::chrono::milliseconds::max()); }

bool InterprocessSemaphore::try_acquire_for(std::chrono::milliseconds timeout) {
  if (try_acquire()) return true;
  const auto deadline = detail::deadline_after(timeout);
  detail::WaitWord& count = detail::one_word(*this);
  do {
    if (deadline && detail::Clock::now() >= *deadline) return false;
    detail::wait_on(count, detail::one_companion(*this), 0, deadline);
  } while (!try_acquire());
  // Passes the wake on while units remain: a releaser that died before its wake, or one
  // wake for several units, must not leave the other sleepers beside them.
  if (count.value.load(std::memory_order_seq_cst) != 0) detail::wake(count, detail::one_companion(*this), 1);
  return true;
}

void InterprocessSemaphore::release(std::uint32_t units) {
  detail::WaitWord& count = detail::one_word(*this);
  std::uint32_t now = count.value.load(std::memory_order_relaxed);
  do {
    detail::check_count(std::uint64_t{now} + units);
  } while (!count.value.compare_exchange_weak(now, now + units, std::memory_order_seq_cst, std::memory_order_relaxed));
  if (units != 0) detail::wake(count, detail::one_companion(*this), units);
}

std::uint32_t InterprocessSemaphore::value() const {
  return detail::one_word(*this).value.load(std::memory_order_relaxed);
}

}  // namespace interproc
