// SPDX-License-Identifier: MIT
#pragma once
// NameLifetime::creator: the named segments (every named kind is made of them) whose names
// go when this process ends. POSIX: posix/name_watcher_posix.cpp, a watcher process told of
// each name over a socket; Windows: win32/name_watcher_win.cpp, where nothing is needed.

#include <interproc/name_lifetime.hpp>

#include <initializer_list>
#include <string>

namespace interproc::detail {

// With NameLifetime::creator, hands the just-created segment names to the watcher (started
// on the first); if that fails, removes them and throws. Nothing for persistent names.
void apply_lifetime(NameLifetime lifetime, std::initializer_list<std::string> names);

// The watcher's half: adds / forgets one segment name. Throws std::system_error when no
// watcher can be started.
void track_segment_name(const std::string& name);
// remove_named's: the watcher forgets `name` if it was told of it.
void forget_segment_name(const std::string& name) noexcept;
// In a fork child (a pthread_atfork handler): lets go of the parent's connection to its
// watcher, which would otherwise outlive the parent in this child, without taking a lock.
void drop_inherited_name_watcher() noexcept;

// The watcher process's loop (child_main with name_watcher_argument): reads names from
// descriptor 3 until end-of-file, then removes those its creator still has. Its exit code.
int watch_names();

}  // namespace interproc::detail
