// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// The names interproc objects hold in the OS, and the removal of those whose creator died.
#include <interproc/export.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace interproc {

/// One name held by an interproc object (every named kind is made of named segments: a
/// SharedValue "v" shows as "v" and its lock "v.lock").
struct NameInUse {
  std::string name;  ///< the name, as create_named took it
  /// "segment", "value", "array", "mutex", or "waiting" (an event, semaphore, condition or
  /// queue), from the tag each named object records beside its size.
  std::string kind;
  std::size_t size = 0;  ///< the bytes its creator asked for
  /// The pid of the process that created it; 0 if its record has none (an interproc older
  /// than NameLifetime), whose names remove_dead_names() leaves alone.
  long creator = 0;
  bool creator_alive = false;  ///< whether the creator still runs (POSIX kill(pid, 0))
};

/// The names of interproc objects this user can read, found in the OS's namespace of shared
/// memory: Linux lists /dev/shm and keeps the entries that hold an interproc record (other
/// programs' objects there are left out). Throws std::system_error with errc::not_supported
/// where the OS has no list: macOS (shm_open names are kept in the kernel, and no call lists
/// them) and Windows (named objects go with their last handle, so none can outlive its
/// processes; see NameLifetime).
INTERPROC_EXPORT std::vector<NameInUse> names_in_use();

/// Removes every name of names_in_use() that starts with `prefix` (every name for "") and
/// whose creator is no longer running: the cleanup of a /dev/shm that crashed programs
/// filled. Returns the names removed. A creator's pid that another process has taken since
/// keeps its names (never a live process's names removed), and so does an unknown creator
/// (0). Throws as names_in_use().
INTERPROC_EXPORT std::vector<std::string> remove_dead_names(std::string_view prefix = {});

}  // namespace interproc
