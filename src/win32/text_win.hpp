// SPDX-License-Identifier: MIT
#pragma once
// UTF-8 <-> UTF-16 and command lines for the Win32 files.

#include <windows.h>

#include <string>
#include <vector>

namespace interproc::detail {

// Strict UTF-8 to UTF-16: text that is not UTF-8 is errc::invalid_argument.
std::wstring to_utf16(const std::string& text);
// `text` in `code_page` (CP_UTF8: strictly, failing on unpaired surrogates; CP_ACP: with
// the best-fit replacements Windows makes for GetCommandLineA). False if it cannot convert.
bool narrow(const std::wstring& text, UINT code_page, std::string& out);
std::string to_utf8(const std::wstring& text);

// `argv` as one command line that CommandLineToArgvW and the C runtime split back into it.
std::wstring command_line(const std::vector<std::string>& argv);

}  // namespace interproc::detail
