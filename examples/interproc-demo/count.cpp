// SPDX-License-Identifier: MIT
// interproc-demo count: the classic multiprocessing file-size counter. One child process per file adds the file's size
// to a shared counter under the counter's lock (or, with --via=queue, sends the file's name
// and size back through a queue); the parent prints each file name as it starts its child,
// then the total.
#include "demo.hpp"
#include "glob.hpp"
#include "options.hpp"
#include "platform.hpp"

#include <interproc/process_pool.hpp>
#include <interproc/typed_pool.hpp>
#include <interproc/shared_queue.hpp>
#include <interproc/spawn.hpp>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>
#include <thread>

namespace demo {
namespace {

// The exit code of a child whose file could not be read; it has said why on stderr.
constexpr int file_problem = 1;

// One write of the whole line: children report at the same time, on the same stderr.
void report_problem(const std::string& name, const std::string& reason) {
  std::cerr << "Problem with " + name + ": " + reason + "\n" << std::flush;
}

// ---- the child ----

// Why the last file operation failed, in the OS's words when it left them in errno.
std::string os_reason(const char* fallback) { return errno != 0 ? std::generic_category().message(errno) : fallback; }

// The file's size in bytes, found as the classic counter does: by reading the file.
// Throws std::runtime_error with the reason when it cannot be opened or read.
std::uint64_t read_size(const std::string& name) {
  errno = 0;
  std::ifstream file(std::filesystem::u8path(name), std::ios::binary);
  if (!file) throw std::runtime_error(os_reason("cannot open it"));
  std::uint64_t size = 0;
  static char buffer[64 * 1024];
  while (file.read(buffer, sizeof buffer) || file.gcount() > 0) size += static_cast<std::uint64_t>(file.gcount());
  if (file.bad()) throw std::runtime_error(os_reason("cannot read it"));
  return size;
}

}  // namespace

// A child: adds the size of the file args[0] to the counter (object 0), with or without
// its lock as args[1] says ("lock", "no-lock").
INTERPROC_CHILD_ENTRY(count_file) {
  const std::string& name = ctx.args().at(0);
  std::uint64_t size = 0;
  try {
    size = read_size(name);
  } catch (const std::runtime_error& e) {
    report_problem(name, e.what());
    return file_problem;
  }
  add(ctx.value<std::uint64_t>(0), size, locking_from_argument(ctx.args().at(1)));
  return 0;
}

// What a child sends back with --via=queue: its file's name and size, as the Queue version
// of the classic counter does.
using SizeReport = std::pair<std::string, long>;

// A child for --via=queue: sends (args[0], its size) through the queue (object 0).
INTERPROC_CHILD_ENTRY(report_file_size) {
  const std::string& name = ctx.args().at(0);
  try {
    ctx.queue<SizeReport>(0).push({name, static_cast<long>(read_size(name))});
  } catch (const std::runtime_error& e) {
    report_problem(name, e.what());
    return file_problem;
  }
  return 0;
}

// The pool's function for `count --pool N` (the typed pool): one file's size. A file it
// cannot read throws, and the parent reports it as it reports a child's problem.
long file_size(const std::string& name) { return static_cast<long>(read_size(name)); }
INTERPROC_FUNCTION(file_size);

namespace {

// ---- the parent ----

struct CountOptions : ChildOptions {
  std::size_t jobs = std::max(1u, std::thread::hardware_concurrency());
  std::size_t pool = 0;    // 0: one child per file; else a pool of that many workers
  bool via_queue = false;  // --via=queue: the children send their sizes through a queue
  std::vector<std::string> patterns;
};

CountOptions parse_count_options(const Args& args) {
  CountOptions options;
  bool jobs_given = false;
  ArgReader in(args);
  while (!in.done()) {
    if (read_child_option(in, options)) continue;
    if (auto jobs = in.value("--jobs")) {
      options.jobs = static_cast<std::size_t>(parse_number("--jobs", *jobs, 4096));
      jobs_given = true;
    } else if (auto pool = in.value("--pool")) {
      options.pool = static_cast<std::size_t>(parse_number("--pool", *pool, 4096));
    } else if (auto via = in.value("--via")) {
      if (*via != "counter" && *via != "queue") throw UsageError("--via takes counter or queue, not '" + *via + "'");
      options.via_queue = *via == "queue";
    } else {
      options.patterns.push_back(in.operand());
    }
  }
  if (jobs_given && options.pool != 0)
    throw UsageError("--jobs and --pool cannot be combined: --pool N runs N workers");
  if (options.pool != 0 && options.locking == Locking::without_lock)
    throw UsageError("--no-lock goes without --pool: the pool's sizes are summed in the parent");
  if (options.via_queue && (options.pool != 0 || options.locking == Locking::without_lock))
    throw UsageError("--via=queue goes with a child per file, without --pool or --no-lock");
  if (options.patterns.empty()) options.patterns = platform::default_file_patterns();
  return options;
}

// A child at work, and the file it counts.
struct Running {
  std::string file;
  interproc::Child child;
};

// Waits for the oldest child; true if its file had a problem. The child has reported a
// file it could not read; an exit code other than 0 and file_problem (its entry failed, a
// signal ended it) is reported here.
bool wait_for_oldest(std::deque<Running>& running) {
  Running oldest = std::move(running.front());
  running.pop_front();
  const int code = oldest.child.wait();
  if (code != 0 && code != file_problem) {
    report_problem(oldest.file, "its child process ended with exit code " + std::to_string(code));
  }
  return code != 0;
}

// Starts one child per file, never more than options.jobs at a time, and waits for them
// all. Returns how many files had a problem.
std::size_t count_in_children(const std::vector<std::string>& files, Counter& total, const CountOptions& options) {
  std::deque<Running> running;
  std::size_t problems = 0;
  for (const std::string& file : files) {
    if (running.size() == options.jobs && wait_for_oldest(running)) ++problems;
    // Flushed before the child starts: a forked child must not inherit unwritten output.
    std::cout << file << std::endl;
    const Args child_args{file, to_argument(options.locking)};
    running.push_back({file, interproc::spawn_child("count_file", child_args, {total}, options.start)});
  }
  while (!running.empty()) {
    if (wait_for_oldest(running)) ++problems;
  }
  return problems;
}

// Adds up the reports waiting in `sizes`.
std::uint64_t drain(interproc::SharedQueue<SizeReport>& sizes) {
  std::uint64_t sum = 0;
  while (const auto report = sizes.try_pop()) sum += static_cast<std::uint64_t>(report->second);
  return sum;
}

// --via=queue: one child per file as count_in_children, each sending its file's name and
// size through a queue. The queue holds as many reports as children run at once: the parent
// takes what is queued before each wait, so every child it waits for can push. Returns how
// many files had a problem.
std::size_t count_through_queue(const std::vector<std::string>& files, Counter& total, const CountOptions& options) {
  auto sizes = interproc::SharedQueue<SizeReport>::create(options.jobs);
  std::deque<Running> running;
  std::size_t problems = 0;
  std::uint64_t sum = 0;
  for (const std::string& file : files) {
    if (running.size() == options.jobs) {
      sum += drain(sizes);
      if (wait_for_oldest(running)) ++problems;
    }
    std::cout << file << std::endl;  // flushed before a forked child could inherit it
    running.push_back({file, interproc::spawn_child("report_file_size", {file}, {sizes}, options.start)});
  }
  while (!running.empty()) {
    sum += drain(sizes);
    if (wait_for_oldest(running)) ++problems;
  }
  sum += drain(sizes);
  total.with_lock([sum](std::uint64_t& value) { value = sum; });
  return problems;
}

// One task per file on a pool of options.pool workers, the sizes summed here. Returns how
// many files had a problem.
std::size_t count_in_pool(const std::vector<std::string>& files, Counter& total, const CountOptions& options) {
  interproc::ProcessPool pool(options.pool, {}, options.start);
  std::vector<interproc::TypedFuture<long>> sizes;
  for (const std::string& file : files) {
    std::cout << file << std::endl;  // flushed before a forked worker could inherit it
    sizes.push_back(pool.submit(file_size, file));
  }
  std::size_t problems = 0;
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    try {
      sum += static_cast<std::uint64_t>(sizes[i].get());
    } catch (const std::system_error& e) {  // it could not be read, or its worker died
      report_problem(files[i], e.what());
      ++problems;
    }
  }
  total.with_lock([sum](std::uint64_t& value) { value = sum; });
  return problems;
}

// The files to count: each folder among `files` replaced by the files under it, in name
// order. A folder that cannot be read is a problem, reported, and counted in `problems`.
std::vector<std::string> files_in_folders(const std::vector<std::string>& files, std::size_t& problems) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const std::string& name : files) {
    std::error_code error;
    const fs::path path = fs::u8path(name);
    if (!fs::is_directory(path, error)) {
      out.push_back(name);
      continue;
    }
    std::vector<std::string> found;
    for (fs::recursive_directory_iterator it(path, error), end; !error && it != end; it.increment(error)) {
      if (!it->is_directory(error)) found.push_back(it->path().u8string());
    }
    if (error) {
      report_problem(name, error.message());
      ++problems;
    }
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

int count(const Args& args) {
  const CountOptions options = parse_count_options(args);
  Expansion expansion = expand_globs(options.patterns);
  std::size_t folder_problems = 0;
  expansion.files = files_in_folders(expansion.files, folder_problems);
  for (const Expansion::Unmatched& unmatched : expansion.unmatched) report_problem(unmatched.pattern, unmatched.reason);

  Counter total = Counter::create(0);
  const std::size_t counted = options.pool != 0   ? count_in_pool(expansion.files, total, options)
                              : options.via_queue ? count_through_queue(expansion.files, total, options)
                                                  : count_in_children(expansion.files, total, options);
  const std::size_t problems = counted + expansion.unmatched.size() + folder_problems;
  std::cout << "Total = " << total.with_lock([](std::uint64_t& sum) { return sum; }) << std::endl;
  return problems == 0 ? exit_ok : exit_problem;
}

}  // namespace

