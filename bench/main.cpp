// SPDX-License-Identifier: MIT
// interproc_bench: interproc against its peers and the floor, every case in one run.
// Prints one line per measurement, `bench <case> <impl> <metric>=<median> min=<x> max=<y>`:
// the median of several rounds and the spread of those rounds; in each round every
// implementation of the case runs once, in turn, so that a noisy neighbour hurts them alike.
// bench/run builds this, adds the Python baselines (bench/baseline.py) and prints the table
// and the ratios.
//
//   interproc_bench [--quick] [CASE...]   (a CASE also selects every case whose name it begins)
//
// The program is its own child: spawn_child re-executes it, and main() starts with the guard.

#include "bench.hpp"

#include <interproc/interproc.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

using bench::BurstImpl;
using bench::LockImpl;
using bench::Shared;
using bench::SpawnImpl;
using bench::TouchImpl;
using bench::Workspace;
using interproc::SharedSegment;
using interproc::SharedValue;
using interproc::StartMethod;

struct Settings {
  int rounds;                // measurements per implementation; the median is reported
  double lock_seconds;       // about the length of one uncontended measurement
  double contended_seconds;  // about the length of one contended measurement, if uncontended
  int children;              // children started and joined in one spawn measurement
  int curve_rounds;          // rounds of the curve points: lock_contended_{4,8,16}p, spawn_burst_<N>,
                             // segment_touch_{1m,64m}
  int huge_rounds;           // rounds of segment_touch_1g
};
constexpr Settings full_settings{15, 0.05, 0.3, 50, 9, 3};
constexpr Settings quick_settings{7, 0.02, 0.05, 20, 5, 1};

// The median of some rounds, and their range.
struct Summary {
  double median, min, max;
};

Summary summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return {n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v.front(), v.back()};
}

double seconds_since(std::int64_t start_ns) { return static_cast<double>(bench::now_ns() - start_ns) * 1e-9; }

// Three significant digits or so, one decimal at least for large values.
std::string format_value(double value) {
  char text[32];
  std::snprintf(text, sizeof text, value >= 100 ? "%.1f" : value >= 1 ? "%.2f" : "%.3f", value);
  return text;
}

void report(const std::string& case_name, const std::string& impl, const char* metric, const Summary& s) {
  std::printf("bench %s %s %s=%s min=%s max=%s\n", case_name.c_str(), impl.c_str(), metric,
              format_value(s.median).c_str(), format_value(s.min).c_str(), format_value(s.max).c_str());
  std::fflush(stdout);
}

// Runs measure(impl) `rounds` times for each implementation, interleaved, and reports medians.
template <class Impl, class Measure>
void run_case(const std::string& case_name, const char* metric, const std::vector<Impl>& impls, int rounds,
              Measure measure) {
  std::vector<std::vector<double>> samples(impls.size());
  for (int round = 0; round < rounds; ++round) {
    for (std::size_t i = 0; i < impls.size(); ++i) samples[i].push_back(measure(impls[i]));
  }
  for (std::size_t i = 0; i < impls.size(); ++i) report(case_name, impls[i].name, metric, summarize(samples[i]));
}

// ---- the implementations measured here: interproc itself and the atomic floor ----

void no_setup(Workspace&) {}

void interproc_increments(Workspace& ws, long n) {
  interproc::InterprocessMutex& lock = ws.value.get_lock();
  bench::locked_increments(lock, ws.value.value(), n);
}

void atomic_increments(Workspace& ws, long n) {
  for (long i = 0; i < n; ++i) ws.shared.atomic_counter.fetch_add(1);
}

std::vector<LockImpl> all_locks() {
  std::vector<LockImpl> locks{{"interproc", true, no_setup, no_setup, interproc_increments}};
  for (auto& lock : bench::boost_locks()) locks.push_back(lock);
  for (auto& lock : bench::platform_locks()) locks.push_back(lock);
  locks.push_back({"atomic_floor", true, no_setup, no_setup, atomic_increments});
  return locks;
}

