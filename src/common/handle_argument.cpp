// SPDX-License-Identifier: MIT
#include "common/handle_argument.hpp"

#include "common/fail.hpp"
#include "common/mutex_backend.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

namespace interproc::detail {
namespace {

constexpr std::string_view token_version = "1";

std::uint32_t fnv1a(std::string_view text) noexcept {
  std::uint32_t hash = 2166136261u;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return hash;
}

std::string hex8(std::uint32_t value) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", value);
  return text;
}

[[noreturn]] void reject(const std::string& why) { fail(errc::bad_handle_argument, "--interproc-child: " + why); }

// Splits at every `separator`; empty parts are kept so that the caller can reject them.
std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::uint64_t parse_number(std::string_view digits) {
  if (digits.empty() || digits.size() > 20) reject("a number is empty or too long");
  if (digits.size() > 1 && digits[0] == '0') reject("a number has a leading zero");
  std::uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') reject("'" + std::string(1, c) + "' where a digit belongs");
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) reject("a number overflows 64 bits");
    value = value * 10 + digit;
  }
  return value;
}

TokenObject parse_object(std::string_view text) {
  if (text.empty()) reject("an empty object");
  TokenObject object{text[0], {}};
  if (std::string_view("smva").find(object.kind) == std::string_view::npos) {
    reject("unknown object kind '" + std::string(1, object.kind) + "'");
  }
  for (std::string_view field : split(text.substr(1), '.')) object.fields.push_back(parse_number(field));
  if (object.fields.size() != field_count(object.kind)) {
    reject("object '" + std::string(text) + "' has " + std::to_string(object.fields.size()) + " fields, expected " +
           std::to_string(field_count(object.kind)));
  }
  return object;
}

// Handles sit at fixed field positions; each may appear once in a token.
std::vector<std::size_t> handle_positions(char kind) {
  const std::size_t mutex_at = (kind == 'v' || kind == 'a') ? 4 : 0;
  if (kind == 's') return {0};
  std::vector<std::size_t> positions{mutex_at};
  if (mutex_wake_handles == 1) positions.push_back(mutex_at + 2);
  if (mutex_at != 0) positions.push_back(0);
  return positions;
}

}  // namespace

std::optional<std::uint64_t> repeated_handle(const ChildToken& token) {
  std::set<std::uint64_t> seen;
  for (const TokenObject& object : token.objects) {
    for (std::size_t at : handle_positions(object.kind)) {
      if (!seen.insert(object.fields[at]).second) return object.fields[at];
    }
  }
  return std::nullopt;
}

std::size_t field_count(char kind) {
  const std::size_t mutex_fields = 2 + static_cast<std::size_t>(mutex_wake_handles);
  switch (kind) {
    case 's': return 2;
    case 'm': return mutex_fields;
    case 'v':
    case 'a': return 4 + mutex_fields;
    default: return 0;
  }
}

std::vector<std::uint64_t*> handle_fields(ChildToken& token) {
  std::vector<std::uint64_t*> fields;
  for (TokenObject& object : token.objects) {
    for (std::size_t at : handle_positions(object.kind)) fields.push_back(&object.fields[at]);
  }
  return fields;
}

bool is_valid_entry_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= max_entry_name && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string encode_token(const ChildToken& token) {
  std::string text = std::string(token_version) + ":" + token.entry + ":";
  for (std::size_t i = 0; i < token.objects.size(); ++i) {
    if (i != 0) text += ',';
    text += token.objects[i].kind;
    for (std::size_t f = 0; f < token.objects[i].fields.size(); ++f) {
      if (f != 0) text += '.';
      text += std::to_string(token.objects[i].fields[f]);
    }
  }
  return text + ":" + hex8(fnv1a(text));
}

ChildToken parse_token(std::string_view text) {
  const std::vector<std::string_view> parts = split(text, ':');
  if (parts.size() != 4) reject("expected 4 ':'-separated parts, found " + std::to_string(parts.size()));
  if (parts[0] != token_version) reject("unsupported version \"" + shown_prefix(parts[0], 8) + "\"");
  const std::string_view body = text.substr(0, text.size() - parts[3].size() - 1);
  if (parts[3] != hex8(fnv1a(body))) reject("checksum mismatch (truncated or altered)");
  if (!is_valid_entry_name(parts[1])) reject("invalid entry name");

  ChildToken token{std::string(parts[1]), {}};
  if (!parts[2].empty()) {
    const std::vector<std::string_view> objects = split(parts[2], ',');
    if (objects.size() > max_token_objects) reject("more than " + std::to_string(max_token_objects) + " objects");
    for (std::string_view object : objects) token.objects.push_back(parse_object(object));
  }
  if (const auto repeated = repeated_handle(token)) reject("handle " + std::to_string(*repeated) + " appears twice");
  return token;
}

}  // namespace interproc::detail
