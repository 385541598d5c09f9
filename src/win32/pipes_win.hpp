// SPDX-License-Identifier: MIT
#pragma once
// A Windows child's pipes (pipes_win.cpp), for process_win.cpp.

#include "common/native_handle.hpp"

namespace interproc::detail {

struct ChildPipeEnds {
  ScopedHandle mine;    // overlapped, not inheritable: the Child's end
  ScopedHandle theirs;  // plain, not inheritable until the start duplicates it for the child
};

// A pipe for the child's standard stream `stream` (0 stdin: the child reads; 1, 2: it writes).
ChildPipeEnds make_child_pipe(int stream);

}  // namespace interproc::detail
