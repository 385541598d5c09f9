// SPDX-License-Identifier: MIT
#pragma once
// The byte codec of interproc: values of C++ types to bytes and back, for whatever carries
// values between processes (pool tasks, messages). Both ends are the same program on the same
// machine, so the layout is native (native byte order and sizes); it is not a file format.
//
//   std::string buffer;
//   interproc::encode(buffer, std::vector<long>{1, 2, 3});
//   auto xs = interproc::decode<std::vector<long>>(buffer);
//
// Supported: trivially copyable types (no pointers), std::string, std::vector, std::pair,
// std::tuple, std::optional, nested, and every type with a codec<T> specialization:
//
//   struct Money { std::string currency; long cents; };
//   template <> struct interproc::codec<Money> {
//     template <class Writer> static void encode(Writer& w, const Money& m) {
//       interproc::encode(w, m.currency);
//       interproc::encode(w, m.cents);
//     }
//     static Money decode(interproc::Reader& r) {
//       auto currency = interproc::decode<std::string>(r);
//       return {std::move(currency), interproc::decode<long>(r)};
//     }
//   };
//
// Decoding never trusts its input: bytes that are too few, left over, or that no value of the
// type encodes (a bool that is not 0 or 1, a count larger than the bytes that follow) throw
// std::system_error with errc::invalid_message.
#include <interproc/error.hpp>

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <gsl/span>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace interproc {

/// Reads encoded values from bytes it does not own; every read is bounds-checked.
class Reader {
 public:
  /// Reads `bytes`, which must outlive the reader.
  explicit Reader(gsl::span<const std::byte> bytes) noexcept : data_(bytes.data()), left_(bytes.size()) {}
  /// Reads the bytes of `text`, which must outlive the reader.
  explicit Reader(std::string_view text) noexcept
      : data_(reinterpret_cast<const std::byte*>(text.data())), left_(text.size()) {}

  /// How many bytes are not read yet.
  std::size_t remaining() const noexcept { return left_; }
  /// The next `size` bytes, consumed; throws errc::invalid_message if fewer are left.
  const std::byte* take(std::size_t size) {
    if (size > left_) fail("truncated input");
    const std::byte* at = data_;
    data_ += size;
    left_ -= size;
    return at;
  }
  /// Copies the next `size` bytes into `into`; throws errc::invalid_message if fewer are left.
  void read(void* into, std::size_t size) {
    const std::byte* from = take(size);
    if (size != 0) std::memcpy(into, from, size);
  }
  /// A count of items of at least `min_item_size` bytes each, refused if the rest cannot hold
  /// them: hostile counts never reach an allocation.
  std::size_t read_count(std::size_t min_item_size) {
    std::uint64_t count = 0;
    read(&count, sizeof count);
    if (min_item_size != 0 && count > left_ / min_item_size) fail("count larger than the input");
    return static_cast<std::size_t>(count);
  }
  /// Throws std::system_error with errc::invalid_message and `what`.
  [[noreturn]] static void fail(const char* what) {
    throw std::system_error(make_error_code(errc::invalid_message), what);
  }

 private:
  const std::byte* data_;
  std::size_t left_;
};

/// Appends encoded bytes to a std::string or a std::vector<std::byte>.
template <class Buffer>
class Writer {
 public:
  /// Appends to `out`, which must outlive the writer.
  explicit Writer(Buffer& out) noexcept : out_(out) {}
  /// Appends `size` bytes.
  void write(const void* bytes, std::size_t size) {
    if (size == 0) return;
    const std::size_t at = out_.size();
    out_.resize(at + size);
    std::memcpy(out_.data() + at, bytes, size);
  }
  /// Appends a count of items, as 64 bits on every platform.
  void write_count(std::size_t count) {
    const auto wide = static_cast<std::uint64_t>(count);
    write(&wide, sizeof wide);
  }

 private:
  Buffer& out_;
};

/// What an encoding takes, counted without writing it (see encoded_size()).
struct ByteCount {
  std::size_t size = 0;  ///< the bytes counted so far
};
/// The Writer that counts instead of writing: encode() into it sizes a buffer exactly.
template <>
class Writer<ByteCount> {
 public:
  /// Counts into `count`.
  explicit Writer(ByteCount& count) noexcept : count_(count) {}
  /// Counts `size` bytes.
  void write(const void*, std::size_t size) noexcept { count_.size += size; }
  /// Counts a count's bytes.
  void write_count(std::size_t) noexcept { count_.size += sizeof(std::uint64_t); }

 private:
  ByteCount& count_;
};

namespace detail {
// A Writer's buffer without std::string's zero fill: memory of its own, or memory lent to it
// (a pool worker's outbox) until it outgrows that and moves to memory of its own.
class ByteBuffer {
 public:
  ByteBuffer() noexcept = default;
  explicit ByteBuffer(gsl::span<std::byte> lent) noexcept
      : data_(reinterpret_cast<char*>(lent.data())), capacity_(lent.size()) {}
  ByteBuffer(ByteBuffer&& other) noexcept { take(other); }
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    if (this != &other) {
      owned_.reset();
      take(other);
    }
    return *this;
  }
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ~ByteBuffer() = default;

  char* data() noexcept { return data_; }
  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::string_view view() const noexcept { return {data_, size_}; }
  // Still in the memory it was lent.
  bool in_lent_memory() const noexcept { return data_ != nullptr && !owned_; }
  void reserve(std::size_t size) {
    if (size > capacity_) grow(size);
  }
  void resize(std::size_t size) {
    if (size > capacity_) grow(std::max(size, 2 * capacity_));
    size_ = size;
  }

 private:
  void grow(std::size_t capacity) {
    std::unique_ptr<char[]> next(new char[capacity]);  // not value-initialized: no fill
    if (size_ != 0) std::memcpy(next.get(), data_, size_);
    owned_ = std::move(next);
    data_ = owned_.get();
    capacity_ = capacity;
  }
  void take(ByteBuffer& other) noexcept {
    owned_ = std::move(other.owned_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
  }

  std::unique_ptr<char[]> owned_;
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};
}  // namespace detail

/// The customization point: specialize `codec<T>` with
/// `template <class Writer> static void encode(Writer&, const T&);` and
/// `static T decode(Reader&);`.
/// Each value must encode to at least one byte (counts are checked against that).
template <class T, class Enable = void>
struct codec {
  /// Marks a type with no codec: is_encodable<T> is false for it.
  static constexpr bool unsupported = true;
};

namespace detail {

template <class T, class = void>
struct has_codec : std::true_type {};
template <class T>
struct has_codec<T, std::void_t<decltype(codec<T>::unsupported)>> : std::false_type {};

template <class T>
struct is_string_view_like : std::false_type {};
template <class C, class Tr>
struct is_string_view_like<std::basic_string_view<C, Tr>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

// Raw bytes make sense only for values that hold no address of this process. (An optional
// is checked field by field: its engaged flag is a bool.)
template <class T>
constexpr bool is_raw_encodable_v =
    std::is_trivially_copyable_v<T>&& std::is_default_constructible_v<T> && !std::is_pointer_v<T> &&
    !std::is_member_pointer_v<T> && !std::is_array_v<T> && !is_string_view_like<T>::value && !is_optional<T>::value &&
    !std::is_same_v<T, std::nullptr_t>;

}  // namespace detail

/// True for the types encode/decode accept (recursively for containers).
template <class T>
struct is_encodable : detail::has_codec<T> {};
template <class T>
struct is_encodable<std::vector<T>> : is_encodable<T> {};
template <class T>
struct is_encodable<std::optional<T>> : is_encodable<T> {};
template <class A, class B>
struct is_encodable<std::pair<A, B>> : std::bool_constant<is_encodable<A>::value && is_encodable<B>::value> {};
template <class... Ts>
struct is_encodable<std::tuple<Ts...>> : std::bool_constant<(is_encodable<Ts>::value && ...)> {};
/// Whether T has a codec (built-in or a user's specialization).
template <class T>
inline constexpr bool is_encodable_v = is_encodable<T>::value;

namespace detail {
// Instantiated with the offending type, so the compiler's message names it.
template <class T>
struct require_encodable {
  static_assert(is_encodable_v<T>,
                "interproc: this type cannot be encoded; use a supported type or specialize "
                "interproc::codec<T> (see include/interproc/codec.hpp)");
  static constexpr bool value = true;
};
}  // namespace detail

/// Appends the encoding of `value` through `w` (for codec<T> specializations of composite types).
template <class Buffer, class T>
void encode(Writer<Buffer>& w, const T& value) {
  static_assert(detail::require_encodable<T>::value);
  codec<T>::encode(w, value);
}

/// Appends the encoding of `value` to `out` (a std::string or std::vector<std::byte>).
template <
    class T, class Buffer,
    class = std::enable_if_t<std::is_same_v<Buffer, std::string> || std::is_same_v<Buffer, std::vector<std::byte>>>>
void encode(Buffer& out, const T& value) {
  Writer<Buffer> w(out);
  encode(w, value);
}

/// The bytes encode() writes for `value`, counted without writing them.
template <class T>
std::size_t encoded_size(const T& value) {
  ByteCount count;
  Writer<ByteCount> w(count);
  encode(w, value);
  return count.size;
}

/// Decodes one T from `r`, leaving the rest unread (for codec<T> specializations).
template <class T>
T decode(Reader& r) {
  static_assert(detail::require_encodable<T>::value);
  return codec<T>::decode(r);
}

/// Decodes exactly one T from all of `bytes`; leftover bytes are invalid_message too.
template <class T>
T decode(gsl::span<const std::byte> bytes) {
  Reader r(bytes);
  T value = decode<T>(r);
  if (r.remaining() != 0) Reader::fail("bytes left over after the value");
  return value;
}
/// Decodes exactly one T from all the bytes of `text`.
template <class T>
T decode(std::string_view text) {
  return decode<T>(gsl::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}
/// Decodes exactly one T from all the bytes of `text`.
template <class T>
T decode(const std::string& text) {
  return decode<T>(std::string_view(text));
}
/// Decodes exactly one T from all of `bytes`.
template <class T>
T decode(const std::vector<std::byte>& bytes) {
  return decode<T>(gsl::span<const std::byte>(bytes.data(), bytes.size()));
}

// ---- built-in codecs ----
/// @cond built_in_codecs

/// A trivially copyable value travels as its bytes.
template <class T>
struct codec<T, std::enable_if_t<detail::is_raw_encodable_v<T> && !std::is_same_v<T, bool>>> {
  template <class W>
  static void encode(W& w, const T& value) {
    w.write(&value, sizeof value);
  }
  static T decode(Reader& r) {
    T value;
    r.read(&value, sizeof value);
    return value;
  }
};

/// A bool is checked: a byte other than 0 or 1 is no bool (reading it would be undefined).
template <>
struct codec<bool> {
  template <class W>
  static void encode(W& w, bool value) {
    const auto byte = static_cast<unsigned char>(value ? 1 : 0);
    w.write(&byte, 1);
  }
  static bool decode(Reader& r) {
    unsigned char byte = 0;
    r.read(&byte, 1);
    if (byte > 1) Reader::fail("not a bool");
    return byte == 1;
  }
};

/// A string travels as its length and its bytes.
template <>
struct codec<std::string> {
  template <class W>
  static void encode(W& w, const std::string& s) {
    w.write_count(s.size());
    w.write(s.data(), s.size());
  }
  static std::string decode(Reader& r) {
    const std::size_t size = r.read_count(1);
    const std::byte* bytes = r.take(size);
    return std::string(reinterpret_cast<const char*>(bytes), size);
  }
};

/// A vector travels as its count and its items; one of raw-encodable items is one memcpy each way.
template <class T>
struct codec<std::vector<T>> {
  template <class W>
  static void encode(W& w, const std::vector<T>& items) {
    w.write_count(items.size());
    if constexpr (raw) {
      w.write(items.data(), items.size() * sizeof(T));
    } else {
      for (const T& item : items) interproc::encode(w, item);
    }
  }
  static std::vector<T> decode(Reader& r) {
    const std::size_t count = r.read_count(raw ? sizeof(T) : 1);
    std::vector<T> items;
    if constexpr (raw) {
      items.resize(count);
      r.read(items.data(), count * sizeof(T));
    } else {
      items.reserve(count);
      for (std::size_t i = 0; i < count; ++i) items.push_back(interproc::decode<T>(r));
    }
    return items;
  }

 private:
  static constexpr bool raw = detail::is_raw_encodable_v<T> && !std::is_same_v<T, bool>;
};

/// An optional travels as a presence byte, then its value if any.
template <class T>
struct codec<std::optional<T>> {
  template <class W>
  static void encode(W& w, const std::optional<T>& value) {
    interproc::encode(w, value.has_value());
    if (value) interproc::encode(w, *value);
  }
  static std::optional<T> decode(Reader& r) {
    if (!interproc::decode<bool>(r)) return std::nullopt;
    return interproc::decode<T>(r);
  }
};

/// A pair that is not trivially copyable travels as its two members.
template <class A, class B>
struct codec<std::pair<A, B>, std::enable_if_t<!detail::is_raw_encodable_v<std::pair<A, B>>>> {
  template <class W>
  static void encode(W& w, const std::pair<A, B>& p) {
    interproc::encode(w, p.first);
    interproc::encode(w, p.second);
  }
  static std::pair<A, B> decode(Reader& r) {
    A first = interproc::decode<A>(r);  // sequenced: the first element's bytes come first
    return std::pair<A, B>(std::move(first), interproc::decode<B>(r));
  }
};

/// A tuple that is not trivially copyable travels as its members in order.
template <class... Ts>
struct codec<std::tuple<Ts...>, std::enable_if_t<!detail::is_raw_encodable_v<std::tuple<Ts...>>>> {
  template <class W>
  static void encode(W& w, const std::tuple<Ts...>& t) {
    std::apply([&w](const Ts&... items) { (interproc::encode(w, items), ...); }, t);
  }
  static std::tuple<Ts...> decode(Reader& r) {
    // Braced initialization evaluates left to right, matching the encoding order.
    return std::tuple<Ts...>{interproc::decode<Ts>(r)...};
  }
};

/// @endcond

}  // namespace interproc
