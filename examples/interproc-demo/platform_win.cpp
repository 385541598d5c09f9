// SPDX-License-Identifier: MIT
// Windows side of platform.hpp.
#include "platform.hpp"

#include <windows.h>

namespace demo::platform {
namespace {

std::string to_utf8(const wchar_t* text) {
  const int size = ::WideCharToMultiByte(CP_UTF8, 0, text, -1, nullptr, 0, nullptr, nullptr);
  if (size <= 1) return {};
  std::string out(static_cast<std::size_t>(size), '\0');
  ::WideCharToMultiByte(CP_UTF8, 0, text, -1, out.data(), size, nullptr, nullptr);
  out.pop_back();  // the terminating NUL
  return out;
}

}  // namespace

std::vector<std::string> default_file_patterns() {
  // GetEnvironmentVariableW's size counts the NUL; 0 when the variable is not set.
  wchar_t root[MAX_PATH];
  const DWORD length = ::GetEnvironmentVariableW(L"SystemRoot", root, MAX_PATH);
  const std::string folder = length == 0 || length >= MAX_PATH ? "C:\\Windows" : to_utf8(root);
  return {folder + "\\*.ini"};
}

bool file_names_ignore_case() { return true; }

// GetConsoleMode succeeds only on a console handle (a file or pipe fails it).
bool stderr_is_terminal() {
  DWORD mode = 0;
  return ::GetConsoleMode(::GetStdHandle(STD_ERROR_HANDLE), &mode) != 0;
}

}  // namespace demo::platform
