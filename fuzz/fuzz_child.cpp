// SPDX-License-Identifier: MIT
// Fuzzes the child side of a spawn-style start: child_main on a token whose body is the
// input (the harness appends the checksum, so inputs reach the checks past the parser),
// naming real descriptors of every wrong kind and size: interproc segments of two sizes, a
// mutex, an event, a queue's ring and its lock, a regular file, a pipe and /dev/null. A token must be accepted only if
// every object it names really is what it claims (the entry then sees consistent objects), and otherwise be refused
// with exit_bad_child_argument, whatever it names. Anything else (a crash, a sanitizer report, another exit code) is a
// finding.
#include "common/transfer.hpp"
#include "common/mutex_backend.hpp"
#include "common/segment_backend.hpp"
#include "common/waiting.hpp"

#include <interproc/interproc.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>

namespace {

constexpr int first_target = 10;  // the token may name descriptors 10..18
constexpr int target_count = 9;
constexpr int pristine = 900;  // untouched copies, put back before every input

// Touches every object the entry received, as an entry would.
INTERPROC_CHILD_ENTRY(fuzz_entry) {
  for (std::size_t i = 0; i < ctx.object_count(); ++i) {
    try {
      for (std::byte& b : ctx.segment(i).bytes()) b = std::byte{1};
    } catch (const std::system_error&) {
    }
    try {
      ctx.mutex(i).lock();
      ctx.mutex(i).unlock();
    } catch (const std::system_error&) {
    }
    try {
      ctx.event(i).set();
      ctx.event(i).clear();
    } catch (const std::system_error&) {
    }
    try {
      auto& q = ctx.queue<std::uint64_t>(i);
      if (q.try_push(7)) q.try_pop();
    } catch (const std::system_error&) {
    }
    try {
      auto& q = ctx.queue<std::string>(i);
      if (q.try_push("seven")) q.try_pop();
    } catch (const std::system_error&) {
    }
    try {
      auto& q = ctx.joinable_queue<long>(i);
      if (q.try_push(7) && q.try_pop()) q.task_done();
    } catch (const std::system_error&) {
    }
  }
  return 0;
}

void keep(int fd, int slot) {
  if (fd < 0 || ::dup2(fd, pristine + slot) < 0) std::abort();
  ::close(fd);
}

int make_pristine_descriptors() {
  static interproc::SharedSegment small = interproc::SharedSegment::create(64);
  static interproc::SharedSegment large = interproc::SharedSegment::create(4096);
  static interproc::InterprocessMutex mutex = interproc::InterprocessMutex::create();
  using interproc::detail::SegmentAccess;
  keep(::dup(static_cast<int>(SegmentAccess::handle(small))), 0);
  keep(::dup(static_cast<int>(SegmentAccess::handle(large))), 1);
  keep(::dup(static_cast<int>(interproc::detail::MutexAccess::handles(mutex).front())), 2);
  char path[] = "/tmp/interproc-fuzz-XXXXXX";
  const int file = ::mkstemp(path);
  if (file < 0 || ::ftruncate(file, 1 << 16) != 0) std::abort();
  ::unlink(path);
  keep(file, 3);
  int pipe_ends[2];
  if (::pipe(pipe_ends) != 0) std::abort();
  keep(pipe_ends[0], 4);
  ::close(pipe_ends[1]);
  keep(::open("/dev/null", O_RDWR), 5);
  static interproc::InterprocessEvent event = interproc::InterprocessEvent::create();
  static auto queue = interproc::SharedQueue<std::uint64_t>::create(8);
  using interproc::detail::SharedDataAccess;
  using interproc::detail::WaitAccess;
  keep(::dup(static_cast<int>(WaitAccess::handles(event).front())), 6);
  keep(::dup(static_cast<int>(WaitAccess::handles(SharedDataAccess::core(queue)).front())), 7);
  keep(::dup(static_cast<int>(
           interproc::detail::MutexAccess::handles(SharedDataAccess::lock(SharedDataAccess::core(queue))).front())),
       8);
  return 0;
}

bool names_only_targets(const std::string& text) {
  try {
    interproc::detail::ChildToken token = interproc::detail::decode_token(text);
    for (const std::uint64_t* handle : interproc::detail::handle_fields(token)) {
      if (*handle < first_target || *handle >= first_target + target_count) return false;
    }
    return true;
  } catch (const std::system_error&) {
    return true;  // rejected by the parser: harmless to run
  }
}


}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const int ready = make_pristine_descriptors();
  (void)ready;
  const std::string token = interproc::detail::sealed(std::string_view(reinterpret_cast<const char*>(data), size));
  // Descriptors outside 10..15 belong to the fuzzer itself: a rejection may close them.
  if (token.find('\0') != std::string::npos || !names_only_targets(token)) return 0;
  for (int slot = 0; slot < target_count; ++slot) ::dup2(pristine + slot, first_target + slot);
  std::string self = "fuzz_child";
  std::string flag = std::string(interproc::detail::child_flag) + token;
  char* argv[] = {self.data(), flag.data(), nullptr};
  const int code = *interproc::child_main(2, argv);
  if (code != 0 && code != interproc::exit_bad_child_argument) std::abort();
  return 0;
}
