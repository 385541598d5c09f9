// SPDX-License-Identifier: MIT
#pragma once
// The little that differs between POSIX and Windows, one source file per OS:
// platform_posix.cpp and platform_win.cpp, chosen by CMake. The other files have no #ifdef.

#include <string>
#include <vector>

namespace demo::platform {

// What `count` counts when it is given no file: /etc/*.conf; on Windows %SystemRoot%\*.ini.
std::vector<std::string> default_file_patterns();

// Whether file names compare without regard to case, as glob patterns then do (Windows).
bool file_names_ignore_case();
// Whether stderr is a terminal (a person watching), where a progress line may be drawn.
bool stderr_is_terminal();

}  // namespace demo::platform
