// SPDX-License-Identifier: MIT
// The consumer test's program, and the README's "first program": it uses interproc as an
// outside project would, through the umbrella header and the interproc::interproc target,
// and starts real children. Exit code 0 means it all worked.
#include <interproc/interproc.hpp>

#include <cstdio>
#include <vector>

// A child entry, found by name: a re-executed child cannot receive a function pointer.
INTERPROC_CHILD_ENTRY(add_one) {
  ctx.value<long>(0).with_lock([](long& v) { v += 1; });
  return 0;
}

int main(int argc, char** argv) {
  // The guard, first: in a spawn-style child this runs the entry and returns its exit code.
  if (auto code = interproc::child_main(argc, argv)) return *code;

  auto counter = interproc::SharedValue<long>::create(0);
  std::vector<interproc::Child> children;
  for (int i = 0; i < 4; ++i) children.push_back(interproc::spawn_child("add_one", {}, {counter}));
  for (auto& child : children) child.wait();
  std::printf("%ld\n", counter.value());  // 4
  return counter.value() == 4 ? 0 : 1;
}
