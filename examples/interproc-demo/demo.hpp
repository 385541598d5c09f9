// SPDX-License-Identifier: MIT
#pragma once
// What the source files of interproc-demo share: one file per subcommand (count.cpp,
// race.cpp, guard.cpp), the dispatcher (commands.cpp), option reading (options.cpp), glob
// expansion (glob.cpp) and the little that differs per OS (platform_posix.cpp,
// platform_win.cpp; CMake picks one).

#include <interproc/shared_value.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace demo {

// A subcommand's arguments (UTF-8), after its name.
using Args = std::vector<std::string>;

// Exit statuses of the tool.
inline constexpr int exit_ok = 0;
inline constexpr int exit_problem = 1;  // a file had a problem, a wrong total, a failed lesson
inline constexpr int exit_usage = 2;    // a bad command line, or a start method this OS lacks

// A subcommand: its name, a line for the tool's help, its usage line, the rest of its
// --help text, and the function that runs it (throws UsageError for a bad command line).
struct Command {
  const char* name;
  const char* summary;
  const char* usage;
  const char* help;
  int (*run)(const Args& args);
};

extern const Command count_command;
extern const Command race_command;
extern const Command guard_command;
extern const Command names_command;

// The parent's work: reads the command line and runs the subcommand (commands.cpp).
int run(int argc, char** argv);

// The `guard` lesson's copy of this program, which skips the guard (guard.cpp).
bool is_guardless_copy(int argc, char** argv);
int main_without_guard();

// The shared counter of `count` and `race`, and the two ways of adding to it.
using Counter = interproc::SharedValue<std::uint64_t>;
enum class Locking { with_lock, without_lock };
void add(Counter& counter, std::uint64_t amount, Locking locking);
// How a Locking travels to a child: as the argument "lock" or "no-lock".
std::string to_argument(Locking locking);
Locking locking_from_argument(const std::string& argument);

}  // namespace demo
