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
/// The rule: a caller's bug (a moved-from object, an index the caller chose out of range of
/// a precondition) is a GSL Expects failure, which terminates; every condition a caller can
/// meet at run time is a std::system_error, with one of these codes or, for the OS's own
/// failures, the OS's code and the call named in what().
enum class errc {
  invalid_size = 1,         ///< a segment size of zero, or larger than the address space or the OS allows
  invalid_name = 2,         ///< empty, or a character outside [A-Za-z0-9._-]
  name_too_long = 3,        ///< more than max_name_length characters
  bad_handle_argument = 4,  ///< a child token that is malformed, truncated or forged (seen by child_main)
  unknown_entry = 5,        ///< no entry registered under that name
  wrong_object_kind = 6,    ///< a child asked for a shared object as something it is not, or open_named
                            ///< found a named value's or array's data of a size that T does not fit
  missing_guard = 7,        ///< spawn_child in a spawn-style child that skipped child_main
  not_supported = 8,        ///< not available on this OS (StartMethod::fork or forkserver on Windows)
  recursive_lock = 9,       ///< the owning thread locked the mutex again
  not_owner = 10,           ///< unlock or mark_consistent by a thread that does not hold the mutex
  // 11 is retired: child_start_failed, which nothing threw.
  invalid_argument = 12,   ///< spawn_child: an argument holding NUL or not UTF-8 (Windows), arguments
                           ///< too long, too many objects, one object twice
  foreign_object = 13,     ///< an OS object interproc did not make, or that another user owns or can write
  not_ready = 14,          ///< a named object whose creator has not finished making it
  count_overflow = 15,     ///< InterprocessSemaphore::release past limit() (max() unless bounded)
  closed = 16,             ///< SharedQueue::push after close(); ProcessPool::submit after close()
  task_failed = 17,        ///< a ProcessPool task threw, or its worker died while running it
  child_lost = 18,         ///< a forkserver child whose server ended before saying how the child ended
  invalid_message = 19,    ///< codec input that is truncated, has bytes left over, or holds a value its type cannot
  pool_broken = 20,        ///< a ProcessPool that could not replace a worker: its queued tasks fail, and
                           ///< submit(), map() and imap_unordered() refuse new ones
  message_too_large = 21,  ///< a message or queue item over the maximum its queue or connection declared
  type_mismatch = 22,      ///< a message received as a type other than the one it was sent as
  broken_barrier = 23,     ///< a barrier aborted, or one of its parties died or timed out while others waited
  unfinished_tasks = 24,   ///< JoinableQueue::join: a consumer died holding items it never marked done
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
