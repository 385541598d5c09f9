// SPDX-License-Identifier: MIT
// interproc-demo race: worker processes each add 1 to a shared counter K times. With the
// counter's lock every update counts; without it, updates made at the same moment are lost.
#include "demo.hpp"
#include "options.hpp"
#include "platform.hpp"

#include <interproc/spawn.hpp>

#include <chrono>
#include <iostream>
#include <optional>
#include <thread>

namespace demo {
namespace {

// Where the workers wait until all of them are running, so that they add at the same time
// (starting a process takes far longer than adding 1 a hundred thousand times).
struct StartLine {
  std::uint64_t ready;  // workers waiting at the line
  bool go;              // set by the parent once they all are
};
using SharedStartLine = interproc::SharedValue<StartLine>;

}  // namespace

// A worker: waits at the start line (object 1) for the parent's go, then adds 1 to the
// counter (object 0) args[0] times, with or without the counter's lock as args[1] says.
INTERPROC_CHILD_ENTRY(race_worker) {
  const auto increments = std::stoull(ctx.args().at(0));
  const Locking locking = locking_from_argument(ctx.args().at(1));
  Counter& counter = ctx.value<std::uint64_t>(0);
  SharedStartLine& line = ctx.value<StartLine>(1);
  line.with_lock([](StartLine& l) { ++l.ready; });
  while (!line.with_lock([](StartLine& l) { return l.go; })) std::this_thread::yield();
  for (unsigned long long i = 0; i < increments; ++i) add(counter, 1, locking);
  return 0;
}

namespace {

struct RaceOptions : ChildOptions {
  std::uint64_t workers = 4;
  std::uint64_t increments = 100000;
};

RaceOptions parse_race_options(const Args& args) {
  RaceOptions options;
  ArgReader in(args);
  while (!in.done()) {
    if (read_child_option(in, options)) continue;
    if (auto workers = in.value("--workers")) {
      options.workers = parse_number("--workers", *workers, 256);
    } else if (auto increments = in.value("--increments")) {
      options.increments = parse_number("--increments", *increments, 100000000);
    } else {
      throw UsageError("unexpected argument '" + in.operand() + "'");
    }
  }
  return options;
}

// Returns once every worker waits at the start line, or one of them has ended already.
void wait_until_ready(SharedStartLine& line, std::vector<interproc::Child>& workers) {
  while (line.with_lock([](StartLine& l) { return l.ready; }) < workers.size()) {
    for (interproc::Child& worker : workers) {
      if (worker.wait_for(std::chrono::milliseconds(0))) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Waits for every worker; returns how many failed. When stderr is a terminal, a line there
// shows the counter once a second ("\r" redraws it), cleared at the end.
int wait_for_workers(std::vector<interproc::Child>& workers, Counter& counter, std::uint64_t expected) {
  const bool show_progress = platform::stderr_is_terminal();
  bool shown = false;
  int failed = 0;
  for (interproc::Child& worker : workers) {
    std::optional<int> code;
    while (!(code = worker.wait_for(std::chrono::seconds(1))) && show_progress) {
      const std::uint64_t done = counter.with_lock([](std::uint64_t& sum) { return sum; });
      std::cerr << "\r" << done << " of " << expected << " added..." << std::flush;
      shown = true;
    }
    if (!code) code = worker.wait();
    if (*code != 0) ++failed;
  }
  if (shown) std::cerr << "\r\033[K" << std::flush;  // ECMA-48 EL: erase to the end of the line
  return failed;
}

// Starts the workers, lets them go together, and waits for them all. Returns how many
// of them failed.
int run_workers(Counter& counter, const RaceOptions& options) {
  const Args worker_args{std::to_string(options.increments), to_argument(options.locking)};
  SharedStartLine line = SharedStartLine::create(StartLine{0, false});
  std::vector<interproc::Child> workers;
  for (std::uint64_t i = 0; i < options.workers; ++i) {
    workers.push_back(interproc::spawn_child("race_worker", worker_args, {counter, line}, options.start));
  }
  wait_until_ready(line, workers);
  line.with_lock([](StartLine& l) { l.go = true; });
  return wait_for_workers(workers, counter, options.workers * options.increments);
}

void explain_lost_updates(std::uint64_t total, std::uint64_t expected) {
  if (total == expected) {
    std::cout << "No update was lost this time, but nothing prevents it: try more --increments.\n";
    return;
  }
  std::cout << expected - total << " updates were lost: two workers read the same value, both wrote it + 1.\n"
            << "Run it again without --no-lock: the lock makes each read-add-write one step.\n";
}

int race(const Args& args) {
  const RaceOptions options = parse_race_options(args);
  const bool locked = options.locking == Locking::with_lock;
  std::cout << options.workers << " workers (" << to_string(options.start) << ") each add 1 to a shared counter "
            << options.increments << " times, " << (locked ? "with" : "without") << " its lock." << std::endl;

  Counter counter = Counter::create(0);
  const int failed = run_workers(counter, options);
  const std::uint64_t total = counter.with_lock([](std::uint64_t& sum) { return sum; });
  const std::uint64_t expected = options.workers * options.increments;
  std::cout << "Total = " << total << " (expected " << expected << ")\n";
  if (!locked) explain_lost_updates(total, expected);
  if (failed != 0) std::cerr << "interproc-demo race: " << failed << " workers failed\n";
  return failed != 0 || (locked && total != expected) ? exit_problem : exit_ok;
}

}  // namespace

const Command race_command = {
    "race", "workers add 1 to a shared counter, with or without its lock",
    "usage: interproc-demo race [--start=fork|spawn|forkserver] [--no-lock] [--workers N] [--increments K]",
    "Starts N worker processes that each add 1 to a shared counter K times, all at once.\n"
    "With the counter's lock (the default) every update counts: Total = N*K. Without it,\n"
    "each addition is a separate read and write of shared memory, and when two workers\n"
    "read the same value one of their updates is lost.\n"
    "\n"
    "  --start=spawn  workers are new runs of this program (the default, every OS)\n"
    "  --start=fork   workers are forks of this process (POSIX only)\n"
    "  --start=forkserver\n"
    "                 workers are forks of a server process, itself a fresh run of this\n"
    "                 program started once (POSIX only)\n"
    "  --no-lock      add without the lock, and count the updates lost\n"
    "  --workers N    worker processes (default 4, at most 256)\n"
    "  --increments K additions per worker (default 100000)\n"
    "\n"
    "While the workers run, a line on stderr shows the counter once a second when stderr is\n"
    "a terminal.\n"
    "\n"
    "Exit status: 0, 1 if a worker failed or the total with the lock is wrong, 2 for a bad\n"
    "command line (or --start=fork or forkserver on Windows).\n",
    &race};

}  // namespace demo
