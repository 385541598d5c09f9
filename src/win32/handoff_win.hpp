// SPDX-License-Identifier: MIT
#pragma once
// How a spawned Windows child receives its shared objects (see handoff_win.cpp): a
// bootstrap section that the command line names.

#include "common/transfer.hpp"

#include <windows.h>

#include <string>

namespace interproc::detail {

// The argument that follows child_flag on a new child's command line: '@' and the name of
// a bootstrap section no one can guess.
std::string new_boot_argument();

// Gives the suspended `child` its own copies of the token's handles, rewrites the token to
// name them, and leaves it in the bootstrap section `boot_argument` names, for
// received_token() in the child.
void hand_over(HANDLE child, const std::string& boot_argument, ChildToken token);

}  // namespace interproc::detail
