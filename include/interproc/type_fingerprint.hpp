// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// A fingerprint of a type, so that a child never takes a float for an int (an
/// implementation detail of SharedValue, SharedArray and SharedQueue passed to children).

#include <cstdint>

namespace interproc::detail {

// FNV-1a over the compiler's spelling of T: the same in parent and child, which run the
// same program (not between programs built by different compilers).
template <class T>
std::uint64_t type_fingerprint() noexcept {
#if defined(_MSC_VER) && !defined(__clang__)
  const char* spelling = __FUNCSIG__;
#else
  const char* spelling = __PRETTY_FUNCTION__;
#endif
  std::uint64_t hash = 14695981039346656037ull;
  for (const char* c = spelling; *c != '\0'; ++c) hash = (hash ^ static_cast<unsigned char>(*c)) * 1099511628211ull;
  return hash;
}

}  // namespace interproc::detail
