// SPDX-License-Identifier: MIT
// The parent's side of main(): finds the subcommand, handles --help, and turns errors into
// messages and exit statuses.
#include "demo.hpp"
#include "options.hpp"
#include "platform.hpp"

#include <interproc/error.hpp>
#include <interproc/spawn.hpp>
#include <interproc/version.hpp>

#include <iomanip>
#include <iostream>
#include <string_view>
#include <system_error>

namespace demo {
namespace {

const Command* const commands[] = {&count_command, &race_command, &guard_command, &names_command};

constexpr const char* tool_usage = "usage: interproc-demo COMMAND [OPTION...] (COMMAND: count, race, guard, names)";

void print_tool_help() {
  std::cout << "usage: interproc-demo COMMAND [OPTION...]\n\n"
               "The interproc library at work: shared memory, an interprocess lock, and child\n"
               "processes that are copies of this program (see its main.cpp).\n\n"
               "Commands:\n";
  for (const Command* command : commands) {
    std::cout << "  " << std::left << std::setw(7) << command->name << command->summary << '\n';
  }
  std::cout << "\nRun 'interproc-demo COMMAND --help' for the options of a command, and\n"
               "'interproc-demo --version' for the version of interproc it was built with.\n"
               "Exit status: 0 done, 1 a problem (a file that could not be read, ...), 2 a bad command line.\n";
}

const Command* find_command(std::string_view name) {
  for (const Command* command : commands) {
    if (name == command->name) return command;
  }
  return nullptr;
}

int usage_error(const std::string& prefix, const std::string& message, const char* usage) {
  std::cerr << prefix << ": " << message << '\n' << usage << '\n';
  return exit_usage;
}

int run_command(const Command& command, const Args& args) {
  const std::string prefix = std::string("interproc-demo ") + command.name;
  try {
    return command.run(args);
  } catch (const UsageError& e) {
    return usage_error(prefix, e.what(), command.usage);
  } catch (const std::system_error& e) {
    // StartMethod::fork on Windows: the command line asked for what this OS cannot do.
    std::cerr << prefix << ": " << e.what() << '\n';
    return e.code() == interproc::errc::not_supported ? exit_usage : exit_problem;
  } catch (const std::exception& e) {
    std::cerr << prefix << ": " << e.what() << '\n';
    return exit_problem;
  }
}

}  // namespace

int run(int argc, char** argv) {
  const Args args = interproc::utf8_arguments(argc, argv);  // args[0]: the program
  if (args.size() < 2) return usage_error("interproc-demo", "no command given", tool_usage);
  const std::string& name = args[1];
  if (name == "--version") {
    std::cout << "interproc-demo " << INTERPROC_VERSION_STRING << '\n';
    return exit_ok;
  }
  if (name == "--help" || name == "-h" || name == "help") {
    print_tool_help();
    return exit_ok;
  }
  const Command* command = find_command(name);
  if (command == nullptr) return usage_error("interproc-demo", "unknown command '" + name + "'", tool_usage);

  const Args command_args(args.begin() + 2, args.end());
  if (asks_for_help(command_args)) {
    std::cout << command->usage << "\n\n" << command->help;
    return exit_ok;
  }
  return run_command(*command, command_args);
}

}  // namespace demo
