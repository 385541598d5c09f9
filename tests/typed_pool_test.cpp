// SPDX-License-Identifier: MIT
// The typed ProcessPool calls over INTERPROC_FUNCTION functions, with real worker processes:
// map (automatic and explicit chunksize), starmap, imap, imap_unordered, submit, the pool's
// objects through TaskContext&, a throwing task, a crashing task, an unregistered function;
// the initializer (run, replaced workers, one that throws or crashes), PoolOptions::chunksize,
// submit's callbacks, map_async and starmap_async, submit that never waits, join before close.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using interproc::errc;
using interproc::ProcessPool;
using interproc::StartMethod;
namespace test = interproc::test;

namespace {

struct Point {
  double x, y;
};

long square(long x) { return x * x; }
INTERPROC_FUNCTION(square);
long add(long a, long b) { return a + b; }
INTERPROC_FUNCTION(add);
double mean(const std::vector<double>& xs) {
  double sum = 0;
  for (double x : xs) sum += x;
  return xs.empty() ? 0.0 : sum / static_cast<double>(xs.size());
}
INTERPROC_FUNCTION(mean);
std::string upper(const std::string& s) {
  std::string out = s;
  for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}
INTERPROC_FUNCTION(upper);
Point mid(Point a, Point b) { return {(a.x + b.x) / 2, (a.y + b.y) / 2}; }
INTERPROC_FUNCTION(mid);
std::optional<std::string> first_word(const std::vector<std::string>& words) {
  return words.empty() ? std::nullopt : std::optional<std::string>(words[0]);
}
INTERPROC_FUNCTION(first_word);
long bump(interproc::TaskContext& ctx, long by) {
  auto& counter = ctx.value<long>(0);
  std::lock_guard<interproc::InterprocessMutex> hold(counter.get_lock());
  return counter.value() += by;
}
INTERPROC_FUNCTION(bump);
long fails_on_seven(long x) {
  if (x == 7) throw std::runtime_error("seven is refused");
  return x;
}
INTERPROC_FUNCTION(fails_on_seven);
long crashes_on_seven(long x) {
  if (x == 7) std::abort();
  return x;
}
INTERPROC_FUNCTION(crashes_on_seven);
long not_registered(long x) { return x; }

long base_value = 0;  // set in each worker by its initializer
long set_base(long base) { return base_value = base; }
INTERPROC_FUNCTION(set_base);
long plus_base(long x) { return x + base_value; }
INTERPROC_FUNCTION(plus_base);
long count_start(interproc::TaskContext& ctx, long by) {
  auto& starts = ctx.value<long>(0);
  std::lock_guard<interproc::InterprocessMutex> hold(starts.get_lock());
  return starts.value() += by;
}
INTERPROC_FUNCTION(count_start);
long refuse_start(long) { throw std::runtime_error("no start today"); }
INTERPROC_FUNCTION(refuse_start);
long crash_start(long) { std::abort(); }
INTERPROC_FUNCTION(crash_start);
long calls_in_this_worker = 0;
long count_calls(long) { return ++calls_in_this_worker; }  // with one task per worker: the place in its chunk
INTERPROC_FUNCTION(count_calls);
long sleep_ms(long ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
INTERPROC_FUNCTION(sleep_ms);

std::vector<long> iota(long n) {
  std::vector<long> xs;
  for (long i = 0; i < n; ++i) xs.push_back(i);
  return xs;
}

}  // namespace

TEST(TypedPool, MapKeepsInputOrderForEveryStartMethod) {
  for (StartMethod method : test::start_methods()) {
    ProcessPool pool(3, {}, method);
    EXPECT_EQ(pool.map(square, std::vector<long>{1, 2, 3}), (std::vector<long>{1, 4, 9}));
    const std::vector<long> inputs = iota(100000);
    const std::vector<long> results = pool.map(square, inputs);
    ASSERT_EQ(results.size(), inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) ASSERT_EQ(results[i], inputs[i] * inputs[i]);
    EXPECT_EQ(pool.map(square, inputs, 5000), results);
    EXPECT_TRUE(pool.map(square, std::vector<long>{}).empty());
  }
}

TEST(TypedPool, StringsVectorsStructsAndOptionalsTravel) {
  ProcessPool pool(2);
  EXPECT_EQ(pool.map(upper, std::vector<std::string>{"abc", "", "x y"}), (std::vector<std::string>{"ABC", "", "X Y"}));
  EXPECT_EQ(pool.map(mean, std::vector<std::vector<double>>{{1, 2, 3}, {}}), (std::vector<double>{2, 0}));
  const Point m = pool.submit(mid, Point{0, 0}, Point{2, 4}).get();
  EXPECT_EQ(m.x, 1);
  EXPECT_EQ(m.y, 2);
  EXPECT_EQ(pool.map(first_word, std::vector<std::vector<std::string>>{{"hi", "there"}, {}}),
            (std::vector<std::optional<std::string>>{"hi", std::nullopt}));
  const std::string big(20u << 20, 'q');
  EXPECT_EQ(pool.submit(upper, big).get(), std::string(20u << 20, 'Q'));
}

// Payloads that outgrow a worker's inbox and outbox (8 MiB at first) grow them, then smaller
// ones travel in the grown arenas; when the pool ends, no arena is left named.
TEST(TypedPool, PayloadsOfEverySizeGrowTheArenasAndLeaveNoNameBehind) {
  for (StartMethod method : test::start_methods()) {
    const std::vector<std::string> before = test::pool_arena_names();
    {
      ProcessPool pool(1, {}, method);
      for (const std::size_t size : {std::size_t{2} << 20, std::size_t{20} << 20, std::size_t{50} << 20,
                                     std::size_t{1000}, std::size_t{0}, std::size_t{30} << 20}) {
        const std::string input(size, 'a');
        const std::string result = pool.submit(upper, input).get();
        ASSERT_EQ(result.size(), size) << "method " << static_cast<int>(method);
        EXPECT_TRUE(std::all_of(result.begin(), result.end(), [](char c) { return c == 'A'; }));
      }
      const std::vector<std::string> chunk(3, std::string(std::size_t{9} << 20, 'b'));
      EXPECT_EQ(pool.map(upper, chunk, 3), std::vector<std::string>(3, std::string(std::size_t{9} << 20, 'B')));
    }
    const std::vector<std::string> left = test::lasting_new_pool_arena_names(before);
    EXPECT_TRUE(left.empty()) << left.size() << " arena names left, the first " << (left.empty() ? "" : left.front());
  }
}

// A chunk's inputs are written into the inbox when a worker takes it; a call that returned
// early (its callback threw) leaves its queued chunks failing instead of reading inputs that
// are gone (ASan would see the read).
TEST(TypedPool, ACallbackThatThrowsLeavesNoQueuedChunkReadingTheInputs) {
  ProcessPool pool(1);
  {
    const std::vector<std::string> inputs(200, std::string(2000, 'x'));
    EXPECT_THROW(pool.imap(
                     upper, inputs, [](const std::string&) { throw std::runtime_error("stop"); }, 1),
                 std::runtime_error);
  }
  EXPECT_EQ(pool.map(upper, std::vector<std::string>{"a", "b"}), (std::vector<std::string>{"A", "B"}));
}

TEST(TypedPool, SubmitAndStarmap) {
  for (StartMethod method : test::start_methods()) {
    ProcessPool pool(2, {}, method);
    auto f = pool.submit(add, 2L, 3L);
    EXPECT_EQ(f.get(), 5L);
    EXPECT_EQ(pool.starmap(add, std::vector<std::tuple<long, long>>{{1, 2}, {3, 4}}), (std::vector<long>{3, 7}));
  }
}

TEST(TypedPool, ImapIsInOrderAndImapUnorderedDeliversEveryIndexOnce) {
  ProcessPool pool(3);
  const std::vector<long> inputs = iota(1000);
  std::vector<long> ordered;
  pool.imap(
      square, inputs, [&ordered](long r) { ordered.push_back(r); }, 7);
  EXPECT_EQ(ordered, pool.map(square, inputs));
  std::vector<int> seen(inputs.size(), 0);
  pool.imap_unordered(square, inputs, [&](std::size_t index, long r) {
    ASSERT_LT(index, seen.size());
    EXPECT_EQ(r, inputs[index] * inputs[index]);
    ++seen[index];
  });
  for (int n : seen) EXPECT_EQ(n, 1);
}

TEST(TypedPool, TaskContextGivesThePoolsObjects) {
  auto counter = interproc::SharedValue<long>::create(0);
  {
    ProcessPool pool(2, {counter});
    EXPECT_EQ(pool.map(bump, std::vector<long>(100, 2)).size(), 100u);
  }
  EXPECT_EQ(counter.value(), 200);
}

TEST(TypedPool, AThrowingTaskFailsWithItsMessage) {
  ProcessPool pool(2);
  EXPECT_SYSTEM_ERROR(pool.map(fails_on_seven, iota(20), 3), errc::task_failed, "seven is refused");
  EXPECT_SYSTEM_ERROR(pool.submit(fails_on_seven, 7L).get(), errc::task_failed, "seven is refused");
  EXPECT_EQ(pool.submit(fails_on_seven, 8L).get(), 8L);
}

TEST(TypedPool, ImapErrorCallbacksReportEachFailedInputWhileTheOthersArrive) {
  ProcessPool pool(2);
  const std::vector<long> inputs = iota(20);  // 7 fails; with chunks of 1, only it
  std::vector<long> ordered;
  std::vector<std::size_t> failed;
  pool.imap(
      fails_on_seven, inputs, [&](long r) { ordered.push_back(r); },
      [&](std::size_t index, const std::system_error& e) {
        EXPECT_EQ(e.code(), errc::task_failed);
        EXPECT_STREQ(e.what(), "seven is refused");
        failed.push_back(index);
      },
      1);
  EXPECT_EQ(failed, std::vector<std::size_t>{7});
  ASSERT_EQ(ordered.size(), 19u);
  EXPECT_EQ(ordered[7], 8);
  std::vector<bool> arrived(inputs.size(), false);
  failed.clear();
  pool.imap_unordered(
      fails_on_seven, inputs, [&](std::size_t index, long r) { arrived[index] = r == inputs[index]; },
      [&](std::size_t index, const std::system_error&) { failed.push_back(index); }, 5);
  std::sort(failed.begin(), failed.end());
  EXPECT_EQ(failed, (std::vector<std::size_t>{5, 6, 7, 8, 9}));  // the chunk of 7 fails whole, as in Python
  for (std::size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(arrived[i], i < 5 || i >= 10) << i;
  // Without a callback the failure comes after every other result.
  ordered.clear();
  EXPECT_SYSTEM_ERROR(pool.imap(
                          fails_on_seven, inputs, [&](long r) { ordered.push_back(r); }, 1),
                      errc::task_failed, "seven is refused");
  EXPECT_EQ(ordered.size(), 19u);
}

TEST(TypedPool, ATasksMessageReachesTheCallerAsTheTaskWroteIt) {
  ProcessPool pool(1);
  for (int call = 0; call < 2; ++call) {
    try {
      if (call == 0) pool.submit(fails_on_seven, 7L).get();
      if (call == 1) pool.map(fails_on_seven, iota(10), 5);
      ADD_FAILURE() << "no failure";
    } catch (const interproc::TaskError& e) {
      EXPECT_EQ(e.code(), errc::task_failed);
      EXPECT_STREQ(e.what(), "seven is refused");
      EXPECT_NE(std::string(e.task()), "");
    }
  }
}

TEST(TypedPool, ACrashingTaskFailsItsChunkAndThePoolGoesOn) {
  ProcessPool pool(2);
  EXPECT_SYSTEM_ERROR(pool.map(crashes_on_seven, iota(20), 3), errc::task_failed, "");
  EXPECT_EQ(pool.map(square, std::vector<long>{5, 6}), (std::vector<long>{25, 36}));
}

TEST(TypedPool, AnUnregisteredFunctionIsUnknownEntry) {
  ProcessPool pool(1);
  EXPECT_SYSTEM_ERROR(pool.map(not_registered, std::vector<long>{1}), errc::unknown_entry, "INTERPROC_FUNCTION");
  EXPECT_SYSTEM_ERROR(pool.submit(not_registered, 1L), errc::unknown_entry, "INTERPROC_FUNCTION");
}

TEST(TypedPool, ADefaultPoolHasOneWorkerPerHardwareThread) {
  ProcessPool pool;
  EXPECT_EQ(pool.size(), std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(pool.map(square, std::vector<long>{4}), std::vector<long>{16});
}

TEST(TypedPool, TheInitializerRunsInEveryWorkerBeforeItsFirstTaskAndInReplacements) {
  for (StartMethod method : test::start_methods()) {
    interproc::PoolOptions options;
    options.method = method;
    options.max_tasks_per_worker = 1;  // every chunk in a new worker
    options.initializer = interproc::pool_initializer(set_base, 100L);
    ProcessPool pool(2, {}, options);
    const std::vector<long> inputs = iota(10);
    const std::vector<long> results = pool.map(plus_base, inputs, 1);
    for (std::size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(results[i], inputs[i] + 100);
    EXPECT_EQ(pool.submit(plus_base, 5L).get(), 105);
  }
}

TEST(TypedPool, TheInitializerGetsThePoolsObjects) {
  auto starts = interproc::SharedValue<long>::create(0);
  {
    interproc::PoolOptions options;
    options.max_tasks_per_worker = 1;
    options.initializer = interproc::pool_initializer(count_start, 1L);
    ProcessPool pool(2, {starts}, options);
    EXPECT_EQ(pool.map(square, iota(6), 1).size(), 6u);
  }
  EXPECT_GE(starts.value(), 6);  // one per chunk's worker, and the replacements still starting
}

TEST(TypedPool, AThrowingInitializerBreaksThePoolWithItsMessage) {
  interproc::PoolOptions options;
  options.initializer = interproc::pool_initializer(refuse_start, 0L);
  ProcessPool pool(2, {}, options);
  EXPECT_SYSTEM_ERROR(pool.map(square, iota(100)), errc::pool_broken, "no start today");
  EXPECT_SYSTEM_ERROR(pool.submit(square, 2L), errc::pool_broken, "refuse_start");
}

TEST(TypedPool, ACrashingInitializerBreaksThePool) {
  for (StartMethod method : test::start_methods()) {
    interproc::PoolOptions options;
    options.method = method;
    options.initializer = interproc::pool_initializer(crash_start, 0L);
    ProcessPool pool(2, {}, options);
    EXPECT_SYSTEM_ERROR(pool.submit(square, 2L).get(), errc::pool_broken, "crash_start");
    EXPECT_SYSTEM_ERROR(pool.map(square, iota(10)), errc::pool_broken, "ended its worker");
  }
}

TEST(TypedPool, AnInitializerMustBeRegistered) {
  EXPECT_SYSTEM_ERROR(interproc::pool_initializer(not_registered, 1L), errc::unknown_entry, "never registered");
}

TEST(TypedPool, PoolOptionsChunksizeIsTheDefaultAndAnExplicitOneOverridesIt) {
  // One chunk per worker, so count_calls numbers each chunk's items 1, 2, ...
  const auto chunks_of = [](std::size_t size, std::size_t items) {
    std::vector<long> expected;
    for (std::size_t i = 0; i < items; ++i) expected.push_back(static_cast<long>(i % size + 1));
    return expected;
  };
  interproc::PoolOptions options;
  options.max_tasks_per_worker = 1;
  options.chunksize = 5;
  ProcessPool pool(1, {}, options);
  EXPECT_EQ(pool.map(count_calls, iota(12)), chunks_of(5, 12));
  EXPECT_EQ(pool.map(count_calls, iota(12), 4), chunks_of(4, 12));
  options.chunksize = 0;
  ProcessPool automatic(1, {}, options);
  EXPECT_EQ(automatic.map(count_calls, iota(12)), chunks_of(3, 12));  // four chunks per worker
}

TEST(TypedPool, SubmitCallsItsCallbackBeforeTheFutureIsReady) {
  ProcessPool pool(2);
  std::atomic<long> seen{0};
  std::atomic<int> errors{0};
  auto f = pool.submit(
      add, std::tuple{2L, 3L}, [&](long r) { seen = r; }, [&](const std::system_error&) { ++errors; });
  EXPECT_EQ(f.get(), 5L);
  EXPECT_EQ(seen.load(), 5L);
  std::string message;
  auto g = pool.submit(
      fails_on_seven, std::tuple{7L}, [&](long) { seen = -1; },
      [&](const std::system_error& e) {
        EXPECT_EQ(e.code(), errc::task_failed);
        message = e.what();
      });
  EXPECT_SYSTEM_ERROR(g.get(), errc::task_failed, "seven is refused");
  EXPECT_NE(message.find("seven is refused"), std::string::npos) << message;
  EXPECT_EQ(seen.load(), 5L);
  EXPECT_EQ(errors.load(), 0);
}

TEST(TypedPool, ManyCallbacksEachRunOnceAndMaySubmitMore) {
  ProcessPool pool(2);
  std::mutex mutex;
  long sum = 0;
  std::vector<interproc::TypedFuture<long>> futures;
  for (long i = 0; i < 300; ++i) {
    futures.push_back(pool.submit(square, std::tuple{i}, [&](long r) {
      std::lock_guard<std::mutex> hold(mutex);
      sum += r;
    }));
  }
  for (auto& f : futures) f.get();
  long expected = 0;
  for (long i = 0; i < 300; ++i) expected += i * i;
  EXPECT_EQ(sum, expected);
  // A callback runs outside the pool's lock: it may submit (not wait: it would hold back
  // the results, its own among them).
  std::optional<interproc::TypedFuture<long>> inner;
  pool.submit(square, std::tuple{3L}, [&](long r) { inner.emplace(pool.submit(square, r)); }).get();
  ASSERT_TRUE(inner.has_value());
  EXPECT_EQ(inner->get(), 81L);
}

// Threads waiting in get() take results themselves: the callbacks still run one at a time.
TEST(TypedPool, CallbacksRunOneAtATimeWhileManyThreadsWaitInGet) {
  ProcessPool pool(3);
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (long i = 0; i < 200; ++i) {
        auto f = pool.submit(square, std::tuple{i}, [&](long) {
          if (inside.fetch_add(1) != 0) ++overlaps;
          std::this_thread::sleep_for(std::chrono::microseconds(20));
          inside.fetch_sub(1);
        });
        if (f.get() != i * i) ++wrong;
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
}

TEST(TypedPool, AFutureOutlivesItsPool) {
  std::optional<interproc::TypedFuture<long>> done;
  std::optional<interproc::TypedFuture<long>> cut;
  {
    ProcessPool pool(1);
    done.emplace(pool.submit(square, 9L));
  }
  EXPECT_EQ(done->get(), 81L);
  {
    ProcessPool pool(1);
    cut.emplace(pool.submit(sleep_ms, 1000000L));
    pool.terminate();
  }
  EXPECT_SYSTEM_ERROR(cut->get(), errc::task_failed, "terminated");
}

TEST(TypedPool, MapAsyncAndStarmapAsyncGiveTheWholeResult) {
  ProcessPool pool(3);
  const std::vector<long> inputs = iota(1000);
  auto f = pool.map_async(square, inputs);
  auto sums = pool.starmap_async(add, std::vector<std::tuple<long, long>>{{1, 2}, {3, 4}});
  EXPECT_EQ(f.get(), pool.map(square, inputs));
  EXPECT_EQ(sums.get(), (std::vector<long>{3, 7}));
  EXPECT_TRUE(pool.map_async(square, std::vector<long>{}).get().empty());
  EXPECT_SYSTEM_ERROR(pool.map_async(fails_on_seven, iota(20), 3).get(), errc::task_failed, "seven is refused");
  EXPECT_SYSTEM_ERROR(pool.map_async(not_registered, std::vector<long>{}), errc::unknown_entry, "map_async");
}

TEST(TypedPool, SubmitNeverWaitsAndTerminateFailsWhatIsPending) {
  ProcessPool pool(2);
  std::vector<interproc::TypedFuture<long>> futures;
  for (int i = 0; i < 2000; ++i) futures.push_back(pool.submit(sleep_ms, 1000L));  // 1000 s of work
  pool.terminate();
  for (auto& f : futures) EXPECT_SYSTEM_ERROR(f.get(), errc::task_failed, "terminated");
}

TEST(TypedPool, JoinBeforeCloseIsRefused) {
  ProcessPool pool(1);
  EXPECT_SYSTEM_ERROR(pool.join(), errc::invalid_argument, "still running");
  EXPECT_EQ(pool.submit(square, 3L).get(), 9L);
  pool.close();
  pool.join();
}

TEST(TypedPool, TheUnknownEntryErrorNamesTheCallAndTheFunctionsType) {
  ProcessPool pool(1);
  EXPECT_SYSTEM_ERROR(pool.map(not_registered, std::vector<long>{1}), errc::unknown_entry, "ProcessPool::map");
  EXPECT_SYSTEM_ERROR(pool.submit(not_registered, 1L), errc::unknown_entry, "(*)(long");
}
