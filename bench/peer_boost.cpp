// SPDX-License-Identifier: MIT
// The Boost.Interprocess peer: interprocess_mutex placed in shared memory. Not robust: on
// Linux it is a process-shared pthread mutex without PTHREAD_MUTEX_ROBUST.

#include "bench.hpp"

#include <boost/interprocess/sync/interprocess_mutex.hpp>

#include <new>

namespace bench {
namespace {

using BoostMutex = boost::interprocess::interprocess_mutex;
static_assert(sizeof(BoostMutex) <= sizeof(Shared::lock));

BoostMutex& boost_mutex(Workspace& ws) { return *std::launder(reinterpret_cast<BoostMutex*>(ws.shared.lock)); }

void boost_setup(Workspace& ws) { ::new (ws.shared.lock) BoostMutex; }
void boost_teardown(Workspace& ws) { boost_mutex(ws).~BoostMutex(); }
void boost_increments(Workspace& ws, long n) { locked_increments(boost_mutex(ws), ws.shared.counter, n); }

}  // namespace

std::vector<LockImpl> boost_locks() { return {{"boost", true, boost_setup, boost_teardown, boost_increments}}; }

}  // namespace bench
