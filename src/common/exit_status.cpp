// SPDX-License-Identifier: MIT
// Pure text keyed on the numeric code, so one table serves every OS: a POSIX signal is a
// small negative number and a POSIX exit code 0-255, which no NTSTATUS code below is.

#include "common/exit_status.hpp"

#include <cstdint>
#include <cstdio>

namespace interproc::detail {
namespace {

struct NtStatusName {
  std::uint32_t code;
  const char* text;
};

// The NTSTATUS values a crashed or ended Windows process most often exits with (ntstatus.h).
constexpr NtStatusName nt_status_names[] = {
    {0xC0000005u, "crashed: access violation"},
    {0xC00000FDu, "crashed: stack overflow"},
    {0xC000001Du, "crashed: illegal instruction"},
    {0xC0000094u, "crashed: integer divide by zero"},
    {0xC0000409u, "crashed: stack buffer overrun or fail-fast"},
    {0xC000013Au, "ended by control-C exit"},
    {0xC0000374u, "crashed: heap corruption"},
    {0x40010004u, "was terminated, DBG_TERMINATE_PROCESS"},
};

std::string hex_code(std::uint32_t code) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", static_cast<unsigned>(code));
  return text;
}

}  // namespace

std::string describe_exit_status(int code) {
  const auto as_status = static_cast<std::uint32_t>(code);
  for (const NtStatusName& known : nt_status_names) {
    if (known.code == as_status) return std::string(known.text) + " (" + hex_code(as_status) + ")";
  }
  if (code < 0 && code > -256) return "was killed by signal " + std::to_string(-code);
  if (code < 0) return "ended with status " + hex_code(as_status);
  return "ended with exit code " + std::to_string(code);
}

}  // namespace interproc::detail
