// SPDX-License-Identifier: MIT
#pragma once
// Reading a subcommand's options: "--name", "--name=value" or "--name value", in any order
// among the operands; "--" ends the options.

#include "demo.hpp"

#include <interproc/spawn.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace demo {

// A bad command line. The dispatcher prints "interproc-demo COMMAND: <what>" and the usage
// line, and exits with exit_usage.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Walks through the arguments once. A subcommand's parser asks, at each argument, whether
// it is one of its options (flag(), value()) and takes it as an operand otherwise:
//   while (!in.done()) {
//     if (in.flag("--no-lock")) ...
//     else if (auto jobs = in.value("--jobs")) ...
//     else files.push_back(in.operand());
//   }
class ArgReader {
 public:
  explicit ArgReader(const Args& args) : args_(args) {}

  bool done();
  // True, and moves on, if the current argument is the option `name`.
  bool flag(std::string_view name);
  // The value of the option `name` ("--name=value" or "--name value"), and moves on; nullopt
  // if the current argument is another one. Throws UsageError if the value is missing.
  std::optional<std::string> value(std::string_view name);
  // The current argument, and moves on. Throws UsageError if it is an option nobody took.
  std::string operand();

 private:
  const std::string* current_option();

  const Args& args_;
  std::size_t next_ = 0;
  bool options_ended_ = false;
};

// "--help" or "-h" among the options.
bool asks_for_help(const Args& args);

// A whole number from 1 to `max`, the value of `option`; throws UsageError otherwise.
std::uint64_t parse_number(std::string_view option, const std::string& text, std::uint64_t max);

// The options count and race share: --start=fork|spawn|forkserver and --no-lock.
struct ChildOptions {
  interproc::StartMethod start = interproc::StartMethod::spawn;
  Locking locking = Locking::with_lock;
};
// True, and moves on, if the current argument is one of ChildOptions' options.
bool read_child_option(ArgReader& in, ChildOptions& options);

// "spawn" or "fork"; throws UsageError otherwise.
interproc::StartMethod parse_start_method(const std::string& text);
const char* to_string(interproc::StartMethod method);

}  // namespace demo
