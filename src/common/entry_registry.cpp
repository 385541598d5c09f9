// SPDX-License-Identifier: MIT
// Child entries, registered by name during static initialisation (INTERPROC_CHILD_ENTRY)
// and only read afterwards, so lookups need no lock.

#include "common/entry_registry.hpp"

#include "common/transfer.hpp"

#include <map>
#include <stdexcept>
#include <string>

namespace interproc::detail {
namespace {

// A function-local static: registrations from other translation units may run before
// any global of this one is constructed.
std::map<std::string, ChildEntry, std::less<>>& registry() {
  static std::map<std::string, ChildEntry, std::less<>> entries;
  return entries;
}

}  // namespace

bool register_entry(std::string_view name, ChildEntry entry) {
  if (!is_valid_entry_name(name) || entry == nullptr) {
    throw std::logic_error("INTERPROC_CHILD_ENTRY: invalid entry name \"" + std::string(name) + "\"");
  }
  if (!registry().emplace(std::string(name), entry).second) {
    throw std::logic_error("INTERPROC_CHILD_ENTRY: entry \"" + std::string(name) + "\" is registered twice");
  }
  return true;
}

ChildEntry find_entry(std::string_view name) noexcept {
  const auto found = registry().find(name);
  return found == registry().end() ? nullptr : found->second;
}

}  // namespace interproc::detail
