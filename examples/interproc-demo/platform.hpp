#pragma once
// The little that differs between POSIX and Windows, one source file per OS:
// platform_posix.cpp and platform_win.cpp, chosen by CMake. The other files have no #ifdef.

#include <string>
#include <vector>

namespace demo::platform {

// What `count` counts when it is given no file: /etc/*.conf; on Windows %SystemRoot%\*.ini.
std::vector<std::string> default_file_patterns();

// main()'s arguments in UTF-8. Windows: read from the UTF-16 command line, because main()'s
// argv is in the ANSI code page, which cannot hold every file name. POSIX: argv as it is.
std::vector<std::string> utf8_arguments(int argc, char** argv);

// Whether file names compare without regard to case, as glob patterns then do (Windows).
bool file_names_ignore_case();

}  // namespace demo::platform
