// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// InterprocessBarrier: Python's multiprocessing.Barrier between processes, broken (instead
/// of hanging) when one of its processes dies.
#include <interproc/export.hpp>
#include <interproc/name_lifetime.hpp>
#include <interproc/timeouts.hpp>
#include <interproc/waiting_object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace interproc {

namespace detail {
struct BarrierAccess;
}

/// A barrier for `parties` processes (or threads), reusable round after round: wait()
/// returns once `parties` callers have arrived, each with its own arrival index (from 0
/// up to `parties` minus one), and the next round starts at once.
///
/// It *breaks* (Python's BrokenBarrierError): every waiter, and every later wait() until
/// reset(), throws std::system_error with errc::broken_barrier, when
/// - abort() is called;
/// - a wait_for() times out (that caller gets std::nullopt);
/// - a process holding the barrier ends without letting go of it (killed, crashed) while
///   another waits: the barrier records each process that holds it (through create_named,
///   open_named, create, or as a child from the start of its entry until it returns), and
///   a waiter looks at those records each time its sleep ends, at least every 50 ms. A
///   process that ends normally lets go first and breaks nothing.
///
/// At most max_holders() processes hold one barrier at once. Move-only. Pass it to a child
/// with spawn_child (ChildContext::barrier), or share it by name.
class INTERPROC_EXPORT InterprocessBarrier : public detail::WaitingObject {
 public:
  /// How many processes may hold one barrier at a time (each a record in its memory).
  static constexpr std::uint32_t max_holders() noexcept { return 256; }
  /// The largest number of parties.
  static constexpr std::uint32_t max_parties() noexcept { return 0x7fffffff; }

  /// A new barrier for `parties` callers (1 .. max_parties(): errc::invalid_argument beyond).
  static InterprocessBarrier create(std::uint32_t parties);
  /// A new barrier under `name` (the rules of InterprocessEvent::create_named), with its
  /// `lifetime` (NameLifetime).
  static InterprocessBarrier create_named(std::string_view name, std::uint32_t parties,
                                          NameLifetime lifetime = NameLifetime::persistent);
  /// The barrier `name` (the errors of InterprocessEvent::open_named).
  static InterprocessBarrier open_named(std::string_view name);
  /// The barrier `name`, made if there is none (see SharedSegment::open_or_create): one
  /// for `parties`, or errc::invalid_argument if the one found has another number.
  static InterprocessBarrier open_or_create(std::string_view name, std::uint32_t parties);
  /// Removes the name; true if there was one.
  static bool remove_named(std::string_view name);

  /// Takes over `other`'s barrier and its record of this process.
  InterprocessBarrier(InterprocessBarrier&& other) noexcept;
  /// Lets go of this barrier, then takes over `other`'s.
  InterprocessBarrier& operator=(InterprocessBarrier&& other) noexcept;
  /// Lets go: removes this process's record, so that its end breaks nothing.
  ~InterprocessBarrier();

  /// Arrives and waits for the others; the arrival index (0 for the first, parties - 1 for
  /// the one that completed the round). errc::broken_barrier if it is or becomes broken.
  std::uint32_t wait();
  /// As wait(), for at most `timeout`: std::nullopt when it passed first, and the barrier
  /// is then broken for everyone (as Python's wait(timeout)).
  std::optional<std::uint32_t> wait_for(std::chrono::milliseconds timeout);
  /// wait_for() with a duration of any type, rounded up to whole milliseconds.
  template <class Rep, class Period>
  std::optional<std::uint32_t> wait_for(std::chrono::duration<Rep, Period> timeout) {
    return wait_for(detail::saturated_milliseconds(timeout));
  }
  /// Breaks the barrier: every waiter and later wait() gets errc::broken_barrier until reset().
  void abort();
  /// Starts afresh: a round with no arrivals, not broken. Callers waiting in the round it
  /// ends get errc::broken_barrier.
  void reset();

  /// The number of parties.
  std::uint32_t parties() const;
  /// How many have arrived in this round (for diagnostics: it may change at once).
  std::uint32_t n_waiting() const;
  /// Whether the barrier is broken now.
  bool broken() const;

 private:
  friend struct detail::WaitAccess;
  friend struct detail::BarrierAccess;
  explicit InterprocessBarrier(detail::WaitState* state) noexcept : WaitingObject(state) {}
  void enlist();
  void let_go() noexcept;

  static constexpr std::uint32_t no_record = 0xffffffff;
  std::uint32_t record_ = no_record;  // this process's record in the barrier, if any
  std::uint64_t record_pid_ = 0;      // the process that made it (a fork copy must not free it)
};

}  // namespace interproc
