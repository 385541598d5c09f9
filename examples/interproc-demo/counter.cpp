// SPDX-License-Identifier: MIT
// The shared counter of `count` and `race`, and the two ways of adding to it.
#include "demo.hpp"

#include <stdexcept>

namespace demo {

void add(Counter& counter, std::uint64_t amount, Locking locking) {
  if (locking == Locking::with_lock) {
    counter.with_lock([amount](std::uint64_t& total) { total += amount; });
    return;
  }
  // --no-lock: read, add, write back, as separate steps on shared memory (volatile, so the
  // compiler keeps them separate too). Another process can write between the read and the
  // write; its update is then lost. A deliberate data race, to show what the lock is for.
  volatile std::uint64_t& total = counter.value();
  const std::uint64_t seen = total;
  total = seen + amount;
}

std::string to_argument(Locking locking) { return locking == Locking::with_lock ? "lock" : "no-lock"; }

Locking locking_from_argument(const std::string& argument) {
  if (argument == "lock") return Locking::with_lock;
  if (argument == "no-lock") return Locking::without_lock;
  throw std::invalid_argument("expected lock or no-lock, not '" + argument + "'");
}

}  // namespace demo