const Command count_command = {
    "count", "add up file sizes, one child process per file (the classic multiprocessing counter)",
    "usage: interproc-demo count [--start=fork|spawn|forkserver] [--no-lock] [--jobs N | --pool N] "
    "[--via=counter|queue] [FILE_OR_GLOB_OR_FOLDER...]",
    "Adds up the sizes of the files in a shared counter (interproc::SharedValue): one child\n"
    "process per file reads its file and adds the size under the counter's lock. Prints each\n"
    "file name as it starts its child, then \"Total = N\", the sum in bytes.\n"
    "\n"
    "  --start=spawn  children are new runs of this program (the default, every OS)\n"
    "  --start=fork   children are forks of this process (POSIX only)\n"
    "  --start=forkserver\n"
    "                 children are forks of a server process, itself a fresh run of this\n"
    "                 program started once (POSIX only)\n"
    "  --no-lock      add without the lock: a racy read-modify-write that can lose updates\n"
    "  --jobs N       at most N children at a time (default: the number of CPUs)\n"
    "  --pool N       instead of a child per file, N worker processes (interproc::ProcessPool)\n"
    "                 that each return a file's size, summed here (typed submit of\n"
    "                 long file_size(const std::string&); not with --jobs or --no-lock)\n"
    "  --via=queue    each child sends its file's name and size back through a queue\n"
    "                 (interproc::SharedQueue<std::pair<std::string, long>>), which the\n"
    "                 parent adds up; --via=counter (the default) is the shared counter\n"
    "\n"
    "A FOLDER counts every file under it, in its subfolders too (names starting with '.'\n"
    "included), in name order.\n"
    "Without FILE_OR_GLOB it counts /etc/*.conf, on Windows %SystemRoot%\\*.ini.\n"
    "Patterns (*, ?, [...]) are expanded by interproc-demo itself, so they work in cmd.exe\n"
    "too, in the last component of a path only (\"logs/*.txt\", not \"*/x.txt\"); names that\n"
    "start with '.' need a pattern that does too.\n"
    "\n"
    "A file that cannot be read, and a pattern that matches nothing, print\n"
    "\"Problem with NAME: reason\" on stderr; the other files still count.\n"
    "Exit status: 0, 1 if any file had a problem, 2 for a bad command line (or --start=fork\n"
    "or forkserver on Windows).\n",
    &count};

}  // namespace demo
