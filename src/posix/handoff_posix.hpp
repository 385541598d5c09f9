// SPDX-License-Identifier: MIT
#pragma once
// How a spawned POSIX child receives its shared objects: as descriptors at fixed numbers,
// set up by posix_spawn's file actions, with the token naming those numbers.

#include "common/native_handle.hpp"
#include "common/transfer.hpp"

#include <cstdint>
#include <spawn.h>
#include <utility>
#include <vector>

namespace interproc::detail {

// The child's descriptors: the standard streams (this process's, or those SpawnOptions
// chose), then the passed objects at 3, 4, ... in
// token order, then the die_with_parent watch descriptor if there is one, and nothing else
// of the parent's, not even descriptors opened without FD_CLOEXEC. The parent's copies are close-on-exec and numbered
// above every target, so no dup2 overwrites a copy still needed.
class InheritPlan {
 public:
  static constexpr int first_object = 3;

  // Rewrites the token's handle fields to the child's numbers; `watch` (-1: none) follows them.
  explicit InheritPlan(ChildToken& token, int watch = -1);

  // The child's number for `watch`, -1 if there is none.
  int watch_target() const noexcept { return watch_target_; }

  // Adds the plan to a posix_spawn call's file actions and attributes; `streams` are the
  // descriptors that become the child's 0, 1 and 2 (-1: this process's own), each >= 3.
  void add_to(posix_spawn_file_actions_t& actions, posix_spawnattr_t& attributes, const int (&streams)[3]) const;

 private:
  void place(int fd, int end, std::uint64_t* field);

  std::vector<std::pair<ScopedHandle, int>> pairs_;  // the parent's copy, the child's number
  int watch_target_ = -1;
};

}  // namespace interproc::detail
