// SPDX-License-Identifier: MIT
// The test binary is its own child: spawn-style children re-execute it, and this guard
// sends them to their entry instead of into the test suite (the library's guard, dogfooded).
#include <interproc/spawn.hpp>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
  if (auto code = interproc::child_main(argc, argv)) return *code;
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