const LockImpl& find_lock(const std::vector<LockImpl>& locks, const std::string& name) {
  for (const LockImpl& lock : locks) {
    if (lock.name == name) return lock;
  }
  throw std::invalid_argument("no lock implementation named " + name);
}

// A fresh control block and interproc counter, with `impl`'s lock set up in it.
class Arena {
 public:
  explicit Arena(const LockImpl& impl)
      : impl_(impl), control_(SharedSegment::create(sizeof(Shared))),
        value_(SharedValue<long>::create(0)), workspace_{*::new (control_.bytes().data()) Shared{}, value_} {
    impl_.setup(workspace_);
  }
  ~Arena() { impl_.teardown(workspace_); }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  Workspace& workspace() { return workspace_; }
  const SharedSegment& control() const { return control_; }
  const SharedValue<long>& value() const { return value_; }
  // Whichever counter the implementation used; the others stay 0.
  long total() const { return workspace_.shared.counter + workspace_.shared.atomic_counter.load() + value_.value(); }

 private:
  const LockImpl& impl_;
  SharedSegment control_;
  SharedValue<long> value_;
  Workspace workspace_;
};

}  // namespace

// ---- child entries ----

// One worker of lock_contended_<N>p. args: implementation, increments, worker index (< N).
// Objects: the control segment, interproc's counter.
INTERPROC_CHILD_ENTRY(contend_worker) {
  const std::vector<LockImpl> locks = all_locks();
  const LockImpl& impl = find_lock(locks, ctx.args().at(0));
  const long n = std::stol(ctx.args().at(1));
  const auto index = static_cast<std::size_t>(std::stoul(ctx.args().at(2)));
  Workspace ws{*std::launder(reinterpret_cast<Shared*>(ctx.segment(0).bytes().data())), ctx.value<long>(1)};
  ws.shared.ready.fetch_add(1);
  while (ws.shared.go.load() == 0) std::this_thread::yield();
  ws.shared.start_ns[index].store(bench::now_ns());
  impl.increments(ws, n);
  ws.shared.end_ns[index].store(bench::now_ns());
  return 0;
}

// The child of spawn_join: attaches the SharedValue it was given, adds 1 under its lock.
INTERPROC_CHILD_ENTRY(attach_and_exit) {
  ctx.value<long>(0).with_lock([](long& v) { ++v; });
  return 0;
}

namespace {

// ---- the cases ----

void interproc_touch(std::size_t bytes) {
  SharedSegment segment = SharedSegment::create(bytes);
  bench::touch_pages(segment.bytes().data(), bytes, bench::page_size());
}

// Bytes the OS says it could give without swapping (MemAvailable); nullopt where it does not say.
std::optional<std::uint64_t> available_memory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  while (meminfo >> key >> kib) {
    if (key == "MemAvailable:") return kib * 1024;
    meminfo.ignore(64, '\n');
  }
  return std::nullopt;
}

// segment_touch_<size>: create + map + touch every page + unmap. Small sizes repeat within one
// measurement, up to 16 MiB, so that a measurement is longer than the clock's noise.
void segment_touch(const std::string& case_name, std::size_t bytes, int rounds) {
  std::vector<TouchImpl> impls{{"interproc", interproc_touch}};
  for (auto& floor : bench::touch_floors()) impls.push_back(floor);
  const std::size_t repeats = std::max<std::size_t>(1, (std::size_t{16} << 20) / bytes);
  run_case(case_name, "gib_per_s", impls, rounds, [&](const TouchImpl& impl) {
    const std::int64_t start = bench::now_ns();
    for (std::size_t i = 0; i < repeats; ++i) impl.map_touch_unmap(bytes);
    return static_cast<double>(bytes * repeats) / double(1 << 30) / seconds_since(start);
  });
}

