// SPDX-License-Identifier: MIT
// Child entries, registered by name during static initialisation (INTERPROC_CHILD_ENTRY)
// and only read afterwards, so lookups need no lock.

#include "common/entry_registry.hpp"

#include "common/transfer.hpp"

#include <gsl/assert>

#include <cstdio>
#include <map>
#include <string>

namespace interproc::detail {
namespace {

// A function-local static: registrations from other translation units may run before
// any global of this one is constructed.
std::map<std::string, ChildEntry, std::less<>>& registry() {
  static std::map<std::string, ChildEntry, std::less<>> entries;
  return entries;
}

// A misused INTERPROC_CHILD_ENTRY is a caller's bug, so it ends in Expects, as every caller
// bug does; it runs before main(), so the reason goes to stderr first.
void expect_entry(bool valid, std::string_view name, const char* problem) noexcept {
  if (valid) return;
  std::fprintf(stderr, "interproc: INTERPROC_CHILD_ENTRY(%.*s): %s\n", static_cast<int>(name.size()), name.data(),
               problem);
  std::fflush(stderr);
  Expects(valid);
}

}  // namespace

bool register_entry(std::string_view name, ChildEntry entry) {
  expect_entry(is_valid_entry_name(name) && entry != nullptr, name, "not a valid entry name");
  expect_entry(registry().emplace(std::string(name), entry).second, name, "registered twice");
  return true;
}

ChildEntry find_entry(std::string_view name) noexcept {
  const auto found = registry().find(name);
  return found == registry().end() ? nullptr : found->second;
}

}  // namespace interproc::detail
