#pragma once
// Throwing helpers: every runtime failure names what was attempted, and OS errors keep the
// OS code (captured by the caller right after the failing call).

#include <interproc/error.hpp>

#include <string>
#include <system_error>

namespace interproc::detail {

[[noreturn]] inline void fail(errc e, const std::string& what) {
  throw std::system_error(make_error_code(e), what);
}

// POSIX errno values are std::generic_category() codes, so they compare equal to std::errc.
[[noreturn]] inline void fail_errno(int saved_errno, const std::string& what) {
  throw std::system_error(saved_errno, std::generic_category(), what);
}

// "name" in double quotes, for messages such as shm_open("/x").
inline std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace interproc::detail
