// SPDX-License-Identifier: MIT
#include "options.hpp"

#include <charconv>

namespace demo {

const std::string* ArgReader::current_option() {
  if (!options_ended_ && next_ < args_.size() && args_[next_] == "--") {
    options_ended_ = true;
    ++next_;
  }
  if (options_ended_ || next_ == args_.size()) return nullptr;
  const std::string& arg = args_[next_];
  return arg.size() > 1 && arg[0] == '-' ? &arg : nullptr;  // "-" alone is an operand
}

bool ArgReader::done() {
  current_option();  // steps over a "--"
  return next_ == args_.size();
}

bool ArgReader::flag(std::string_view name) {
  const std::string* arg = current_option();
  if (arg == nullptr || *arg != name) return false;
  ++next_;
  return true;
}

std::optional<std::string> ArgReader::value(std::string_view name) {
  const std::string* arg = current_option();
  if (arg == nullptr || arg->compare(0, name.size(), name) != 0) return std::nullopt;
  const std::string_view rest = std::string_view(*arg).substr(name.size());
  if (!rest.empty() && rest[0] != '=') return std::nullopt;  // another option that starts alike
  ++next_;
  if (!rest.empty()) return std::string(rest.substr(1));
  if (next_ == args_.size()) throw UsageError(std::string(name) + " needs a value");
  return args_[next_++];
}

std::string ArgReader::operand() {
  if (const std::string* arg = current_option()) throw UsageError("unknown option '" + *arg + "'");
  return args_.at(next_++);
}

bool asks_for_help(const Args& args) {
  for (const std::string& arg : args) {
    if (arg == "--") return false;
    if (arg == "--help" || arg == "-h") return true;
  }
  return false;
}

std::uint64_t parse_number(std::string_view option, const std::string& text, std::uint64_t max) {
  std::uint64_t number = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, number);
  if (error != std::errc() || stop != end || number == 0 || number > max) {
    throw UsageError(std::string(option) + " takes a whole number from 1 to " + std::to_string(max) + ", not '" + text +
                     "'");
  }
  return number;
}

interproc::StartMethod parse_start_method(const std::string& text) {
  if (text == "spawn") return interproc::StartMethod::spawn;
  if (text == "fork") return interproc::StartMethod::fork;
  if (text == "forkserver") return interproc::StartMethod::forkserver;
  throw UsageError("--start takes spawn, fork or forkserver, not '" + text + "'");
}

bool read_child_option(ArgReader& in, ChildOptions& options) {
  if (in.flag("--no-lock")) {
    options.locking = Locking::without_lock;
    return true;
  }
  if (auto start = in.value("--start")) {
    options.start = parse_start_method(*start);
    return true;
  }
  return false;
}

const char* to_string(interproc::StartMethod method) {
  switch (method) {
    case interproc::StartMethod::fork: return "fork";
    case interproc::StartMethod::forkserver: return "forkserver";
    default: return "spawn";
  }
}

}  // namespace demo
