// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// interproc's own error conditions. OS failures are std::system_error in
/// std::system_category() (Windows) or std::generic_category() (POSIX) with the call named.

#include <interproc/export.hpp>

#include <string>
#include <system_error>

/// Shared memory, robust interprocess mutexes and child processes.
namespace interproc {

/// The library's own error conditions, carried by std::system_error in error_category().
enum class errc {
  invalid_size = 1,     ///< zero, or larger than the address space or the OS allows
  invalid_name,         ///< empty, or a character outside [A-Za-z0-9._-]
  name_too_long,        ///< more than max_name_length characters
  bad_handle_argument,  ///< a --interproc-child token that is malformed, truncated or forged
  unknown_entry,        ///< no entry registered under that name
  wrong_object_kind,    ///< a child asked for a shared object as something it is not
  missing_guard,        ///< spawn_child in a spawn-style child that skipped child_main
  not_supported,        ///< not available on this OS (StartMethod::fork on Windows)
  recursive_lock,       ///< the owning thread locked the mutex again
  not_owner,            ///< unlock by a thread that does not hold the mutex
  child_start_failed,   ///< the child could not start its entry (exec failed, bad executable)
  invalid_argument,     ///< spawn_child: an argument holding NUL, too many objects, one object twice
  foreign_object,       ///< an OS object interproc did not make, or that another user owns or can write
  not_ready,            ///< a named segment whose creator has not finished making it
};

/// The category of interproc::errc codes (name "interproc").
INTERPROC_EXPORT const std::error_category& error_category() noexcept;
/// An error_code for `e` in error_category(); makes errc usable wherever an error_code is.
INTERPROC_EXPORT std::error_code make_error_code(errc e) noexcept;

}  // namespace interproc

/// @cond
template <>
struct std::is_error_code_enum<interproc::errc> : std::true_type {};
/// @endcond
