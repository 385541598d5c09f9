// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// NameLifetime: whether a named object's name outlives its creator.

namespace interproc {

/// How long the name of a named object lives (the last argument of every create_named:
/// SharedSegment, InterprocessMutex, SharedValue, SharedArray, InterprocessEvent,
/// InterprocessSemaphore, InterprocessCondition, SharedQueue).
enum class NameLifetime {
  /// Until remove_named(), whatever happens to its creator (Boost.Interprocess's rule): the
  /// default. A creator that crashes leaves the name behind (see names_in_use()).
  persistent,
  /// Until remove_named() or the end of the creating process, however it ends, SIGKILL
  /// included (Python's resource_tracker). POSIX: the first such name starts a small watcher
  /// process (this program re-executed, stopped in child_main) that is told each name over a
  /// socket and removes the ones it still holds when the socket reads end-of-file, that is
  /// when the creator and any fork child of it are gone; remove_named() tells it to forget the
  /// name. The watcher removes a name only if the object there is still this creator's.
  /// Like spawn_child, it needs main() to begin with the child_main() guard, which is where
  /// the re-executed watcher stops.
  /// Windows: every named object already goes with its last handle, so this changes nothing.
  creator
};

}  // namespace interproc
