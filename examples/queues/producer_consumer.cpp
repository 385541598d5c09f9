// SPDX-License-Identifier: MIT
// A producer and a consumer with a sentinel, as in Python:
//
//   def consumer(q):
//       while (line := q.get()) != "STOP":
//           print("got", line)
//
//   q = multiprocessing.Queue(8)
//   p = multiprocessing.Process(target=consumer, args=(q,)); p.start()
//   for i in range(20): q.put(f"line {i}")
//   q.put("STOP"); p.join()
//
// The consumer is a child process that prints every line it gets until the sentinel; the
// parent checks the count it reports back through a second queue.
#include <interproc/interproc.hpp>

#include <iostream>
#include <string>

namespace {
const std::string sentinel = "STOP";
}

INTERPROC_CHILD_ENTRY(consumer) {
  auto& lines = ctx.queue<std::string>(0);
  long count = 0;
  for (std::string line = lines.pop().value(); line != sentinel; line = lines.pop().value()) {
    std::cout << "got " << line << std::endl;
    ++count;
  }
  ctx.queue<long>(1).push(count);  // a trivially copyable item: the fixed-size queue
  return 0;
}

int main(int argc, char** argv) {
  if (auto code = interproc::child_main(argc, argv)) return *code;
  // 8 lines of up to 1 KiB each: a full queue makes the producer wait for the consumer.
  auto lines = interproc::SharedQueue<std::string>::create(8, 1024);
  auto counted = interproc::SharedQueue<long>::create(1);
  interproc::Child child = interproc::spawn_child("consumer", {}, {lines, counted});
  for (int i = 0; i < 20; ++i) lines.push("line " + std::to_string(i));
  lines.push(sentinel);
  const long count = counted.pop().value();
  if (child.wait() != 0 || count != 20) {
    std::cerr << "the consumer counted " << count << " lines, expected 20\n";
    return 1;
  }
  std::cout << "the consumer got all " << count << " lines" << std::endl;
  return 0;
}
