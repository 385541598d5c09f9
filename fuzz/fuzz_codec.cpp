// SPDX-License-Identifier: MIT
// Fuzzes the byte codec's decoder over nested types: any input must either decode into a
// value that encodes back to the same bytes, or be refused with errc::invalid_message.
// Anything else (a crash, a sanitizer report, another exception, a huge allocation) is a
// finding.
#include <interproc/codec.hpp>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <vector>

namespace {

template <class T>
void check(std::string_view bytes) {
  try {
    const T value = interproc::decode<T>(bytes);
    std::string again;
    interproc::encode(again, value);
    if (again != bytes) std::abort();
  } catch (const std::system_error& e) {
    if (e.code() != interproc::errc::invalid_message) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check<std::vector<long>>(bytes);
  check<std::vector<std::string>>(bytes);
  check<std::tuple<std::optional<bool>, std::vector<std::pair<std::string, int>>>>(bytes);
  check<std::vector<std::vector<std::optional<std::string>>>>(bytes);
  return 0;
}