// The 1 GiB point: only with room to spare, and skipped (with a note) if the OS refuses.
void segment_touch_huge(const std::string& case_name, std::size_t bytes, int rounds) {
  const std::optional<std::uint64_t> available = available_memory();
  if (available && *available < bytes + bytes / 2) {
    std::fprintf(stderr, "note: %s skipped: %llu MiB available, %llu MiB wanted\n", case_name.c_str(),
                 static_cast<unsigned long long>(*available >> 20),
                 static_cast<unsigned long long>((bytes + bytes / 2) >> 20));
    return;
  }
  try {
    segment_touch(case_name, bytes, rounds);
  } catch (const std::exception& e) {  // std::system_error (ENOMEM, ENOSPC in /dev/shm) or std::bad_alloc
    std::fprintf(stderr, "note: %s skipped: %s\n", case_name.c_str(), e.what());
  }
}

double uncontended_ns(const LockImpl& impl, long n) {
  Arena arena(impl);
  const std::int64_t start = bench::now_ns();
  impl.increments(arena.workspace(), n);
  const double ns = static_cast<double>(bench::now_ns() - start) / static_cast<double>(n);
  if (arena.total() != n) throw std::runtime_error(impl.name + ": lost increments");
  return ns;
}

// The uncontended cost of one lock+increment+unlock of each implementation, roughly: what
// the iteration counts are scaled by, for a kernel round trip is a thousand times slower
// than an atomic.
std::map<std::string, double> calibrate(const std::vector<LockImpl>& locks) {
  std::map<std::string, double> ns_per_op;
  for (const LockImpl& impl : locks) {
    long n = 1000;
    double ns = uncontended_ns(impl, n);
    while (ns * static_cast<double>(n) < 5e6) ns = uncontended_ns(impl, n *= 4);  // at least 5 ms
    ns_per_op[impl.name] = ns;
  }
  return ns_per_op;
}

long iterations_for(double seconds, double ns_per_op) {
  return std::max(1000L, static_cast<long>(seconds * 1e9 / ns_per_op));
}

void lock_uncontended(const Settings& s, const std::vector<LockImpl>& locks,
                      const std::map<std::string, double>& ns_per_op) {
  run_case("lock_uncontended", "ns_per_op", locks, s.rounds, [&](const LockImpl& impl) {
    return uncontended_ns(impl, iterations_for(s.lock_seconds, ns_per_op.at(impl.name)));
  });
}

// Notes on stderr when the workers ran one after the other for most of the run rather than
// at the same time (a busy machine, or too few increments): then this did not measure
// contention. Not with more workers than cores, which take turns by design.
void check_overlap(const std::string& case_name, const std::string& impl, const Shared& shared, int procs,
                   std::int64_t start, std::int64_t end) {
  if (static_cast<unsigned>(procs) > std::thread::hardware_concurrency()) return;
  std::int64_t last_start = start, first_end = end;
  for (int w = 0; w < procs; ++w) {
    last_start = std::max(last_start, shared.start_ns[w].load());
    first_end = std::min(first_end, shared.end_ns[w].load());
  }
  const double together = static_cast<double>(std::max<std::int64_t>(first_end - last_start, 0));
  if (together < 0.5 * static_cast<double>(end - start)) {
    std::fprintf(stderr, "note: %s %s: all the workers overlapped for %.0f%% of the run only\n", case_name.c_str(),
                 impl.c_str(), 100.0 * together / static_cast<double>(end - start));
  }
}

// ns per increment, `procs` processes doing n increments each at the same time.
double contended_ns(const std::string& case_name, const LockImpl& impl, int procs, long n) {
  Arena arena(impl);
  std::vector<interproc::Child> workers;
  for (int w = 0; w < procs; ++w) {
    workers.push_back(interproc::spawn_child("contend_worker", {impl.name, std::to_string(n), std::to_string(w)},
                                             {arena.control(), arena.value()}));
  }
  Shared& shared = arena.workspace().shared;
  while (shared.ready.load() < procs) std::this_thread::sleep_for(std::chrono::microseconds(200));
  const std::int64_t start = bench::now_ns();
  shared.go.store(1);
  for (auto& worker : workers) {
    if (worker.wait() != 0) throw std::runtime_error(impl.name + ": a contend_worker failed");
  }
  if (arena.total() != procs * n) throw std::runtime_error(impl.name + ": lost increments under contention");
  std::int64_t end = start;
  for (int w = 0; w < procs; ++w) end = std::max(end, shared.end_ns[w].load());
  check_overlap(case_name, impl.name, shared, procs, start, end);
  return static_cast<double>(end - start) / static_cast<double>(procs * n);
}

