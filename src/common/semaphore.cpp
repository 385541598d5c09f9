// SPDX-License-Identifier: MIT
// InterprocessSemaphore: one wait word holding the count, and the limit the count never
// passes (max(), or a bounded semaphore's initial count); acquiring is a compare-exchange
// that never takes the count below 0, waiting while it is 0.

#include <interproc/semaphore.hpp>

#include "common/name_tracker.hpp"
#include "common/fail.hpp"
#include "common/waiting.hpp"

#include <interproc/open_or_create.hpp>

namespace interproc {
namespace detail {
namespace {

// OneWord first, so that one_word() reaches the count.
struct SemaphoreWords {
  OneWord count;
  std::atomic<std::uint32_t> limit;
};

void check_count(std::uint64_t count, std::uint64_t limit) {
  if (count > limit) {
    const char* what = limit == InterprocessSemaphore::max() ? " passes max() (" : " passes its bound (";
    fail(errc::count_overflow,
         "InterprocessSemaphore: a count of " + std::to_string(count) + what + std::to_string(limit) + ")");
  }
}

InterprocessSemaphore make_semaphore(std::optional<std::string_view> name, std::uint32_t initial, bool bounded) {
  check_count(initial, InterprocessSemaphore::max());
  const std::uint32_t limit = bounded ? initial : InterprocessSemaphore::max();
  return make_waiting<InterprocessSemaphore>(semaphore_layout, name, [initial, limit](WaitState& state) {
    words_of<SemaphoreWords>(state).count.word.value.store(initial, std::memory_order_relaxed);
    words_of<SemaphoreWords>(state).limit.store(limit, std::memory_order_relaxed);
  });
}

std::uint32_t limit_of(const InterprocessSemaphore& s) {
  return words_of<SemaphoreWords>(WaitAccess::state(s)).limit.load(std::memory_order_relaxed);
}

}  // namespace

const WaitLayout semaphore_layout{0x4d455349, sizeof(SemaphoreWords), 1, "InterprocessSemaphore"};  // "ISEM"

}  // namespace detail

using detail::WaitAccess;

InterprocessSemaphore InterprocessSemaphore::create(std::uint32_t initial) {
  return detail::make_semaphore(std::nullopt, initial, false);
}

InterprocessSemaphore InterprocessSemaphore::create_named(std::string_view name, std::uint32_t initial,
                                                          NameLifetime lifetime) {
  InterprocessSemaphore semaphore = detail::make_semaphore(name, initial, false);
  detail::apply_lifetime(lifetime, {std::string(name)});
  return semaphore;
}

InterprocessSemaphore InterprocessSemaphore::create_bounded(std::uint32_t initial) {
  return detail::make_semaphore(std::nullopt, initial, true);
}

InterprocessSemaphore InterprocessSemaphore::create_named_bounded(std::string_view name, std::uint32_t initial,
                                                                  NameLifetime lifetime) {
  InterprocessSemaphore semaphore = detail::make_semaphore(name, initial, true);
  detail::apply_lifetime(lifetime, {std::string(name)});
  return semaphore;
}

InterprocessSemaphore InterprocessSemaphore::open_or_create(std::string_view name, std::uint32_t initial) {
  return detail::open_or_create_named([&] { return create_named(name, initial); }, [&] { return open_named(name); });
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
  const std::uint32_t limit = detail::limit_of(*this);
  std::uint32_t now = count.value.load(std::memory_order_relaxed);
  do {
    detail::check_count(std::uint64_t{now} + units, limit);
  } while (!count.value.compare_exchange_weak(now, now + units, std::memory_order_seq_cst, std::memory_order_relaxed));
  if (units != 0) detail::wake(count, detail::one_companion(*this), units);
}

std::uint32_t InterprocessSemaphore::limit() const { return detail::limit_of(*this); }

std::uint32_t InterprocessSemaphore::value() const {
  return detail::one_word(*this).value.load(std::memory_order_relaxed);
}

}  // namespace interproc
