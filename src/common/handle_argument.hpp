// SPDX-License-Identifier: MIT
#pragma once
// The handle argument: how a spawn-style child learns its entry and its shared objects.
//
//   --interproc-child=1:<entry>:<object>,<object>,...:<checksum>
//   object   = <kind><number>.<number>...   kind: s segment, m mutex, v value, a array
//   checksum = FNV-1a (32 bit, 8 hex digits) of everything before the last ':'
//
// Numbers are decimal handles (fd / HANDLE values, valid in the child because they were
// inherited) and sizes. The parser accepts nothing else: a wrong field count, a missing
// or bad checksum (truncation), an overlong number or a repeated handle is rejected.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace interproc::detail {

inline constexpr std::string_view child_flag = "--interproc-child=";
inline constexpr std::size_t max_token_objects = 64;
inline constexpr std::size_t max_entry_name = 64;

struct TokenObject {
  char kind = 0;
  std::vector<std::uint64_t> fields;
};

struct ChildToken {
  std::string entry;
  std::vector<TokenObject> objects;
};

// Fields an object of `kind` carries: segment (handle, size); mutex (state handle, state
// size[, wake handle]); value and array (handle, size, element size, element type
// fingerprint, then a mutex's fields).
std::size_t field_count(char kind);

// Every handle field of `token`, in order, for a backend that gives the child its own
// handle values and rewrites the token to name those.
std::vector<std::uint64_t*> handle_fields(ChildToken& token);

// A handle that `token` names more than once, if any: each object may be passed once.
std::optional<std::uint64_t> repeated_handle(const ChildToken& token);

// Entry names: 1..max_entry_name characters of [A-Za-z0-9_].
bool is_valid_entry_name(std::string_view name) noexcept;

std::string encode_token(const ChildToken& token);
// Throws std::system_error with errc::bad_handle_argument saying what is wrong.
ChildToken parse_token(std::string_view text);

}  // namespace interproc::detail