// lock_contended_<procs>p. Every N shares the same total of increments (that of 2 workers
// with contended_seconds of uncontended work), so 16 processes on 2 cores stay as short as 2.
void lock_contended(const Settings& s, const std::vector<LockImpl>& locks,
                    const std::map<std::string, double>& ns_per_op, int procs) {
  std::vector<LockImpl> cross;
  std::copy_if(locks.begin(), locks.end(), std::back_inserter(cross),
               [](const LockImpl& l) { return l.cross_process; });
  const std::string case_name = "lock_contended_" + std::to_string(procs) + "p";
  run_case(case_name, "ns_per_op", cross, procs == 2 ? s.rounds : s.curve_rounds, [&](const LockImpl& impl) {
    const long total = 2 * iterations_for(s.contended_seconds / 2, ns_per_op.at(impl.name));
    return contended_ns(case_name, impl, procs, std::max(1L, total / procs));
  });
}

// interproc's start methods that work here. fork is POSIX only; forkserver may not be built
// yet, which spawn_child says with errc::not_supported: that method is left out, with a note.
// The first forkserver child starts the server, so the probe is also its warm-up.
std::vector<std::pair<std::string, StartMethod>> start_methods(const char* case_name, SharedValue<long>& value) {
  std::vector<std::pair<std::string, StartMethod>> methods{{"interproc_spawn", StartMethod::spawn}};
  if (bench::has_fork) methods.emplace_back("interproc_fork", StartMethod::fork);
  try {
    interproc::spawn_child("attach_and_exit", {}, {value}, StartMethod::forkserver).wait();
    methods.emplace_back("interproc_forkserver", StartMethod::forkserver);
  } catch (const std::system_error& e) {
    if (e.code() != interproc::errc::not_supported) throw;
    std::fprintf(stderr, "note: %s interproc_forkserver skipped: %s\n", case_name, e.what());
  }
  return methods;
}

void spawn_join(const Settings& s, const std::string& self) {
  SharedValue<long> value = SharedValue<long>::create(0);
  std::vector<SpawnImpl> impls;
  for (const auto& [name, method] : start_methods("spawn_join", value)) {
    impls.push_back({name, [&value, method = method] {
                       if (interproc::spawn_child("attach_and_exit", {}, {value}, method).wait() != 0) {
                         throw std::runtime_error("attach_and_exit failed");
                       }
                     }});
  }
  for (auto& floor : bench::spawn_floors(self)) impls.push_back(floor);
  for (auto& impl : impls) impl.start_and_join();  // warm up: page cache, dynamic loader
  run_case("spawn_join", "us_per_child", impls, s.rounds, [&](const SpawnImpl& impl) {
    const std::int64_t start = bench::now_ns();
    for (int i = 0; i < s.children; ++i) impl.start_and_join();
    return seconds_since(start) * 1e6 / s.children;
  });
}

// spawn_burst_<children>: every child started, then every child joined; us per child.
void spawn_burst(const Settings& s, const std::string& self, int children) {
  const std::string case_name = "spawn_burst_" + std::to_string(children);
  SharedValue<long> value = SharedValue<long>::create(0);
  std::vector<BurstImpl> impls;
  for (const auto& [name, method] : start_methods(case_name.c_str(), value)) {
    impls.push_back({name, [&value, method = method](int n) {
                       std::vector<interproc::Child> started;
                       for (int i = 0; i < n; ++i) {
                         started.push_back(interproc::spawn_child("attach_and_exit", {}, {value}, method));
                       }
                       for (auto& child : started) {
                         if (child.wait() != 0) throw std::runtime_error("attach_and_exit failed");
                       }
                     }});
  }
  for (auto& floor : bench::burst_floors(self)) impls.push_back(floor);
  for (auto& impl : impls) impl.start_all_then_join(1);  // warm up
  run_case(case_name, "us_per_child", impls, s.curve_rounds, [&](const BurstImpl& impl) {
    const std::int64_t start = bench::now_ns();
    impl.start_all_then_join(children);
    return seconds_since(start) * 1e6 / children;
  });
}

