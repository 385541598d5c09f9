// SPDX-License-Identifier: MIT
// current_owner_id() on POSIX: (pid << 32) | a per-process thread number, cached per thread
// because getpid(2) is a system call. fork(2) gives the child a new pid but a copy of the
// forking thread's cache, so a pthread_atfork(3) child handler clears it.

#include "common/owner_word.hpp"

#include <atomic>
#include <mutex>
#include <pthread.h>
#include <unistd.h>

namespace interproc::detail {
namespace {

thread_local std::uint64_t cached_owner_id = 0;
std::atomic<std::uint32_t> next_thread_number{1};

void forget_identity_in_child() noexcept { cached_owner_id = 0; }

std::uint64_t new_owner_id() noexcept {
  static std::once_flag registered;
  std::call_once(registered, [] { ::pthread_atfork(nullptr, nullptr, &forget_identity_in_child); });
  const auto pid = static_cast<std::uint64_t>(::getpid());
  return (pid << 32) | next_thread_number.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

std::uint64_t current_owner_id() noexcept {
  if (cached_owner_id == 0) cached_owner_id = new_owner_id();
  return cached_owner_id;
}

}  // namespace interproc::detail
