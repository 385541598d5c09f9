// SPDX-License-Identifier: MIT
#pragma once
// The seam of the benchmark program: main.cpp runs the cases and measures interproc; the
// files CMake picks per platform supply the peers and floors it is compared with:
//   floor_posix.cpp / floor_win.cpp            the OS's own primitives (the floors)
//   peer_boost.cpp  / peer_boost_none.cpp      Boost.Interprocess, where Boost was found

#include <interproc/shared_value.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bench {

// The first argument that makes the program return at the top of main(), before anything
// else: what the bare process-start floors start.
inline constexpr char exit_now_flag[] = "--exit-now";

// The most workers of a lock_contended_<N>p case.
inline constexpr int max_contenders = 16;

// The control block of a run, placed in a shared segment; the peers' locks live in it too.
struct Shared {
  std::atomic<int> ready{0};                             // workers attached and waiting for `go`
  std::atomic<int> go{0};                                // set by the parent: start now
  std::atomic<std::int64_t> start_ns[max_contenders]{};  // when each worker saw `go` (steady_clock)
  std::atomic<std::int64_t> end_ns[max_contenders]{};    // when each worker finished
  std::atomic<long> atomic_counter{0};                   // atomic_floor's counter
  long counter = 0;                                      // the peers' counter, guarded by `lock`
  alignas(64) unsigned char lock[256];                   // storage for a peer's lock object
};

// What a worker may use: the control block, and interproc's own counter with its lock.
struct Workspace {
  Shared& shared;
  interproc::SharedValue<long>& value;
};

// A lock to compare. lock_uncontended runs `increments` in one process; lock_contended_<N>p
// in N processes at once, for the implementations that work across processes.
struct LockImpl {
  std::string name;
  bool cross_process;
  void (*setup)(Workspace&);               // in the parent, before any worker runs
  void (*teardown)(Workspace&);            // in the parent, once every worker is done
  void (*increments)(Workspace&, long n);  // n times: lock, add 1 to its counter, unlock
};

// Creates, maps, writes one byte per page of, and frees a block of `bytes`.
struct TouchImpl {
  std::string name;
  void (*map_touch_unmap)(std::size_t bytes);
};

// Starts one child process and waits for it; throws if it did not exit with 0.
struct SpawnImpl {
  std::string name;
  std::function<void()> start_and_join;
};

// Starts `children` child processes at once, then waits for them all; throws if one did not
// exit with 0.
struct BurstImpl {
  std::string name;
  std::function<void(int children)> start_all_then_join;
};

// The loop every lock is measured with; Lock needs lock() and unlock().
template <class Lock>
void locked_increments(Lock& lock, long& counter, long n) {
  for (long i = 0; i < n; ++i) {
    lock.lock();
    ++counter;
    lock.unlock();
  }
}

// Writes one byte in every page of [data, data + bytes).
inline void touch_pages(void* data, std::size_t bytes, std::size_t page) {
  auto* p = static_cast<volatile unsigned char*>(data);
  for (std::size_t offset = 0; offset < bytes; offset += page) p[offset] = 1;
}

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---- defined by the platform and peer files ----
extern const bool has_fork;  // StartMethod::fork works here
std::size_t page_size();
std::vector<TouchImpl> touch_floors();                         // mmap_floor / virtualalloc_floor
std::vector<LockImpl> platform_locks();                        // pthread_robust / kernel_mutex
std::vector<LockImpl> boost_locks();                           // boost, or none
std::vector<SpawnImpl> spawn_floors(const std::string& self);  // bare starts of `self exit_now_flag`
std::vector<BurstImpl> burst_floors(const std::string& self);  // the same, many at once

// The messaging floors: a pipe between this process and forked children. Each returns ns
// per item (64-byte writes from `producers` children, read here) or per round trip.
struct MessageFloor {
  std::string name;
  double (*ns_per_item)(int producers, long items);  // nullptr where there is none
  double (*ns_per_round_trip)(long trips);
};
std::vector<MessageFloor> message_floors();   // pipe_floor (POSIX), none on Windows
std::vector<MessageFloor> socket_floors();    // socketpair_floor: round trips only (POSIX), none on Windows
std::vector<MessageFloor> boost_messaging();  // boost message_queue / interprocess_condition (POSIX), or none

// A raw byte stream's throughput: `messages` writes of `bytes` each from a forked child,
// read here; GiB per second. pipe_floor (POSIX), none on Windows.
struct ThroughputFloor {
  std::string name;
  double (*gib_per_s)(std::size_t bytes, long messages);
};
std::vector<ThroughputFloor> throughput_floors();

// ---- bench/pipe.cpp: pipe_pingpong and pipe_bytes (Connection) ----
void pipe_pingpong(int rounds, bool quick);
void pipe_bytes(int rounds, bool quick);
// ---- defined by the case files ----
// queue_strings (queue_strings.cpp): ns per std::string item of 16 B to 4 KiB, `items` of them
// from one child to this process through a SharedQueue<std::string>.
double queue_strings_ns(long items);

}  // namespace bench