// pool_map_tiny: tasks that return their argument, on a warm pool of 4 workers, beside one
// spawn_child per task (fewer of them, per task).
struct PoolImpl {
  std::string name;
  std::function<double()> us_per_task;
};

double map_us_per_task(interproc::ProcessPool& pool, int tasks) {
  std::vector<std::vector<std::string>> inputs;
  for (int i = 0; i < tasks; ++i) inputs.push_back({std::to_string(i)});
  const std::int64_t start = bench::now_ns();
  const std::vector<std::string> results = pool.map("bench_echo", inputs);
  if (results.size() != inputs.size() || results.back() != inputs.back().front()) {
    throw std::runtime_error("pool map lost results");
  }
  return seconds_since(start) * 1e6 / tasks;
}

void pool_map_tiny(const Settings& s) {
  const int tasks = s.children >= 50 ? 10000 : 2000;
  interproc::ProcessPool spawn_pool(4, {}, StartMethod::spawn);
  std::vector<PoolImpl> impls{{"interproc_pool_spawn", [&] { return map_us_per_task(spawn_pool, tasks); }}};
  std::optional<interproc::ProcessPool> fork_pool;
  if (bench::has_fork) {
    fork_pool.emplace(4, std::vector<interproc::SharedObject>{}, StartMethod::fork);
    impls.push_back({"interproc_pool_fork", [&] { return map_us_per_task(*fork_pool, tasks); }});
  }
  impls.push_back({"interproc_child_per_task", [&] {
                     const std::int64_t start = bench::now_ns();
                     for (int i = 0; i < s.children; ++i) interproc::spawn_child("bench_echo_child").wait();
                     return seconds_since(start) * 1e6 / s.children;
                   }});
  for (auto& impl : impls) impl.us_per_task();  // warm up
  run_case("pool_map_tiny", "us_per_task", impls, s.rounds, [](const PoolImpl& impl) { return impl.us_per_task(); });
}

// pool_map_square: the typed pool.map(square, 100000 longs), automatic chunksize, on a warm
// pool of 4 workers; us per item (Python's peer: Pool(4).map(square, range(100000))).
long bench_square(long x) { return x * x; }
INTERPROC_FUNCTION(bench_square);

double square_us_per_item(interproc::ProcessPool& pool, long items) {
  std::vector<long> inputs(static_cast<std::size_t>(items));
  for (long i = 0; i < items; ++i) inputs[static_cast<std::size_t>(i)] = i;
  const std::int64_t start = bench::now_ns();
  const std::vector<long> results = pool.map(bench_square, inputs);
  if (results.size() != inputs.size() || results.back() != (items - 1) * (items - 1)) {
    throw std::runtime_error("typed pool map lost results");
  }
  return seconds_since(start) * 1e6 / static_cast<double>(items);
}

void pool_map_square(const Settings& s) {
  const long items = 100000;
  interproc::ProcessPool spawn_pool(4, {}, StartMethod::spawn);
  std::vector<PoolImpl> impls{{"interproc_pool_spawn", [&] { return square_us_per_item(spawn_pool, items); }}};
  std::optional<interproc::ProcessPool> fork_pool;
  if (bench::has_fork) {
    fork_pool.emplace(4, std::vector<interproc::SharedObject>{}, StartMethod::fork);
    impls.push_back({"interproc_pool_fork", [&] { return square_us_per_item(*fork_pool, items); }});
  }
  for (auto& impl : impls) impl.us_per_task();  // warm up
  run_case("pool_map_square", "us_per_item", impls, s.rounds, [](const PoolImpl& impl) { return impl.us_per_task(); });
}

