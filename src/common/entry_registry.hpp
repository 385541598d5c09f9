// SPDX-License-Identifier: MIT
#pragma once
#include <interproc/spawn.hpp>

#include <string_view>

namespace interproc::detail {

// The entry registered under `name`, or nullptr.
ChildEntry find_entry(std::string_view name) noexcept;

}  // namespace interproc::detail
