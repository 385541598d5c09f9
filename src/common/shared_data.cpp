// SPDX-License-Identifier: MIT
// The non-template halves of named SharedValue and SharedArray (include/interproc/shared_value.hpp):
// their names, and the order in which they open and remove their two named parts.

#include "common/fail.hpp"
#include "common/name_rules.hpp"
#include "common/segment_backend.hpp"

#include <interproc/shared_value.hpp>

#include <string>
#include <system_error>

namespace interproc::detail {
namespace {

std::string shown(std::string_view name) { return quoted(std::string(name)); }

std::uint64_t data_tag(std::uint64_t fingerprint, bool array) noexcept {
  return segment_tag(array ? SegmentKind::array : SegmentKind::value, fingerprint);
}

void check_data_size(std::string_view name, std::size_t size, std::size_t element_size, bool array) {
  const bool fits = array ? size % element_size == 0 : size == element_size;
  if (fits) return;
  fail(errc::wrong_object_kind, std::string(array ? "SharedArray" : "SharedValue") + "::open_named(" + shown(name) +
                                    "): its data holds " + std::to_string(size) + " bytes, not " +
                                    (array ? "a multiple of " : "") + std::to_string(element_size));
}

// The data's tag says its kind and its element type: another kind's name (a queue's, an
// event's, a plain segment's, an array's for a value) is foreign; another type, even of the
// same size, is the wrong kind, as ChildContext::value<T> says.
void check_data_kind(std::string_view name, std::uint64_t tag, bool array) {
  const std::string who = std::string(array ? "SharedArray" : "SharedValue") + "::open_named(" + shown(name) + ")";
  if (tag_kind(tag) != (array ? SegmentKind::array : SegmentKind::value))
    fail(errc::foreign_object, who + ": not a " + (array ? "SharedArray" : "SharedValue"));
}

void check_data_type(std::string_view name, std::uint64_t tag, std::uint64_t fingerprint, bool array) {
  if (tag == data_tag(fingerprint, array)) return;
  fail(errc::wrong_object_kind, std::string(array ? "SharedArray" : "SharedValue") + "::open_named(" + shown(name) +
                                    "): its elements are of another type of the same size");
}

}  // namespace

std::string data_lock_name(std::string_view name) {
  if (name.size() > max_data_name_length) {
    fail(errc::name_too_long, "SharedValue/SharedArray/SharedQueue: name \"" + shown_prefix(name, 64) + "\" has " +
                                  std::to_string(name.size()) + " characters, at most " +
                                  std::to_string(max_data_name_length) + " leave room for its lock's \".lock\"");
  }
  check_segment_name(name, "SharedValue/SharedArray/SharedQueue");
  return std::string(name) + ".lock";
}

SharedSegment create_data_segment(std::string_view name, std::size_t bytes, const std::string& lock_name,
                                  std::uint64_t fingerprint, bool array) {
  try {
    return create_tagged_segment(name, bytes, data_tag(fingerprint, array));
  } catch (const std::system_error&) {
    try {
      InterprocessMutex::remove_named(lock_name);
    } catch (const std::system_error&) {  // the first error is the one to report
    }
    throw;
  }
}

NamedData open_named_data(std::string_view name, std::size_t element_size, std::uint64_t fingerprint, bool array) {
  const std::string lock_name = data_lock_name(name);
  std::uint64_t tag = 0;
  SharedSegment data = open_tagged_segment(name, tag);
  check_data_kind(name, tag, array);
  check_data_size(name, data.size(), element_size, array);
  check_data_type(name, tag, fingerprint, array);
  InterprocessMutex lock = InterprocessMutex::open_named(lock_name);
  { std::lock_guard<InterprocessMutex> wait_for_creator(lock); }
  return NamedData{std::move(data), std::move(lock)};
}

bool remove_named_data(std::string_view name) {
  const std::string lock_name = data_lock_name(name);
  const bool existed = SharedSegment::remove_named(name);
  InterprocessMutex::remove_named(lock_name);
  return existed;
}

}  // namespace interproc::detail