// pool_submit_roundtrip: one typed submit(...).get() at a time on a warm pool of 4 (Python's
// peer: apply_async(square, (i,)).get()); us per round trip.
double submit_us_per_round_trip(interproc::ProcessPool& pool, long trips) {
  const std::int64_t start = bench::now_ns();
  for (long i = 0; i < trips; ++i) {
    if (pool.submit(bench_square, i).get() != i * i) throw std::runtime_error("typed pool submit lost its result");
  }
  return seconds_since(start) * 1e6 / static_cast<double>(trips);
}

// pool_bytes: the typed map of an echo over 64 strings of 1 MiB, automatic chunksize, on a
// warm pool of 4; MiB per second through the pool (each MiB goes there and back).
std::string bench_echo_bytes(const std::string& bytes) { return bytes; }
INTERPROC_FUNCTION(bench_echo_bytes);

double bytes_mib_per_s(interproc::ProcessPool& pool) {
  const std::vector<std::string> inputs(64, std::string(std::size_t{1} << 20, 'q'));
  const std::int64_t start = bench::now_ns();
  const std::vector<std::string> results = pool.map(bench_echo_bytes, inputs);
  if (results.size() != inputs.size() || results.back() != inputs.back()) {
    throw std::runtime_error("typed pool map lost bytes");
  }
  return 64.0 / seconds_since(start);
}

// The pool cases over spawn workers, then fork workers where there are.
template <class Measure>
void pool_case(const Settings& s, const char* case_name, const char* metric, Measure measure) {
  interproc::ProcessPool spawn_pool(4, {}, StartMethod::spawn);
  std::vector<PoolImpl> impls{{"interproc_pool_spawn", [&] { return measure(spawn_pool); }}};
  std::optional<interproc::ProcessPool> fork_pool;
  if (bench::has_fork) {
    fork_pool.emplace(4, std::vector<interproc::SharedObject>{}, StartMethod::fork);
    impls.push_back({"interproc_pool_fork", [&] { return measure(*fork_pool); }});
  }
  for (auto& impl : impls) impl.us_per_task();  // warm up
  run_case(case_name, metric, impls, s.rounds, [](const PoolImpl& impl) { return impl.us_per_task(); });
}

void pool_submit_roundtrip(const Settings& s) {
  const long trips = s.children >= 50 ? 5000 : 1000;
  pool_case(s, "pool_submit_roundtrip", "us_per_round_trip",
            [trips](interproc::ProcessPool& pool) { return submit_us_per_round_trip(pool, trips); });
}

// pool_bytes' copy_floor: what the parent alone must do for the same MiB, whatever the pool:
// copy each input once into shared memory, and each result once out of it into a new string
// (as the results of map are); no worker, no encoding.
double bytes_copy_floor_mib_per_s() {
  const std::vector<std::string> inputs(64, std::string(std::size_t{1} << 20, 'q'));
  const interproc::SharedSegment shared = interproc::SharedSegment::create(std::size_t{4} << 20);
  auto* arena = reinterpret_cast<char*>(shared.bytes().data());
  const std::int64_t start = bench::now_ns();
  std::vector<std::string> results;
  results.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    char* place = arena + (i % 4) * inputs[i].size();
    std::memcpy(place, inputs[i].data(), inputs[i].size());
    results.emplace_back(place, inputs[i].size());
  }
  const double rate = 64.0 / seconds_since(start);
  if (results.back() != inputs.back()) throw std::runtime_error("copy floor lost bytes");
  return rate;
}

void pool_bytes(const Settings& s) {
  interproc::ProcessPool spawn_pool(4, {}, StartMethod::spawn);
  std::vector<PoolImpl> impls{{"interproc_pool_spawn", [&] { return bytes_mib_per_s(spawn_pool); }}};
  std::optional<interproc::ProcessPool> fork_pool;
  if (bench::has_fork) {
    fork_pool.emplace(4, std::vector<interproc::SharedObject>{}, StartMethod::fork);
    impls.push_back({"interproc_pool_fork", [&] { return bytes_mib_per_s(*fork_pool); }});
  }
  impls.push_back({"copy_floor", [] { return bytes_copy_floor_mib_per_s(); }});
  for (auto& impl : impls) impl.us_per_task();  // warm up
  run_case("pool_bytes", "mib_per_s", impls, s.rounds, [](const PoolImpl& impl) { return impl.us_per_task(); });
}

