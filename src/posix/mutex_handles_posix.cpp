// SPDX-License-Identifier: MIT
// A POSIX InterprocessMutex is its state segment alone: waiters need no extra handle.

#include "common/fail.hpp"
#include "common/mutex_backend.hpp"

namespace interproc::detail {

const int mutex_wake_handles = 0;

ScopedHandle adopt_wake_handle(native_handle h) {
  fail(errc::bad_handle_argument, "a POSIX mutex has no wake handle, got " + std::to_string(h));
}

}  // namespace interproc::detail
