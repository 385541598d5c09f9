// SPDX-License-Identifier: MIT
// The typed ProcessPool calls over INTERPROC_FUNCTION functions, with real worker processes:
// map (automatic and explicit chunksize), starmap, imap, imap_unordered, submit, the pool's
// objects through TaskContext&, a throwing task, a crashing task, an unregistered function.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <algorithm>
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