// ---- messaging: queue_1p1c, queue_4p1c (ns per 64-byte item), pingpong (ns per round trip) ----

struct Item64 {
  char bytes[64];
};

struct MessageImpl {
  std::string name;
  std::function<double()> measure;
};

double interproc_queue_ns(int producers, long items) {
  auto q = interproc::SharedQueue<Item64>::create(1024);
  std::vector<interproc::Child> children;
  const std::int64_t start = bench::now_ns();
  for (int p = 0; p < producers; ++p)
    children.push_back(interproc::spawn_child("bench_queue_producer", {std::to_string(items / producers)}, {q},
                                              bench::has_fork ? StartMethod::fork : StartMethod::spawn));
  for (long i = 0; i < items / producers * producers; ++i) {
    if (!q.pop()) throw std::runtime_error("queue closed early");
  }
  const double ns = static_cast<double>(bench::now_ns() - start) / static_cast<double>(items);
  for (auto& c : children) c.wait();
  return ns;
}

double interproc_pingpong_ns(long trips) {
  auto ping = interproc::InterprocessEvent::create();
  auto pong = interproc::InterprocessEvent::create();
  interproc::Child child = interproc::spawn_child("bench_pong", {std::to_string(trips)}, {ping, pong},
                                                  bench::has_fork ? StartMethod::fork : StartMethod::spawn);
  const std::int64_t start = bench::now_ns();
  for (long i = 0; i < trips; ++i) {
    ping.set();
    pong.wait();
    pong.clear();
  }
  const double ns = static_cast<double>(bench::now_ns() - start) / static_cast<double>(trips);
  child.wait();
  return ns;
}

void messaging(const Settings& s) {
  const long items = s.children >= 50 ? 200000 : 40000;
  const long trips = s.children >= 50 ? 20000 : 4000;
  for (int producers : {1, 4}) {
    std::vector<MessageImpl> impls{{"interproc", [=] { return interproc_queue_ns(producers, items); }}};
    for (const auto& floor : bench::message_floors())
      impls.push_back({floor.name, [=] { return floor.ns_per_item(producers, items); }});
    for (const auto& peer : bench::boost_messaging())
      impls.push_back({peer.name, [=] { return peer.ns_per_item(producers, items); }});
    run_case(producers == 1 ? "queue_1p1c" : "queue_4p1c", "ns_per_item", impls, s.rounds,
             [](const MessageImpl& impl) { return impl.measure(); });
  }
  std::vector<MessageImpl> impls{{"interproc", [=] { return interproc_pingpong_ns(trips); }}};
  for (const auto& floor : bench::message_floors())
    impls.push_back({floor.name, [=] { return floor.ns_per_round_trip(trips); }});
  for (const auto& peer : bench::boost_messaging())
    impls.push_back({peer.name, [=] { return peer.ns_per_round_trip(trips); }});
  run_case("pingpong", "ns_per_round_trip", impls, s.rounds, [](const MessageImpl& impl) { return impl.measure(); });
}

}  // namespace

// Pushes args[0] 64-byte items into queue 0.
INTERPROC_CHILD_ENTRY(bench_queue_producer) {
  auto& q = ctx.queue<Item64>(0);
  const Item64 item{{1}};
  for (long i = 0, n = std::stol(ctx.args().at(0)); i < n; ++i) q.push(item);
  return 0;
}

// Answers args[0] pings: waits for event 0, clears it, sets event 1.
INTERPROC_CHILD_ENTRY(bench_pong) {
  auto& ping = ctx.event(0);
  auto& pong = ctx.event(1);
  for (long i = 0, n = std::stol(ctx.args().at(0)); i < n; ++i) {
    ping.wait();
    ping.clear();
    pong.set();
  }
  return 0;
}

