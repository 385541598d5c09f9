// SPDX-License-Identifier: MIT
// A work list with a JoinableQueue, as in Python:
//
//   def worker(q, total):
//       while True:
//           n = q.get()
//           with total.get_lock(): total.value += n * n
//           q.task_done()
//
//   q = multiprocessing.JoinableQueue()
//   for _ in range(3): multiprocessing.Process(target=worker, args=(q, total), daemon=True).start()
//   for n in range(1, 101): q.put(n)
//   q.join()      # every item marked done
//
// Here the workers end when the queue is closed instead of being daemons. join() never
// waits for ever on a worker that died holding items: it throws errc::unfinished_tasks.
#include <interproc/interproc.hpp>

#include <iostream>
#include <vector>

INTERPROC_CHILD_ENTRY(worker) {
  auto& work = ctx.joinable_queue<long>(0);
  auto& total = ctx.value<long>(1);
  while (const auto n = work.pop()) {
    total.with_lock([&](long& sum) { sum += *n * *n; });
    work.task_done();
  }
  return 0;
}

int main(int argc, char** argv) {
  if (auto code = interproc::child_main(argc, argv)) return *code;
  auto work = interproc::JoinableQueue<long>::create(16);
  auto total = interproc::SharedValue<long>::create(0);
  std::vector<interproc::Child> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(interproc::spawn_child("worker", {}, {work, total}));
  for (long n = 1; n <= 100; ++n) work.push(n);
  work.join();  // all 100 items done
  const long sum = total.with_lock([](long& value) { return value; });
  work.close();  // the workers' pop() returns std::nullopt: they end
  for (interproc::Child& w : workers) w.wait();
  std::cout << "sum of squares 1..100 = " << sum << std::endl;
  return sum == 338350 ? 0 : 1;
}
