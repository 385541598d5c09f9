// SPDX-License-Identifier: MIT
// The Boost.Interprocess peers: interprocess_mutex placed in shared memory (not robust: on
// Linux a process-shared pthread mutex without PTHREAD_MUTEX_ROBUST); message_queue for the
// queue cases and interprocess_condition for the ping-pong, with forked children (POSIX).

#include "bench.hpp"

#include <boost/interprocess/ipc/message_queue.hpp>
#include <boost/interprocess/sync/interprocess_condition.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>

#include <new>
#include <stdexcept>
#include <string>
#include <vector>
#ifndef _WIN32
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace bench {
namespace {

using BoostMutex = boost::interprocess::interprocess_mutex;
static_assert(sizeof(BoostMutex) <= sizeof(Shared::lock));

BoostMutex& boost_mutex(Workspace& ws) { return *std::launder(reinterpret_cast<BoostMutex*>(ws.shared.lock)); }

void boost_setup(Workspace& ws) { ::new (ws.shared.lock) BoostMutex; }
void boost_teardown(Workspace& ws) { boost_mutex(ws).~BoostMutex(); }
void boost_increments(Workspace& ws, long n) { locked_increments(boost_mutex(ws), ws.shared.counter, n); }

#ifndef _WIN32
namespace ipc = boost::interprocess;

void wait_children(const std::vector<pid_t>& children) {
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("boost peer: a child failed");
  }
}

double boost_queue_items(int producers, long items) {
  const std::string name = "interproc_bench_mq_" + std::to_string(::getpid());
  ipc::message_queue::remove(name.c_str());
  ipc::message_queue queue(ipc::create_only, name.c_str(), 1024, 64);
  std::vector<pid_t> children;
  const std::int64_t start = now_ns();
  for (int p = 0; p < producers; ++p) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ipc::message_queue mine(ipc::open_only, name.c_str());
      char item[64] = {1};
      for (long i = 0; i < items / producers; ++i) mine.send(item, sizeof item, 0);
      ::_exit(0);
    }
    children.push_back(pid);
  }
  char item[64];
  ipc::message_queue::size_type received = 0;
  unsigned priority = 0;
  for (long i = 0; i < items / producers * producers; ++i) queue.receive(item, sizeof item, received, priority);
  const double ns = static_cast<double>(now_ns() - start) / static_cast<double>(items);
  wait_children(children);
  ipc::message_queue::remove(name.c_str());
  return ns;
}

// Two turns under one mutex and condition: the parent waits for 1, the child for 0.
struct PingPong {
  ipc::interprocess_mutex mutex;
  ipc::interprocess_condition changed;
  int turn = 0;
};

void play(PingPong& game, int mine, int theirs, long trips) {
  for (long i = 0; i < trips; ++i) {
    ipc::scoped_lock<ipc::interprocess_mutex> hold(game.mutex);
    while (game.turn != mine) game.changed.wait(hold);
    game.turn = theirs;
    game.changed.notify_all();
  }
}

double boost_round_trips(long trips) {
  void* memory = ::mmap(nullptr, sizeof(PingPong), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) throw std::runtime_error("mmap failed");
  auto* game = ::new (memory) PingPong;
  const pid_t pid = ::fork();
  if (pid == 0) {
    play(*game, 1, 0, trips);
    ::_exit(0);
  }
  const std::int64_t start = now_ns();
  play(*game, 0, 1, trips);
  const double ns = static_cast<double>(now_ns() - start) / static_cast<double>(trips);
  wait_children({pid});
  game->~PingPong();
  ::munmap(memory, sizeof(PingPong));
  return ns;
}
#endif

}  // namespace

std::vector<LockImpl> boost_locks() { return {{"boost", true, boost_setup, boost_teardown, boost_increments}}; }

#ifndef _WIN32
std::vector<MessageFloor> boost_messaging() { return {{"boost", &boost_queue_items, &boost_round_trips}}; }
#else
std::vector<MessageFloor> boost_messaging() { return {}; }
#endif

}  // namespace bench
