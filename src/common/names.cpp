// SPDX-License-Identifier: MIT
// Names and their lifetime, written once: NameLifetime::creator applied to the segment
// names of every named kind (the watcher itself is behind common/name_tracker.hpp), and the
// listing of names in use with the removal of dead creators' (include/interproc/names.hpp).

#include "common/fail.hpp"
#include "common/name_rules.hpp"
#include "common/name_tracker.hpp"
#include "common/segment_backend.hpp"

#include <interproc/names.hpp>
#include <interproc/shared_value.hpp>

namespace interproc {
namespace detail {

void apply_lifetime(NameLifetime lifetime, std::initializer_list<std::string> names) {
  if (lifetime != NameLifetime::creator) return;
  try {
    for (const std::string& name : names) track_segment_name(name);
  } catch (...) {
    for (const std::string& name : names) {  // a name that cannot keep its promised lifetime is not left behind
      forget_segment_name(name);
      try {
        remove_named_segment(name);
      } catch (const std::system_error&) {  // the first error is the one to report
      }
    }
    throw;
  }
}

void data_lives_with_creator(std::string_view name) {
  apply_lifetime(NameLifetime::creator, {std::string(name), data_lock_name(name)});
}

namespace {

const char* kind_text(std::uint64_t tag) noexcept {
  switch (tag_kind(tag)) {
    case SegmentKind::plain: return "segment";
    case SegmentKind::value: return "value";
    case SegmentKind::array: return "array";
    case SegmentKind::waiting: return "waiting";
    case SegmentKind::mutex: return "mutex";
    case SegmentKind::recursive_mutex: return "recursive mutex";
  }
  return "unknown";
}

bool is_segment_name(const std::string& name) noexcept {
  try {
    check_segment_name(name);
    return true;
  } catch (const std::system_error&) {
    return false;
  }
}

}  // namespace
}  // namespace detail

std::vector<NameInUse> names_in_use() {
  std::vector<NameInUse> found;
  for (const std::string& name : detail::list_segment_names()) {
    if (!detail::is_segment_name(name)) continue;
    const std::optional<detail::NamedSegmentInfo> info = detail::inspect_named_segment(name);
    if (!info) continue;
    found.push_back(
        NameInUse{name, detail::kind_text(info->tag), info->size, info->creator, detail::process_alive(info->creator)});
  }
  return found;
}

std::vector<std::string> remove_dead_names(std::string_view prefix) {
  std::vector<std::string> removed;
  for (const NameInUse& name : names_in_use()) {
    if (name.creator_alive || name.creator == 0 || name.name.compare(0, prefix.size(), prefix) != 0) continue;
    if (detail::remove_named_segment(name.name)) removed.push_back(name.name);
  }
  return removed;
}

}  // namespace interproc
