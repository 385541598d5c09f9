// SPDX-License-Identifier: MIT
#pragma once
// The per-OS pieces of the owner-word mutex (src/owner_word/owner_word_mutex.cpp), used where
// robust pthread mutexes do not exist (macOS, the BSDs; the portable build) and on Windows.
// The lock word holds the owner's identity: (process id << 32) | thread tag; 0 is free.

#include "common/native_handle.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace interproc::detail {

// This thread's owner identity; never 0. Windows: pid and thread id; POSIX: pid and a
// per-process thread counter.
std::uint64_t current_owner_id() noexcept;

// True only if the owner is certainly gone (its process, or on Windows its thread, ended).
bool owner_is_dead(std::uint64_t owner) noexcept;

// Sleeps until woken by wake_one(), the owner's death, or the timeout, whichever is first
// (POSIX: sleeps on `released` while it holds `seen`, through the wait seam
// common/wait_backend.hpp, in the kernel where the system has a wait, else one back-off step).
void wait_for_owner(native_handle wake, std::atomic<std::uint32_t>& released, std::uint32_t seen, std::uint64_t owner,
                    std::chrono::microseconds timeout) noexcept;

// The longest single sleep of a waiter, between two looks at the owner's liveness.
std::chrono::microseconds max_wait_slice() noexcept;

// Windows: an auto-reset event, named after the mutex `*name` when given (created exclusively,
// owner-only); POSIX: none.
ScopedHandle create_wake_handle(const std::string* name);
// The wake handle of the existing named mutex `name` (Windows: its event, opened by name).
ScopedHandle open_wake_handle(const std::string& name);
// Wakes one waiter after an unlock that changed `released`; `registered`: the waiters count.
// Windows: SetEvent; POSIX: a wake of `released` through the wait seam.
void wake_one(native_handle wake, std::atomic<std::uint32_t>& released, std::uint32_t registered) noexcept;

// The wake handle among a mutex's companions received from a parent, taken over once it is
// shown to be what create_wake_handle() makes (Windows: exactly one event; POSIX: none).
// Throws errc::bad_handle_argument otherwise, leaving any handle it did not take open.
ScopedHandle adopt_wake_handle(const std::vector<native_handle>& companions);

}  // namespace interproc::detail
