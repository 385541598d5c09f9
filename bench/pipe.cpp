// SPDX-License-Identifier: MIT
// pipe_pingpong (ns per round trip of a `long` over a Connection, there and back) and
// pipe_bytes (GiB/s of 1 MiB messages from a child), each beside the raw pipe floor
// (floor_posix.cpp), pipe_pingpong also beside a raw socketpair's; bench/baseline.py measures Python's
// multiprocessing.Pipe alike.

#include "bench.hpp"

#include <interproc/interproc.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {
namespace {

using interproc::StartMethod;

StartMethod method() { return has_fork ? StartMethod::fork : StartMethod::spawn; }

struct Impl {
  std::string name;
  std::function<double()> measure;
};

// The line format of main.cpp: the median of the rounds and their range.
void run(const char* case_name, const char* metric, const std::vector<Impl>& impls, int rounds) {
  std::vector<std::vector<double>> samples(impls.size());
  for (int round = 0; round < rounds; ++round) {
    for (std::size_t i = 0; i < impls.size(); ++i) samples[i].push_back(impls[i].measure());
  }
  for (std::size_t i = 0; i < impls.size(); ++i) {
    std::vector<double>& v = samples[i];
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    const double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    const char* format = median >= 100 ? "bench %s %s %s=%.1f min=%.1f max=%.1f\n"
                         : median >= 1 ? "bench %s %s %s=%.2f min=%.2f max=%.2f\n"
                                       : "bench %s %s %s=%.3f min=%.3f max=%.3f\n";
    std::printf(format, case_name, impls[i].name.c_str(), metric, median, v.front(), v.back());
    std::fflush(stdout);
  }
}

double connection_round_trips(long trips) {
  auto [left, right] = interproc::Pipe::create();
  interproc::Child child = interproc::spawn_child("bench_pipe_pong", {std::to_string(trips)}, {right}, method());
  right.close();
  left.send(0L);  // the child is running
  (void)left.recv<long>();
  const std::int64_t start = now_ns();
  long value = 0;
  for (long i = 0; i < trips; ++i) {
    left.send(value);
    value = left.recv<long>();
  }
  const double ns = static_cast<double>(now_ns() - start) / static_cast<double>(trips);
  if (value != trips || child.wait() != 0) throw std::runtime_error("bench_pipe_pong failed");
  return ns;
}

double connection_throughput(std::size_t bytes, long messages) {
  auto [left, right] = interproc::Pipe::create();
  interproc::Child child =
      interproc::spawn_child("bench_pipe_source", {std::to_string(bytes), std::to_string(messages)}, {right}, method());
  right.close();
  (void)left.recv<long>();  // the child is running and has its block ready
  const std::int64_t start = now_ns();
  left.send(1L);
  std::size_t total = 0;
  for (long i = 0; i < messages; ++i) total += left.recv_bytes().size();
  const double seconds = static_cast<double>(now_ns() - start) * 1e-9;
  if (total != bytes * static_cast<std::size_t>(messages) || child.wait() != 0)
    throw std::runtime_error("bench_pipe_source failed");
  return static_cast<double>(total) / seconds / double(1u << 30);
}

}  // namespace

void pipe_pingpong(int rounds, bool quick) {
  const long trips = quick ? 4000 : 20000;
  std::vector<Impl> impls{{"interproc", [=] { return connection_round_trips(trips); }}};
  for (const auto& floor : message_floors())
    impls.push_back({floor.name, [=] { return floor.ns_per_round_trip(trips); }});
  for (const auto& floor : socket_floors())
    impls.push_back({floor.name, [=] { return floor.ns_per_round_trip(trips); }});
  run("pipe_pingpong", "ns_per_round_trip", impls, rounds);
}

void pipe_bytes(int rounds, bool quick) {
  const std::size_t bytes = std::size_t(1) << 20;
  const long messages = quick ? 128 : 512;
  std::vector<Impl> impls{{"interproc", [=] { return connection_throughput(bytes, messages); }}};
  for (const auto& floor : throughput_floors())
    impls.push_back({floor.name, [=] { return floor.gib_per_s(bytes, messages); }});
  run("pipe_bytes", "gib_per_s", impls, rounds);
}

}  // namespace bench

// Answers: receives a long, sends it back plus one, args[0] times after a first hello.
INTERPROC_CHILD_ENTRY(bench_pipe_pong) {
  interproc::Connection& conn = ctx.connection(0);
  conn.send(conn.recv<long>());
  for (long i = 0, n = std::stol(ctx.args().at(0)); i < n; ++i) conn.send(conn.recv<long>() + 1);
  return 0;
}

// Sends args[1] messages of args[0] bytes once told to.
INTERPROC_CHILD_ENTRY(bench_pipe_source) {
  interproc::Connection& conn = ctx.connection(0);
  const std::vector<std::byte> block(std::stoul(ctx.args().at(0)), std::byte{1});
  conn.send(0L);
  (void)conn.recv<long>();
  for (long i = 0, n = std::stol(ctx.args().at(1)); i < n; ++i) conn.send_bytes(block);
  return 0;
}
