// SPDX-License-Identifier: MIT
#include "common/name_rules.hpp"

#include "common/fail.hpp"

#include <interproc/shared_segment.hpp>

#include <limits>
#include <string>

namespace interproc {
namespace detail {

namespace {
bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}
}  // namespace

void check_segment_name(std::string_view name, std::string_view who) {
  const std::string shown = shown_prefix(name, 64);
  const std::string prefix = std::string(who) + ": ";
  if (name.empty()) fail(errc::invalid_name, prefix + "empty name");
  if (name.size() > max_name_length) {
    fail(errc::name_too_long, prefix + "name \"" + shown + "\" has " + std::to_string(name.size()) +
                                  " characters, at most " + std::to_string(max_name_length) + " are portable");
  }
  for (std::size_t at = 0; at < name.size(); ++at) {
    if (!is_name_char(name[at])) {
      std::string message = prefix;
      message.append("name \"").append(shown).append("\" contains '").append(name.substr(at, utf8_length_at(name, at)));
      message.append("'; use letters, digits, '.', '_' and '-'");
      fail(errc::invalid_name, message);
    }
  }
  if (name == "." || name == "..") fail(errc::invalid_name, prefix + "name \"" + shown + "\" is reserved");
}

void check_segment_size(std::size_t size) {
  if (size == 0) fail(errc::invalid_size, "SharedSegment: size 0");
  // The page-rounded size must still fit, and half the address space is more than any OS
  // maps in one piece; larger requests are caller bugs, not OS failures.
  if (size > std::numeric_limits<std::size_t>::max() / 2) {
    fail(errc::invalid_size, "SharedSegment: size " + std::to_string(size) + " exceeds the address space");
  }
}

}  // namespace detail

}  // namespace interproc
