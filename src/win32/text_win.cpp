// SPDX-License-Identifier: MIT
// Windows text: UTF-8 outside, UTF-16 for the W functions, and command lines quoted the
// way CommandLineToArgvW and the C runtime parse them back.

#include "common/fail.hpp"
#include "common/process_backend.hpp"
#include "win32/text_win.hpp"
#include "win32/win_util.hpp"

#include <windows.h>
#include <shellapi.h>

namespace interproc::detail {

std::wstring to_utf16(const std::string& text) {
  if (text.empty()) return {};
  // Arguments arrive below spawn_child's length limit; paths below 32768 characters.
  const int length = static_cast<int>(text.size());
  const int wide = ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text.data(), length, nullptr, 0);
  if (wide == 0) fail(errc::invalid_argument, "spawn_child: " + quoted(shown_prefix(text, 40)) + " is not UTF-8");
  std::wstring out(static_cast<std::size_t>(wide), L'\0');
  ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text.data(), length, out.data(), wide);
  return out;
}

// `text` in `code_page` (CP_UTF8: strictly, failing on unpaired surrogates; CP_ACP: with
// the best-fit replacements Windows makes for GetCommandLineA). False if it cannot convert.
bool narrow(const std::wstring& text, UINT code_page, std::string& out) {
  out.clear();
  if (text.empty()) return true;
  const DWORD flags = code_page == CP_UTF8 ? WC_ERR_INVALID_CHARS : 0;
  const int length = static_cast<int>(text.size());  // paths and command lines: < 32768
  const int size = ::WideCharToMultiByte(code_page, flags, text.data(), length, nullptr, 0, nullptr, nullptr);
  if (size == 0) return false;
  out.resize(static_cast<std::size_t>(size));
  return ::WideCharToMultiByte(code_page, flags, text.data(), length, out.data(), size, nullptr, nullptr) == size;
}

std::string to_utf8(const std::wstring& text) {
  std::string out;
  if (!narrow(text, CP_UTF8, out)) fail_last_error("WideCharToMultiByte", "UTF-16 text");
  return out;
}

// One argument as CommandLineToArgvW and the MSVC/MinGW CRT parse it back: quoted when
// empty or holding blanks or quotes; inside quotes, backslashes are literal except in runs
// that precede a quote (escaped or the closing one), where each must be doubled.
void append_quoted(std::wstring& line, const std::wstring& arg) {
  if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring::npos) {
    line += arg;
    return;
  }
  line += L'"';
  std::size_t backslashes = 0;
  for (const wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    line.append(c == L'"' ? 2 * backslashes + 1 : backslashes, L'\\');
    line += c;
    backslashes = 0;
  }
  line.append(2 * backslashes, L'\\');
  line += L'"';
}

std::wstring command_line(const std::vector<std::string>& argv) {
  std::wstring line;
  for (const std::string& arg : argv) {
    if (!line.empty()) line += L' ';
    append_quoted(line, to_utf16(arg));
  }
  return line;
}

std::vector<std::string> program_arguments(int argc, char** argv) {
  // main()'s argv is in the ANSI code page, which cannot hold every character a parent
  // passes (launch_spawn sends UTF-16). When argv is this process's own command line
  // (each argument matches its ANSI form), take the arguments from the UTF-16 one instead.
  const std::vector<std::string> ansi(argv, argv + argc);
  int count = 0;
  wchar_t** wide = ::CommandLineToArgvW(::GetCommandLineW(), &count);
  if (wide == nullptr) return ansi;
  std::vector<std::string> utf8;
  std::string converted;
  for (int i = 0; count == argc && i < count; ++i) {
    const std::wstring arg(wide[i]);
    if (!narrow(arg, CP_ACP, converted) || converted != ansi[static_cast<std::size_t>(i)]) break;
    if (!narrow(arg, CP_UTF8, converted)) break;
    utf8.push_back(converted);
  }
  ::LocalFree(wide);
  return utf8.size() == ansi.size() ? utf8 : ansi;
}

}  // namespace interproc::detail
