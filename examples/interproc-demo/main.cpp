// SPDX-License-Identifier: MIT
// interproc-demo: the interproc library at work, and the first example to read.
//
//   interproc-demo count [FILE_OR_GLOB...]  the file-size counter: one child process per file adds
//                                           the file's size to a shared counter
//   interproc-demo race                     lost updates, with and without the counter's lock
//   interproc-demo guard                    what the guard at the top of main() is for
//
// Every child is this same program. spawn_child() starts it again with
// a child token as its first argument, and the guard below sends it to the entry it
// was started for: INTERPROC_CHILD_ENTRY(count_file) in count.cpp, (race_worker) in race.cpp.
#include "demo.hpp"

#include <interproc/spawn.hpp>

int main(int argc, char** argv) {
  // Not part of the pattern: `interproc-demo guard` starts one copy of this program that
  // skips the guard, to show what the guard prevents (guard.cpp).
  if (demo::is_guardless_copy(argc, argv)) return demo::main_without_guard();

  // The guard. In a child started by spawn_child(), child_main() runs the child's entry and
  // returns its exit code; in the parent it returns std::nullopt and main() goes on.
  if (auto code = interproc::child_main(argc, argv)) return *code;

  // Only the parent gets here: the command line is the user's.
  return demo::run(argc, argv);
}
