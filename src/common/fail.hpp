// SPDX-License-Identifier: MIT
#pragma once
// Throwing helpers: every runtime failure names what was attempted, and OS errors keep the
// OS code (captured by the caller right after the failing call).

#include <interproc/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

namespace interproc::detail {

[[noreturn]] inline void fail(errc e, const std::string& what) { throw std::system_error(make_error_code(e), what); }

// POSIX errno values are std::generic_category() codes, so they compare equal to std::errc.
[[noreturn]] inline void fail_errno(int saved_errno, const std::string& what) {
  throw std::system_error(saved_errno, std::generic_category(), what);
}

// "name" in double quotes, for messages such as shm_open("/x").
inline std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// The bytes of the UTF-8 character that starts at text[at] (1 for a byte that starts none),
// so that messages never cut a character in half.
inline std::size_t utf8_length_at(std::string_view text, std::size_t at) noexcept {
  const auto lead = static_cast<unsigned char>(text[at]);
  const std::size_t length = lead < 0xc0 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : lead < 0xf8 ? 4 : 1;
  if (at + length > text.size()) return 1;
  for (std::size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(text[at + k]) & 0xc0) != 0x80) return 1;
  }
  return length;
}

// At most about `max_bytes` of `text` for a message: whole UTF-8 characters, "..." if cut.
inline std::string shown_prefix(std::string_view text, std::size_t max_bytes) {
  std::size_t end = 0;
  while (end < text.size() && end + utf8_length_at(text, end) <= max_bytes) end += utf8_length_at(text, end);
  return std::string(text.substr(0, end)) + (end < text.size() ? "..." : "");
}

}  // namespace interproc::detail