INTERPROC_TASK(bench_echo) { return ctx.args().at(0); }

INTERPROC_CHILD_ENTRY(bench_echo_child) { return 0; }

namespace {

struct Case {
  std::string name;
  std::function<void()> run;
};

std::vector<Case> all_cases(const Settings& s, const std::string& self, const std::vector<LockImpl>& locks,
                            const std::map<std::string, double>& ns_per_op) {
  std::vector<Case> cases;
  for (const auto& [name, mib] : {std::pair{"segment_touch_1m", 1}, {"segment_touch_64m", 64}}) {
    cases.push_back(
        {name, [&s, name = name, mib = mib] { segment_touch(name, std::size_t(mib) << 20, s.curve_rounds); }});
  }
  cases.push_back(
      {"segment_touch_256m", [&s] { segment_touch("segment_touch_256m", std::size_t{256} << 20, s.rounds); }});
  cases.push_back(
      {"segment_touch_1g", [&s] { segment_touch_huge("segment_touch_1g", std::size_t{1} << 30, s.huge_rounds); }});
  cases.push_back({"lock_uncontended", [&] { lock_uncontended(s, locks, ns_per_op); }});
  for (int procs : {2, 4, 8, bench::max_contenders}) {
    cases.push_back(
        {"lock_contended_" + std::to_string(procs) + "p", [&, procs] { lock_contended(s, locks, ns_per_op, procs); }});
  }
  cases.push_back({"spawn_join", [&s, self] { spawn_join(s, self); }});
  for (int children : {1, 8, 64}) {
    cases.push_back(
        {"spawn_burst_" + std::to_string(children), [&s, self, children] { spawn_burst(s, self, children); }});
  }
  cases.push_back({"pool_map_tiny", [&s] { pool_map_tiny(s); }});
  cases.push_back({"pool_map_square", [&s] { pool_map_square(s); }});
  cases.push_back({"pool_submit_roundtrip", [&s] { pool_submit_roundtrip(s); }});
  cases.push_back({"pool_bytes", [&s] { pool_bytes(s); }});
  cases.push_back({"messaging", [&s] { messaging(s); }});
  cases.push_back({"pipe_pingpong", [&s] { bench::pipe_pingpong(s.rounds, s.children < 50); }});
  cases.push_back({"pipe_bytes", [&s] { bench::pipe_bytes(s.rounds, s.children < 50); }});
  cases.push_back(
      {"queue_strings", [&s] {
         const long items = s.children >= 50 ? 200000 : 40000;
         const std::vector<MessageImpl> impls{{"interproc", [=] { return bench::queue_strings_ns(items); }}};
         run_case("queue_strings", "ns_per_item", impls, s.rounds,
                  [](const MessageImpl& impl) { return impl.measure(); });
       }});
  return cases;
}

bool begins_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], bench::exit_now_flag) == 0) return 0;  // the floors' child
  if (auto code = interproc::child_main(argc, argv)) return *code;

  Settings settings = full_settings;
  std::vector<std::string> wanted;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      settings = quick_settings;
    } else {
      wanted.emplace_back(argv[i]);
    }
  }
  try {
    const std::vector<LockImpl> locks = all_locks();
    const std::map<std::string, double> ns_per_op = calibrate(locks);
    const std::vector<Case> cases = all_cases(settings, argv[0], locks, ns_per_op);
    auto selected = [&](const Case& c) {
      return wanted.empty() || std::any_of(wanted.begin(), wanted.end(),
                                           [&](const std::string& prefix) { return begins_with(c.name, prefix); });
    };
    for (const std::string& prefix : wanted) {
      if (std::none_of(cases.begin(), cases.end(), [&](const Case& c) { return begins_with(c.name, prefix); })) {
        std::fprintf(stderr, "usage: interproc_bench [--quick] [CASE...]\ncases:");
        for (const Case& c : cases) std::fprintf(stderr, " %s", c.name.c_str());
        std::fprintf(stderr, "\n");
        return 2;
      }
    }
    for (const Case& c : cases) {
      if (selected(c)) c.run();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "interproc_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
