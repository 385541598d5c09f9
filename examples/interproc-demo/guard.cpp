// SPDX-License-Identifier: MIT
// interproc-demo guard: what the guard at the top of main() is for, shown with a copy of
// this program whose main() skips it.
//
// The parent starts the copy with spawn_child(), like any child, plus one argument after
// the child token: copy_switch. main() sees it and, instead of the guard, runs
// main_without_guard(): what a program without the guard does in its children, namely run
// the parent's code again, which starts a child. The library refuses that spawn_child()
// with errc::missing_guard; the copy prints the error and exits with copy_was_refused.
#include "demo.hpp"
#include "options.hpp"

#include <interproc/error.hpp>
#include <interproc/spawn.hpp>

#include <chrono>
#include <iostream>
#include <sstream>
#include <string_view>
#include <system_error>

namespace demo {
namespace {

constexpr std::string_view copy_switch = "--demo-copy-without-guard";

// The copy's exit codes, which tell the parent how the lesson went.
constexpr int copy_was_refused = 3;    // spawn_child() threw errc::missing_guard: as intended
constexpr int copy_started_child = 4;  // spawn_child() started a process: the library failed
constexpr int copy_failed_otherwise = 5;

// Prints `text` in lines of at most `width` characters (words are not split), indented.
void print_wrapped(const std::string& text, std::string_view indent, std::size_t width) {
  std::istringstream words(text);
  std::string word;
  std::size_t column = 0;
  while (words >> word) {
    if (column > 0 && column + 1 + word.size() > width) {
      std::cout << '\n';
      column = 0;
    }
    std::cout << (column == 0 ? indent : " ") << word;
    column += (column == 0 ? indent.size() : 1) + word.size();
  }
  std::cout << '\n';
}

void explain() {
  std::cout << "The guard is the statement at the top of interproc-demo's main():\n"
               "\n"
               "    if (auto code = interproc::child_main(argc, argv)) return *code;\n"
               "\n"
               "spawn_child() starts a child by running this same program again, with\n"
               "a child token as its first argument. There, child_main() runs the entry\n"
               "the child was started for and returns its exit code; in the parent it returns\n"
               "std::nullopt and main() goes on. Without the guard, every child would run the\n"
               "parent's code again and start children of its own, and so on: a process storm\n"
               "(Python's `if __name__ == '__main__':` is there for the same reason).\n"
               "interproc stops it at the first step: in a child that skipped the guard,\n"
               "spawn_child() throws std::system_error with interproc::errc::missing_guard.\n"
               "\n"
               "Starting a copy of interproc-demo whose main() skips the guard..."
            << std::endl;
}

// What the parent concludes from the copy's exit code.
int report(int copy_exit_code) {
  if (copy_exit_code == copy_was_refused) {
    std::cout << "The copy exited with code " << copy_was_refused
              << ": its spawn_child() was refused, and it started no process.\n"
                 "With the guard in place, children never get that far: they run their entry.\n";
    return exit_ok;
  }
  std::cout << "The lesson went wrong: the copy exited with code " << copy_exit_code
            << (copy_exit_code == copy_started_child ? " (it started a process: the guard check failed)\n" : "\n");
  return exit_problem;
}

int guard(const Args& args) {
  ArgReader in(args);
  if (!in.done()) throw UsageError("unexpected argument '" + in.operand() + "'");
  explain();
  interproc::Child copy = interproc::spawn_child("guard_lesson", {std::string(copy_switch)});
  const std::optional<int> code = copy.wait_for(std::chrono::seconds(60));
  if (!code) {
    copy.kill();
    std::cout << "The lesson went wrong: the copy was still running after 60 s; it was ended.\n";
    return exit_problem;
  }
  return report(*code);
}

}  // namespace

// The entry the parent names when it starts the copy. The copy skips child_main(), the only
// way into an entry, so this runs only if the library let the copy start a child of its own.
INTERPROC_CHILD_ENTRY(guard_lesson) {
  std::cout << "A copy of the copy started: the library did not refuse it." << std::endl;
  return 0;
}

bool is_guardless_copy(int argc, char** argv) {
  return argc == 3 && interproc::is_spawned_child(argc, argv) && argv[2] == copy_switch;
}

int main_without_guard() {
  // The parent's code, run again in the child: it starts a child.
  try {
    interproc::Child child = interproc::spawn_child("guard_lesson");
    child.wait();
    return copy_started_child;
  } catch (const std::system_error& e) {
    const bool refused = e.code() == interproc::errc::missing_guard;
    std::cout << "copy: spawn_child() threw std::system_error"
              << (refused ? " with interproc::errc::missing_guard:" : ", not the expected one:") << '\n';
    print_wrapped(e.what(), "    ", 88);
    return refused ? copy_was_refused : copy_failed_otherwise;
  }
}

const Command guard_command = {
    "guard", "what the guard at the top of main() is for", "usage: interproc-demo guard",
    "Explains the guard, the first statement of a main() that starts children:\n"
    "    if (auto code = interproc::child_main(argc, argv)) return *code;\n"
    "then starts a copy of this program whose main() skips it. That copy runs the parent's\n"
    "code again and calls spawn_child(), which the library refuses with\n"
    "interproc::errc::missing_guard; the copy prints the error, and no further process starts.\n"
    "\n"
    "Exit status: 0 when the library refused as it should, 1 otherwise, 2 for a bad command\n"
    "line.\n",
    &guard};

}  // namespace demo
