// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// The common base of the objects processes wait on (an implementation detail).
#include <interproc/export.hpp>
#include <interproc/name_lifetime.hpp>

namespace interproc::detail {

struct WaitState;
struct WaitAccess;

// Owns a waiting object's state: its words in shared memory and whatever the OS pairs with
// them. Move-only; a moved-from object must not be used (checked with GSL Expects).
class INTERPROC_EXPORT WaitingObject {
 public:
  WaitingObject(WaitingObject&& other) noexcept;
  WaitingObject& operator=(WaitingObject&& other) noexcept;
  WaitingObject(const WaitingObject&) = delete;
  WaitingObject& operator=(const WaitingObject&) = delete;
  ~WaitingObject();

 protected:
  explicit WaitingObject(WaitState* state) noexcept : state_(state) {}

 private:
  friend struct WaitAccess;
  WaitState* state_;  // owned; null once moved from
};

}  // namespace interproc::detail
