// SharedSegment's public behaviour, written once: validation of names and sizes and the
// RAII rules. The OS work is in src/posix/shared_segment_posix.cpp and
// src/win32/shared_segment_win.cpp behind common/segment_backend.hpp.

#include "common/fail.hpp"
#include "common/name_rules.hpp"
#include "common/segment_backend.hpp"

#include <limits>
#include <utility>

namespace interproc {
namespace detail {

namespace {
bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}
}  // namespace

void check_segment_name(std::string_view name) {
  const std::string shown(name.substr(0, 64));
  if (name.empty()) fail(errc::invalid_name, "SharedSegment: empty name");
  if (name.size() > max_name_length) {
    fail(errc::name_too_long, "SharedSegment: name \"" + shown + "\" has " + std::to_string(name.size()) +
                                  " characters, at most " + std::to_string(max_name_length) + " are portable");
  }
  for (char c : name) {
    if (!is_name_char(c)) {
      fail(errc::invalid_name, "SharedSegment: name \"" + shown + "\" contains '" + std::string(1, c) +
                                   "'; use letters, digits, '.', '_' and '-'");
    }
  }
  if (name == "." || name == "..") fail(errc::invalid_name, "SharedSegment: name \"" + shown + "\" is reserved");
}

void check_segment_size(std::size_t size) {
  if (size == 0) fail(errc::invalid_size, "SharedSegment: size 0");
  // The page-rounded size must still fit, and half the address space is more than any OS
  // maps in one piece; larger requests are caller bugs, not OS failures.
  if (size > std::numeric_limits<std::size_t>::max() / 2) {
    fail(errc::invalid_size, "SharedSegment: size " + std::to_string(size) + " exceeds the address space");
  }
}

}  // namespace detail

using detail::SegmentAccess;

SharedSegment SharedSegment::create(std::size_t size) {
  detail::check_segment_size(size);
  return SegmentAccess::adopt(detail::create_anonymous_segment(size));
}

SharedSegment SharedSegment::create_named(std::string_view name, std::size_t size) {
  detail::check_segment_name(name);
  detail::check_segment_size(size);
  return SegmentAccess::adopt(detail::create_named_segment(std::string(name), size));
}

SharedSegment SharedSegment::open_named(std::string_view name) {
  detail::check_segment_name(name);
  return SegmentAccess::adopt(detail::open_named_segment(std::string(name)));
}

bool SharedSegment::remove_named(std::string_view name) {
  detail::check_segment_name(name);
  return detail::remove_named_segment(std::string(name));
}

SharedSegment::SharedSegment(SharedSegment&& other) noexcept
    : address_(std::exchange(other.address_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_size_(std::exchange(other.mapped_size_, 0)),
      handle_(std::exchange(other.handle_, detail::invalid_handle)) {}

SharedSegment& SharedSegment::operator=(SharedSegment&& other) noexcept {
  if (this != &other) {
    reset();
    address_ = std::exchange(other.address_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_size_ = std::exchange(other.mapped_size_, 0);
    handle_ = std::exchange(other.handle_, detail::invalid_handle);
  }
  return *this;
}

SharedSegment::~SharedSegment() { reset(); }

void SharedSegment::reset() noexcept {
  if (address_ != nullptr) detail::unmap_segment(address_, mapped_size_);
  detail::ScopedHandle(std::exchange(handle_, detail::invalid_handle));
  address_ = nullptr;
  size_ = 0;
  mapped_size_ = 0;
}

}  // namespace interproc
