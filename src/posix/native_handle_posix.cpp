// SPDX-License-Identifier: MIT
#include "common/native_handle.hpp"

#include <unistd.h>

namespace interproc::detail {

bool is_valid_handle(native_handle h) noexcept { return h >= 0; }

void close_handle(native_handle h) noexcept {
  // close(2): on Linux the descriptor is released even when close reports EINTR, so it
  // must not be retried.
  if (h >= 0) ::close(static_cast<int>(h));
}

}  // namespace interproc::detail
