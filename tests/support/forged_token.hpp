// SPDX-License-Identifier: MIT
#pragma once
// Hand-made child tokens, built with the codec's own pieces (common/transfer.hpp), for the
// tests that check what child_main() does with a forged or malformed command line.

#include <interproc/shared_segment.hpp>
#include <interproc/spawn.hpp>

#include "common/segment_backend.hpp"
#include "common/transfer.hpp"

#include <string>
#include <string_view>

namespace interproc::test {

// Runs child_main in this process on `token` as the text after the child flag.
inline int run_child_token(const std::string& token) {
  std::string self = "self";
  std::string flag = std::string(detail::child_flag) + token;
  char* argv[] = {self.data(), flag.data(), nullptr};
  return *child_main(2, argv);
}

// A current-version token for `entry` whose objects part is `objects`, checksum included.
inline std::string forged_token(std::string_view entry, const std::string& objects) {
  return detail::sealed(std::string(detail::token_version) + ":" + std::string(entry) + ":" + objects);
}

// The numbers of one object: kind, companion count, then `fields`, dot-separated.
inline std::string object_text(detail::ObjectKind kind, const std::string& fields, int companions = 0) {
  return std::to_string(static_cast<int>(kind)) + "." + std::to_string(companions) + "." + fields;
}

// `s` as a segment record names it: its handle in this process and its size.
inline std::string segment_fields(const SharedSegment& s) {
  return std::to_string(detail::SegmentAccess::handle(s)) + "." + std::to_string(s.size());
}

}  // namespace interproc::test
