// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// How every named kind's open_or_create() meets a race with another process (an
/// implementation detail; see SharedSegment::open_or_create).
#include <interproc/error.hpp>

#include <chrono>
#include <system_error>
#include <thread>

namespace interproc::detail {

/// How long open_or_create() waits for another creator to finish making the object
/// (errc::not_ready, or a named value's data not there yet beside its lock) before it
/// passes that error on: such a creator died while making it.
inline constexpr std::chrono::seconds open_or_create_patience{5};

/// create(), or open() when the name is taken; again when the object was removed between
/// the two, or while its creator is still making it. Exclusive creation makes it race-free:
/// of processes calling it at once, exactly one creates.
template <class Create, class Open>
auto open_or_create_named(Create create, Open open) -> decltype(create()) {
  const auto give_up = std::chrono::steady_clock::now() + open_or_create_patience;
  for (;;) {
    try {
      return create();
    } catch (const std::system_error& e) {
      if (e.code() != std::errc::file_exists) throw;
    }
    try {
      return open();
    } catch (const std::system_error& e) {
      const bool removed = e.code() == std::errc::no_such_file_or_directory;
      const bool unfinished = e.code() == make_error_code(errc::not_ready);
      if (!(removed || unfinished) || std::chrono::steady_clock::now() >= give_up) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

}  // namespace interproc::detail
