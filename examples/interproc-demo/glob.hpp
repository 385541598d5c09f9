// SPDX-License-Identifier: MIT
#pragma once
// Glob patterns expanded by interproc-demo itself, so that `count *.txt` works the same in
// cmd.exe, which leaves patterns to the program, as in a POSIX shell.
//
// The wildcards are * (any run of characters), ? (one character) and [...] (one of the
// characters listed, with ranges such as [a-z]; [!...] or [^...] for any other). They are
// expanded in the last component of a path only: "logs/*.txt" works, "*/x.txt" does not.
// A name starting with '.' is matched only by a pattern starting with '.', as in a shell.
// On Windows, names match without regard to case. Write [*], [?] or [[] for the character
// itself.

#include <string>
#include <vector>

namespace demo {

struct Expansion {
  struct Unmatched {
    std::string pattern;
    std::string reason;  // "no file matches", or why the folder could not be read
  };
  // In the order given; a pattern's matches sorted by name, after the pattern's own folder
  // part as written. Operands without wildcards are kept as they are, existing or not.
  std::vector<std::string> files;
  std::vector<Unmatched> unmatched;
};

Expansion expand_globs(const std::vector<std::string>& operands);

// Whether `name` (one file name, UTF-8) matches `pattern` (UTF-8) as described above.
bool glob_match(const std::string& pattern, const std::string& name, bool ignore_case);

}  // namespace demo
