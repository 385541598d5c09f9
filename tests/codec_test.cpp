// SPDX-License-Identifier: MIT
// The byte codec: round trips of every supported type, the one-memcpy fast path, a user
// codec, and hostile input (truncated, left over, oversized counts, bad bools) refused with
// errc::invalid_message.
#include <gtest/gtest.h>
#include <interproc/codec.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

struct Point {
  double x, y;
};

struct Money {
  std::string currency;
  long cents;
};

template <class T>
T round_trip(const T& value) {
  std::string buffer;
  interproc::encode(buffer, value);
  return interproc::decode<T>(buffer);
}

template <class T>
void expect_invalid(std::string_view bytes) {
  try {
    (void)interproc::decode<T>(bytes);
    FAIL() << "decoded hostile bytes";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), interproc::errc::invalid_message) << e.what();
  }
}

std::string count_bytes(std::uint64_t count) {
  return std::string(reinterpret_cast<const char*>(&count), sizeof count);
}

}  // namespace

template <>
struct interproc::codec<Money> {
  template <class Writer>
  static void encode(Writer& w, const Money& m) {
    interproc::encode(w, m.currency);
    interproc::encode(w, m.cents);
  }
  static Money decode(interproc::Reader& r) {
    auto currency = interproc::decode<std::string>(r);
    return {std::move(currency), interproc::decode<long>(r)};
  }
};

static_assert(interproc::is_encodable_v<long>);
static_assert(interproc::is_encodable_v<Point>);
static_assert(interproc::is_encodable_v<Money>);
static_assert(interproc::is_encodable_v<std::vector<std::optional<std::pair<std::string, Point>>>>);
static_assert(!interproc::is_encodable_v<int*>);
static_assert(!interproc::is_encodable_v<std::string_view>);
static_assert(!interproc::is_encodable_v<std::vector<const char*>>);
static_assert(!interproc::is_encodable_v<std::tuple<long, std::vector<void*>>>);

TEST(Codec, ScalarsAndTriviallyCopyableStructsRoundTrip) {
  EXPECT_EQ(round_trip(42L), 42L);
  EXPECT_EQ(round_trip(-1.5), -1.5);
  EXPECT_EQ(round_trip(true), true);
  EXPECT_EQ(round_trip('x'), 'x');
  const Point p = round_trip(Point{1.25, -2.5});
  EXPECT_EQ(p.x, 1.25);
  EXPECT_EQ(p.y, -2.5);
}

TEST(Codec, StringsAndVectorsRoundTripIncludingEmpty) {
  EXPECT_EQ(round_trip(std::string()), "");
  EXPECT_EQ(round_trip(std::string("a\0b", 3)), std::string("a\0b", 3));
  EXPECT_EQ(round_trip(std::vector<long>{}), std::vector<long>{});
  EXPECT_EQ(round_trip(std::vector<std::string>{"", "one", ""}), (std::vector<std::string>{"", "one", ""}));
  EXPECT_EQ(round_trip(std::vector<bool>{true, false, true}), (std::vector<bool>{true, false, true}));
}

TEST(Codec, NestedContainersRoundTrip) {
  using Nested = std::vector<std::tuple<std::string, std::optional<std::vector<long>>, std::pair<int, std::string>>>;
  const Nested value{{"a", std::nullopt, {1, "x"}}, {"", std::vector<long>{1, 2, 3}, {-1, ""}}};
  EXPECT_EQ(round_trip(value), value);
  EXPECT_EQ(round_trip(std::optional<long>()), std::nullopt);
  EXPECT_EQ(round_trip(std::optional<long>(7)), 7L);
}

TEST(Codec, UserCodecRoundTrips) {
  const Money m = round_trip(Money{"EUR", 1250});
  EXPECT_EQ(m.currency, "EUR");
  EXPECT_EQ(m.cents, 1250);
  EXPECT_EQ(round_trip(std::vector<Money>{{"USD", 1}}).at(0).currency, "USD");
}

TEST(Codec, VectorOfTriviallyCopyableIsCountPlusRawBytes) {
  std::vector<long> values(100000);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<long>(i * i);
  std::string buffer;
  interproc::encode(buffer, values);
  ASSERT_EQ(buffer.size(), sizeof(std::uint64_t) + values.size() * sizeof(long));
  EXPECT_EQ(std::memcmp(buffer.data() + sizeof(std::uint64_t), values.data(), values.size() * sizeof(long)), 0);
  EXPECT_EQ(interproc::decode<std::vector<long>>(buffer), values);
}

TEST(Codec, LargeStringAndByteVectorBuffer) {
  const std::string big(20u << 20, 'z');
  std::vector<std::byte> buffer;
  interproc::encode(buffer, big);
  EXPECT_EQ(interproc::decode<std::string>(buffer), big);
}

TEST(Codec, SeveralValuesAppendToOneBuffer) {
  std::string buffer;
  interproc::encode(buffer, 1L);
  interproc::encode(buffer, std::string("two"));
  interproc::Reader r(buffer);
  EXPECT_EQ(interproc::decode<long>(r), 1L);
  EXPECT_EQ(interproc::decode<std::string>(r), "two");
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(Codec, TruncatedInputIsInvalidMessage) {
  std::string buffer;
  interproc::encode(buffer, std::vector<std::string>{"hello", "world"});
  for (std::size_t size = 0; size < buffer.size(); ++size)
    expect_invalid<std::vector<std::string>>(std::string_view(buffer).substr(0, size));
  expect_invalid<long>("abc");
}

TEST(Codec, LeftoverBytesAreInvalidMessage) {
  std::string buffer;
  interproc::encode(buffer, 5L);
  buffer += 'x';
  expect_invalid<long>(buffer);
}

TEST(Codec, OversizedCountsAreRefusedBeforeAllocating) {
  expect_invalid<std::string>(count_bytes(~std::uint64_t{0}));
  expect_invalid<std::vector<long>>(count_bytes(std::uint64_t{1} << 61) + "12345678");
  expect_invalid<std::vector<std::string>>(count_bytes(std::uint64_t{1} << 40));
  expect_invalid<std::vector<std::vector<long>>>(count_bytes(3) + count_bytes(1u << 30));
}

TEST(Codec, ABoolThatIsNotZeroOrOneIsInvalidMessage) {
  expect_invalid<bool>(std::string(1, '\x02'));
  expect_invalid<std::optional<long>>(std::string(1, '\x05') + "12345678");
}
