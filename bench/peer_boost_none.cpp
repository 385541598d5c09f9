// SPDX-License-Identifier: MIT
// Built instead of peer_boost.cpp where Boost was not found (the MinGW cross build): no
// Boost peer to compare with.

#include "bench.hpp"

namespace bench {

std::vector<LockImpl> boost_locks() { return {}; }
std::vector<MessageFloor> boost_messaging() { return {}; }

}  // namespace bench
