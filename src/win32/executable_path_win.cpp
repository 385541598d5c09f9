// SPDX-License-Identifier: MIT
// Windows: this program's executable from GetModuleFileNameW(NULL), the file the process
// was created from, whatever argv[0] said.

#include "common/process_backend.hpp"
#include "win32/text_win.hpp"
#include "win32/win_util.hpp"

#include <windows.h>

namespace interproc::detail {

std::string executable_path() {
  std::wstring path(MAX_PATH, L'\0');
  for (;;) {
    const DWORD length = ::GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
    if (length == 0) fail_last_error("GetModuleFileNameW", "this executable");
    if (length < path.size()) {
      path.resize(length);
      return to_utf8(path);
    }
    // Truncated: the result filled the buffer. Paths end at 32767 characters.
    if (path.size() > 32768) fail_last_error("GetModuleFileNameW", "this executable");
    path.resize(path.size() * 2);
  }
}

}  // namespace interproc::detail
