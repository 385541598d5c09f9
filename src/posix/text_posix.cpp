// SPDX-License-Identifier: MIT
// POSIX text: arguments are bytes, passed on as they are (UTF-8 by convention).

#include "common/process_backend.hpp"

namespace interproc::detail {

std::vector<std::string> program_arguments(int argc, char** argv) { return {argv, argv + argc}; }

}  // namespace interproc::detail
