// SPDX-License-Identifier: MIT
#include "glob.hpp"

#include "platform.hpp"

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace fs = std::filesystem;

namespace demo {
namespace {

// ---- matching one name, by code points (so that ? is one character, not one byte) ----

// UTF-8 to code points; a byte that does not start a valid sequence stands for itself.
std::u32string code_points(std::string_view utf8) {
  std::u32string out;
  for (std::size_t i = 0; i < utf8.size();) {
    const auto lead = static_cast<unsigned char>(utf8[i]);
    std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (lead >= 0xF8 || i + length > utf8.size()) length = 1;
    char32_t c = length == 1 ? lead : lead & (0x7Fu >> length);
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(utf8[i + k]);
      if ((next & 0xC0) != 0x80) {
        length = 1;
        c = lead;
        break;
      }
      c = (c << 6) | (next & 0x3Fu);
    }
    out.push_back(c);
    i += length;
  }
  return out;
}

char32_t fold(char32_t c, bool ignore_case) { return ignore_case && c >= U'A' && c <= U'Z' ? c - U'A' + U'a' : c; }

// The end of the [...] class that starts at `open`, or npos if it is not closed (then '['
// is an ordinary character). A ']' right after "[", "[!" or "[^" belongs to the class.
std::size_t class_end(const std::u32string& p, std::size_t open) {
  std::size_t i = open + 1;
  if (i < p.size() && (p[i] == U'!' || p[i] == U'^')) ++i;
  if (i < p.size() && p[i] == U']') ++i;
  while (i < p.size() && p[i] != U']') ++i;
  return i < p.size() ? i : std::u32string::npos;
}

// Whether c is in the class p[open..close].
bool in_class(const std::u32string& p, std::size_t open, std::size_t close, char32_t c, bool ignore_case) {
  std::size_t i = open + 1;
  const bool negated = p[i] == U'!' || p[i] == U'^';
  if (negated) ++i;
  bool found = false;
  for (; i < close; ++i) {
    const bool range = i + 2 < close && p[i + 1] == U'-';
    const char32_t low = fold(p[i], ignore_case);
    const char32_t high = range ? fold(p[i + 2], ignore_case) : low;
    found = found || (low <= c && c <= high);
    if (range) i += 2;
  }
  return found != negated;
}

// Whether the pattern element at p[at] matches the character c; `next` is where the
// element ends. (The caller handles '*'.)
bool element_matches(const std::u32string& p, std::size_t at, char32_t c, bool ignore_case, std::size_t& next) {
  next = at + 1;
  if (p[at] == U'?') return true;
  if (p[at] == U'[') {
    const std::size_t close = class_end(p, at);
    if (close != std::u32string::npos) {
      next = close + 1;
      return in_class(p, at, close, fold(c, ignore_case), ignore_case);
    }
  }
  return fold(p[at], ignore_case) == fold(c, ignore_case);
}

// Wildcard matching with backtracking to the last '*' only: linear in practice.
bool match(const std::u32string& p, const std::u32string& name, bool ignore_case) {
  std::size_t pi = 0;
  std::size_t ni = 0;
  std::size_t star = std::u32string::npos;  // where the pattern goes on after the last '*'
  std::size_t star_name = 0;                // how much of the name that '*' has taken so far
  while (ni < name.size()) {
    std::size_t next = 0;
    if (pi < p.size() && p[pi] == U'*') {
      star = ++pi;
      star_name = ni;
    } else if (pi < p.size() && element_matches(p, pi, name[ni], ignore_case, next)) {
      pi = next;
      ++ni;
    } else if (star != std::u32string::npos) {
      pi = star;
      ni = ++star_name;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == U'*') ++pi;
  return pi == p.size();
}

// ---- expanding one operand ----

bool has_wildcards(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::string utf8_name(const fs::path& path) { return path.filename().u8string(); }

// The names in `folder` that match `pattern`, sorted. Sets `error` if the folder cannot be read.
std::vector<std::string> matching_names(const fs::path& folder, const std::string& pattern, std::error_code& error) {
  const bool ignore_case = platform::file_names_ignore_case();
  std::vector<std::string> names;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const std::string name = utf8_name(it->path());
    if (name[0] == '.' && pattern[0] != '.') continue;  // hidden, as in a shell
    if (glob_match(pattern, name, ignore_case)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

void expand_pattern(const std::string& operand, const std::string& pattern, Expansion& out) {
  // The folder part exactly as written ("" for the current folder), so that the names shown
  // are the ones the user would have typed.
  const std::string folder = operand.substr(0, operand.size() - pattern.size());
  const fs::path where = folder.empty() ? fs::path(".") : fs::u8path(folder);
  std::error_code error;
  const std::vector<std::string> names = matching_names(where, pattern, error);
  if (error) {
    out.unmatched.push_back({operand, "cannot read the folder: " + error.message()});
  } else if (names.empty()) {
    out.unmatched.push_back({operand, "no file matches"});
  }
  for (const std::string& name : names) out.files.push_back(folder + name);
}

}  // namespace

bool glob_match(const std::string& pattern, const std::string& name, bool ignore_case) {
  return match(code_points(pattern), code_points(name), ignore_case);
}

Expansion expand_globs(const std::vector<std::string>& operands) {
  Expansion out;
  for (const std::string& operand : operands) {
    const std::string last = utf8_name(fs::u8path(operand));
    if (has_wildcards(last)) {
      expand_pattern(operand, last, out);
    } else {
      out.files.push_back(operand);
    }
  }
  return out;
}

}  // namespace demo
