// SPDX-License-Identifier: MIT
// Fuzzes segment-name validation: a name is accepted exactly when it is 1..30 characters
// of [A-Za-z0-9._-] other than "." and "..", and rejected with invalid_name or
// name_too_long otherwise.
#include "common/name_rules.hpp"

#include <interproc/error.hpp>
#include <interproc/shared_segment.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <system_error>

namespace {

bool acceptable(std::string_view name) {
  const auto portable = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  };
  return !name.empty() && name.size() <= interproc::max_name_length && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), portable);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view name(reinterpret_cast<const char*>(data), size);
  bool accepted = true;
  try {
    interproc::detail::check_segment_name(name);
  } catch (const std::system_error& e) {
    if (e.code() != interproc::errc::invalid_name && e.code() != interproc::errc::name_too_long) std::abort();
    accepted = false;
  }
  if (accepted != acceptable(name)) std::abort();
  return 0;
}
