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

void append_state(std::vector<std::uint64_t>& numbers, const StateRecord& state) {
  numbers.insert(numbers.end(), {state.words.handle, state.words.size, state.companions.size()});
  numbers.insert(numbers.end(), state.companions.begin(), state.companions.end());
}

// The numbers of one object in token order: its kind, then its parts' fields.
std::vector<std::uint64_t> numbers_of(const ObjectRecord& object) {
  const KindParts parts = *kind_parts(object.kind);
  std::vector<std::uint64_t> numbers{static_cast<std::uint64_t>(object.kind) +
                                     (object.read_only ? read_only_kind_bit : 0)};
  if (parts.data) numbers.insert(numbers.end(), {object.data.handle, object.data.size});
  if (parts.element) numbers.insert(numbers.end(), {object.element.size, object.element.fingerprint});
  if (parts.lock) append_state(numbers, object.lock);
  if (parts.waits) append_state(numbers, object.waits);
  if (parts.channel) numbers.insert(numbers.end(), {object.channel.handle, object.channel.size});
  return numbers;
}

// Reads an object's numbers in order; running past the end means too few fields.
class FieldReader {
 public:
  explicit FieldReader(std::vector<std::uint64_t> numbers) : numbers_(std::move(numbers)) {}
  std::uint64_t next() {
    if (at_ == numbers_.size()) reject("an object has too few fields");
    return numbers_[at_++];
  }
  StateRecord state() {
    StateRecord record{{next(), next()}, {}};
    const std::uint64_t count = next();
    if (count > max_companions) reject("an impossible companion count");
    for (std::uint64_t i = 0; i < count; ++i) record.companions.push_back(next());
    return record;
  }
  bool done() const noexcept { return at_ == numbers_.size(); }

 private:
  std::vector<std::uint64_t> numbers_;
  std::size_t at_ = 0;
};

ObjectRecord parse_object(std::string_view text) {
  std::vector<std::uint64_t> numbers;
  for (std::string_view field : split(text, '.')) numbers.push_back(parse_number(field));
  FieldReader in(std::move(numbers));
  std::uint64_t kind_number = in.next();
  const bool read_only = (kind_number & ~(read_only_kind_bit - 1)) == read_only_kind_bit;
  if (read_only) kind_number -= read_only_kind_bit;
  const auto kind = static_cast<ObjectKind>(kind_number <= 255 ? kind_number : 0);
  const std::optional<KindParts> parts = kind_number <= 255 ? kind_parts(kind) : std::nullopt;
  if (!parts) reject("unknown object kind " + std::to_string(kind_number));
  if (read_only && !parts->data) reject(std::string("a read-only ") + parts->name + ", which has no data to map");
  ObjectRecord object;
  object.kind = kind;
  object.read_only = read_only;
  if (parts->data) object.data = {in.next(), in.next()};
  if (parts->element) object.element = {in.next(), in.next()};
  if (parts->lock) object.lock = in.state();
  if (parts->waits) object.waits = in.state();
  if (parts->channel) object.channel = {in.next(), in.next()};
  if (!in.done()) reject("object \"" + shown_prefix(text, 40) + "\" has too many fields");
  return object;
}

template <class Token, class Visit>
void for_each_handle(Token& token, Visit visit) {
  for (auto& object : token.objects) {
    const KindParts parts = *kind_parts(object.kind);
    if (parts.data) visit(object.data.handle);
    if (parts.channel) visit(object.channel.handle);
    for (auto* state : {parts.lock ? &object.lock : nullptr, parts.waits ? &object.waits : nullptr}) {
      if (state == nullptr) continue;
      visit(state->words.handle);
      for (auto& companion : state->companions) visit(companion);
    }
  }
}

}  // namespace

std::optional<KindParts> kind_parts(ObjectKind kind) noexcept {
  switch (kind) {
    // data, element, one element, lock, waits, channel
    case ObjectKind::segment: return KindParts{true, false, false, false, false, false, "SharedSegment"};
    case ObjectKind::mutex: return KindParts{false, false, false, true, false, false, "InterprocessMutex"};
    case ObjectKind::value: return KindParts{true, true, true, true, false, false, "SharedValue"};
    case ObjectKind::array: return KindParts{true, true, false, true, false, false, "SharedArray"};
    case ObjectKind::event: return KindParts{false, false, false, false, true, false, "InterprocessEvent"};
    case ObjectKind::semaphore: return KindParts{false, false, false, false, true, false, "InterprocessSemaphore"};
    case ObjectKind::condition: return KindParts{false, false, false, false, true, false, "InterprocessCondition"};
    case ObjectKind::queue: return KindParts{false, true, false, true, true, false, "SharedQueue"};
    case ObjectKind::connection: return KindParts{false, false, false, false, false, true, "Connection"};
    case ObjectKind::joinable_queue: return KindParts{false, true, false, true, true, false, "JoinableQueue"};
    case ObjectKind::codec_queue:
      return KindParts{false, true, false, true, true, false, "SharedQueue of encoded items"};
    case ObjectKind::barrier: return KindParts{false, false, false, false, true, false, "InterprocessBarrier"};
    case ObjectKind::recursive_mutex:
      return KindParts{false, false, false, true, false, false, "InterprocessRecursiveMutex"};
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
