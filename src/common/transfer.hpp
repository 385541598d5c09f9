// SPDX-License-Identifier: MIT
#pragma once
// The transfer codec: how every kind of shared object travels to a spawn-style child. The
// parent turns each SharedObject into an ObjectRecord, the backend gives the child its own
// copies of the record's handles (handle_fields), and the child turns the records back into
// objects. A new kind of object adds its parts to kind_parts() and nothing else here.
//
// The token, the first argument of a spawn-style child after child_flag:
//   <version>:<entry>:<object>,<object>,...:<checksum>
//   object   = <kind>.<field>.<field>...   (decimal numbers; kind: an ObjectKind value,
//              plus read_only_kind_bit for an object passed read-only)
//   checksum = FNV-1a (32 bit, 8 hex digits) of everything before the last ':'
// The fields are the object's parts in kind_parts() order: data (handle, size), element
// (size, type fingerprint), lock and waits (handle, size, companion count, companion
// handles), channel (handle, maximum message size). Handles are the child's own; sizes are the creators'. The decoder
// accepts nothing else: a wrong field count, a missing or bad checksum (truncation), an overlong number or a repeated
// handle is refused.

#include <interproc/spawn.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace interproc::detail {

inline constexpr std::string_view child_flag = "--interproc-child=";
// What follows child_flag for a fork server (StartMethod::forkserver) instead of a token.
inline constexpr std::string_view forkserver_argument = "forkserver";
// What follows child_flag for the watcher of NameLifetime::creator names (name_tracker.hpp).
inline constexpr std::string_view name_watcher_argument = "names";
inline constexpr std::string_view token_version = "2";
inline constexpr std::size_t max_token_objects = 64;
inline constexpr std::size_t max_entry_name = 64;
inline constexpr std::size_t max_companions = 4;
// Added to the kind number of an object whose data the child maps read-only
// (SharedSegment::read_only); only kinds with a data part may carry it.
inline constexpr std::uint64_t read_only_kind_bit = 128;

// Which parts an object of each kind has; the one table a new kind extends.
struct KindParts {
  bool data;         // a SharedSegment with the object's contents
  bool element;      // the element type of a SharedValue / SharedArray / SharedQueue
  bool one_element;  // the data holds exactly one element
  bool lock;         // an InterprocessMutex
  bool waits;        // the words of an event, semaphore, condition or queue, with companions
  bool channel;      // a Connection's channel, with its maximum message size
  const char* name;
};
std::optional<KindParts> kind_parts(ObjectKind kind) noexcept;

struct SegmentRecord {
  std::uint64_t handle = 0;
  std::uint64_t size = 0;
};

struct ElementRecord {
  std::uint64_t size = 0;
  std::uint64_t fingerprint = 0;
};

// Shared words (a lock's, or the words waiters sleep on) and the kernel objects, if any, the
// backend pairs with them: contributed and checked by the backend that owns the words.
struct StateRecord {
  SegmentRecord words;
  std::vector<std::uint64_t> companions;
};

struct ObjectRecord {
  ObjectKind kind = ObjectKind::segment;
  SegmentRecord data;      // if kind_parts(kind)->data
  ElementRecord element;   // if kind_parts(kind)->element
  StateRecord lock;        // if kind_parts(kind)->lock
  StateRecord waits;       // if kind_parts(kind)->waits
  SegmentRecord channel;   // if kind_parts(kind)->channel: handle, maximum message size
  bool read_only = false;  // the data is mapped read-only, from a read-only handle
};

struct ChildToken {
  std::string entry;
  std::vector<ObjectRecord> objects;
};

// Every handle field of `token`, in order, for a backend that gives the child its own
// handle values and rewrites the token to name those.
std::vector<std::uint64_t*> handle_fields(ChildToken& token);

// A handle that `token` names more than once, if any: each object may be passed once.
std::optional<std::uint64_t> repeated_handle(const ChildToken& token);

// Entry names: 1..max_entry_name characters of [A-Za-z0-9_].
bool is_valid_entry_name(std::string_view name) noexcept;

std::string encode_token(const ChildToken& token);
// Throws std::system_error with errc::bad_handle_argument saying what is wrong.
ChildToken decode_token(std::string_view text);

// `body` with its checksum appended: encode_token's last step, for tests that forge tokens.
inline std::string sealed(std::string_view body) {
  std::uint32_t hash = 2166136261u;
  for (char c : body) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
  static constexpr char digits[] = "0123456789abcdef";
  std::string text(body);
  text += ':';
  for (int shift = 28; shift >= 0; shift -= 4) text += digits[(hash >> shift) & 15u];
  return text;
}

}  // namespace interproc::detail
