// SPDX-License-Identifier: MIT
#include "common/transfer.hpp"

#include "common/fail.hpp"

#include <algorithm>
#include <set>

namespace interproc::detail {
namespace {

[[noreturn]] void reject(const std::string& why) { fail(errc::bad_handle_argument, "child token: " + why); }

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
    if (c < '0' || c > '9') reject("'" + shown_prefix(std::string_view(&c, 1), 1) + "' where a digit belongs");
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) reject("a number overflows 64 bits");
    value = value * 10 + digit;
  }
  return value;
}

// The numbers of one object in token order: kind, companion count, then its parts' fields.
std::vector<std::uint64_t> numbers_of(const ObjectRecord& object) {
  const KindParts parts = *kind_parts(object.kind);
  std::vector<std::uint64_t> numbers{static_cast<std::uint64_t>(object.kind), object.lock.companions.size()};
  if (parts.data) numbers.insert(numbers.end(), {object.data.handle, object.data.size});
  if (parts.element) numbers.insert(numbers.end(), {object.element.size, object.element.fingerprint});
  if (parts.lock) {
    numbers.insert(numbers.end(), {object.lock.words.handle, object.lock.words.size});
    numbers.insert(numbers.end(), object.lock.companions.begin(), object.lock.companions.end());
  }
  return numbers;
}

std::size_t field_count(const KindParts& parts, std::size_t companions) {
  const auto pair_if = [](bool present) -> std::size_t { return present ? 2 : 0; };
  return 2 + pair_if(parts.data) + pair_if(parts.element) + (parts.lock ? 2 + companions : 0);
}

ObjectRecord parse_object(std::string_view text) {
  std::vector<std::uint64_t> numbers;
  for (std::string_view field : split(text, '.')) numbers.push_back(parse_number(field));
  if (numbers.size() < 2) reject("object \"" + shown_prefix(text, 40) + "\" has no kind and companion count");
  const auto kind = static_cast<ObjectKind>(numbers[0] <= 255 ? numbers[0] : 0);
  const std::optional<KindParts> parts = numbers[0] <= 255 ? kind_parts(kind) : std::nullopt;
  if (!parts) reject("unknown object kind " + std::to_string(numbers[0]));
  if (numbers[1] > max_companions) reject("an impossible companion count");
  const auto companions = static_cast<std::size_t>(numbers[1]);
  if (companions > max_companions || (companions != 0 && !parts->lock)) reject("an impossible companion count");
  if (numbers.size() != field_count(*parts, companions)) {
    reject("object \"" + shown_prefix(text, 40) + "\" has " + std::to_string(numbers.size()) + " numbers, expected " +
           std::to_string(field_count(*parts, companions)));
  }
  std::size_t at = 2;  // the count was checked: every next() is in range
  const auto next = [&] { return numbers[at++]; };
  ObjectRecord object;
  object.kind = kind;
  if (parts->data) object.data = {next(), next()};
  if (parts->element) object.element = {next(), next()};
  if (parts->lock) {
    object.lock.words = {next(), next()};
    for (std::size_t i = 0; i < companions; ++i) object.lock.companions.push_back(next());
  }
  return object;
}

template <class Token, class Visit>
void for_each_handle(Token& token, Visit visit) {
  for (auto& object : token.objects) {
    const KindParts parts = *kind_parts(object.kind);
    if (parts.data) visit(object.data.handle);
    if (parts.lock) {
      visit(object.lock.words.handle);
      for (auto& companion : object.lock.companions) visit(companion);
    }
  }
}

}  // namespace

std::optional<KindParts> kind_parts(ObjectKind kind) noexcept {
  switch (kind) {
    case ObjectKind::segment: return KindParts{true, false, false, false, "SharedSegment"};
    case ObjectKind::mutex: return KindParts{false, false, false, true, "InterprocessMutex"};
    case ObjectKind::value: return KindParts{true, true, true, true, "SharedValue"};
    case ObjectKind::array: return KindParts{true, true, false, true, "SharedArray"};
  }
  return std::nullopt;
}

std::vector<std::uint64_t*> handle_fields(ChildToken& token) {
  std::vector<std::uint64_t*> fields;
  for_each_handle(token, [&](std::uint64_t& handle) { fields.push_back(&handle); });
  return fields;
}

std::optional<std::uint64_t> repeated_handle(const ChildToken& token) {
  std::set<std::uint64_t> seen;
  std::optional<std::uint64_t> repeated;
  for_each_handle(token, [&](const std::uint64_t& handle) {
    if (!seen.insert(handle).second && !repeated) repeated = handle;
  });
  return repeated;
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
    const std::vector<std::uint64_t> numbers = numbers_of(token.objects[i]);
    for (std::size_t n = 0; n < numbers.size(); ++n) text += (n != 0 ? "." : "") + std::to_string(numbers[n]);
  }
  return sealed(text);
}

ChildToken decode_token(std::string_view text) {
  const std::vector<std::string_view> parts = split(text, ':');
  if (parts.size() != 4) reject("expected 4 ':'-separated parts, found " + std::to_string(parts.size()));
  if (parts[0] != token_version) reject("unsupported version \"" + shown_prefix(parts[0], 8) + "\"");
  const std::string_view body = text.substr(0, text.size() - parts[3].size() - 1);
  if (sealed(body) != text) reject("checksum mismatch (truncated or altered)");
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
