// SPDX-License-Identifier: MIT
// queue_strings: std::string items of 16 B to 4 KiB (16, 32, ... 4096 in turn) from one
// producer process to this one through a SharedQueue<std::string> of 1024 items; ns per
// item. Python's peer (bench/baseline.py): the same strings through multiprocessing.Queue.
#include "bench.hpp"

#include <interproc/interproc.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr std::size_t largest_item = 4096;

// The items in the order they travel: item i is sizes()[i % 9] bytes long.
std::vector<std::string> items_to_send() {
  std::vector<std::string> items;
  for (std::size_t size = 16; size <= largest_item; size *= 2) items.emplace_back(size, 's');
  return items;
}

}  // namespace

// Pushes args[0] strings into queue 0.
INTERPROC_CHILD_ENTRY(bench_string_producer) {
  auto& q = ctx.queue<std::string>(0);
  const std::vector<std::string> items = items_to_send();
  for (long i = 0, n = std::stol(ctx.args().at(0)); i < n; ++i)
    q.push(items[static_cast<std::size_t>(i) % items.size()]);
  return 0;
}

double bench::queue_strings_ns(long items) {
  auto q = interproc::SharedQueue<std::string>::create(1024, largest_item + 8);
  const std::int64_t start = now_ns();
  interproc::Child producer =
      interproc::spawn_child("bench_string_producer", {std::to_string(items)}, {q},
                             has_fork ? interproc::StartMethod::fork : interproc::StartMethod::spawn);
  const std::size_t expected = items_to_send().size();
  for (long i = 0; i < items; ++i) {
    const auto item = q.pop();
    if (!item || item->size() != std::size_t{16} << (static_cast<std::size_t>(i) % expected))
      throw std::runtime_error("queue_strings: an item lost or changed");
  }
  const double ns = static_cast<double>(now_ns() - start) / static_cast<double>(items);
  producer.wait();
  return ns;
}
