// SPDX-License-Identifier: MIT
// StartMethod::forkserver on POSIX (work in progress).

#include "common/fail.hpp"
#include "common/process_backend.hpp"

namespace interproc::detail {

ChildProcess launch_forkserver(ChildToken /*token*/, const std::vector<std::string>& /*args*/,
                               const SpawnOptions& /*options*/) {
  fail(errc::not_supported, "StartMethod::forkserver is not built yet");
}

}  // namespace interproc::detail
