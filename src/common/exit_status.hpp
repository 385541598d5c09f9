// SPDX-License-Identifier: MIT
#pragma once
// How a child ended, in words, from the code Child::wait() returns.

#include <interproc/export.hpp>

#include <string>

namespace interproc::detail {

// "ended with exit code 3", "was killed by signal 9", or for a common Windows NTSTATUS
// code that a crashed process ends with (wait() gives it as an int, negative for 0xC...),
// its meaning: "crashed: access violation (0xC0000005)".
INTERPROC_EXPORT std::string describe_exit_status(int code);  // exported for its unit test

}  // namespace interproc::detail
