// SPDX-License-Identifier: MIT
// Fuzzes the child-token decoder of the transfer codec, in both OS layouts (the seeds carry
// POSIX tokens, whose locks have no companion handle, and Windows tokens, whose locks carry
// their wake event): any input must either decode into a token that encodes back to the same
// text, or be rejected with errc::bad_handle_argument. Anything else (a crash, a sanitizer
// report, another exception) is a finding.
#include "common/transfer.hpp"

#include <interproc/error.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <system_error>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const interproc::detail::ChildToken token = interproc::detail::decode_token(text);
    if (interproc::detail::encode_token(token) != text) std::abort();  // parse is exact
  } catch (const std::system_error& e) {
    if (e.code() != interproc::errc::bad_handle_argument) std::abort();
  }
  return 0;
}
