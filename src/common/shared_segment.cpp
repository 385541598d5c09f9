// SPDX-License-Identifier: MIT
// SharedSegment's public behaviour, written once: validation of names and sizes and the
// RAII rules. The OS work is in src/posix/segment_posix.cpp and
// src/win32/segment_win.cpp behind common/segment_backend.hpp.

#include "common/fail.hpp"
#include "common/name_tracker.hpp"
#include "common/name_rules.hpp"
#include "common/segment_backend.hpp"

#include <interproc/open_or_create.hpp>

#include <utility>

namespace interproc {

using detail::SegmentAccess;

SharedSegment SharedSegment::create(std::size_t size) {
  detail::check_segment_size(size);
  return SegmentAccess::adopt(detail::create_anonymous_segment(size));
}

SharedSegment detail::create_words_segment(std::size_t size) {
  check_segment_size(size);
  return SegmentAccess::adopt(create_anonymous_segment(size, false));
}

SharedSegment SharedSegment::create_named(std::string_view name, std::size_t size, NameLifetime lifetime) {
  SharedSegment segment = detail::create_tagged_segment(name, size, 0);
  detail::apply_lifetime(lifetime, {std::string(name)});
  return segment;
}

SharedSegment SharedSegment::open_named(std::string_view name) {
  std::uint64_t tag = 0;
  return detail::open_tagged_segment(name, tag);
}

SharedSegment detail::create_tagged_segment(std::string_view name, std::size_t size, std::uint64_t tag) {
  check_segment_name(name);
  check_segment_size(size);
  return SegmentAccess::adopt(create_named_segment(std::string(name), size, tag));
}

SharedSegment detail::open_tagged_segment(std::string_view name, std::uint64_t& tag) {
  check_segment_name(name);
  MappedSegment segment = open_named_segment(std::string(name));
  tag = segment.tag;
  return SegmentAccess::adopt(std::move(segment));
}

SharedSegment SharedSegment::open_or_create(std::string_view name, std::size_t size) {
  return detail::open_or_create_named([&] { return create_named(name, size); }, [&] { return open_named(name); });
}

bool SharedSegment::remove_named(std::string_view name) {
  detail::check_segment_name(name);
  detail::forget_segment_name(std::string(name));
  return detail::remove_named_segment(std::string(name));
}

SharedSegment::SharedSegment(SharedSegment&& other) noexcept
    : address_(std::exchange(other.address_, nullptr)), size_(std::exchange(other.size_, 0)),
      mapped_size_(std::exchange(other.mapped_size_, 0)), handle_(std::exchange(other.handle_, detail::invalid_handle)),
      read_only_twin_(std::exchange(other.read_only_twin_, detail::invalid_handle)),
      read_only_(std::exchange(other.read_only_, false)) {}

SharedSegment& SharedSegment::operator=(SharedSegment&& other) noexcept {
  if (this != &other) {
    reset();
    address_ = std::exchange(other.address_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_size_ = std::exchange(other.mapped_size_, 0);
    handle_ = std::exchange(other.handle_, detail::invalid_handle);
    read_only_twin_ = std::exchange(other.read_only_twin_, detail::invalid_handle);
    read_only_ = std::exchange(other.read_only_, false);
  }
  return *this;
}

SharedSegment::~SharedSegment() { reset(); }

void SharedSegment::reset() noexcept {
  if (address_ != nullptr) detail::unmap_segment(address_, mapped_size_);
  detail::close_handle(std::exchange(handle_, detail::invalid_handle));
  detail::close_handle(std::exchange(read_only_twin_, detail::invalid_handle));
  read_only_ = false;
  address_ = nullptr;
  size_ = 0;
  mapped_size_ = 0;
}

}  // namespace interproc
