// SPDX-License-Identifier: MIT
#include "posix/handoff_posix.hpp"

#include "common/fail.hpp"
#include "common/process_backend.hpp"

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace interproc::detail {
namespace {

void check(int result, const char* call) {
  if (result != 0) fail_errno(result, call);
}

// A standard stream the parent has closed is /dev/null in the child, so that nothing the
// child opens later (or its own output) lands on those numbers.
void add_standard_stream(posix_spawn_file_actions_t& actions, int stream) {
  if (::fcntl(stream, F_GETFD) != -1) {
#ifdef __APPLE__
    check(::posix_spawn_file_actions_addinherit_np(&actions, stream), "posix_spawn_file_actions_addinherit_np");
#endif
    return;
  }
  check(::posix_spawn_file_actions_addopen(&actions, stream, "/dev/null", stream == 0 ? O_RDONLY : O_WRONLY, 0),
        "posix_spawn_file_actions_addopen(\"/dev/null\")");
}

void close_the_rest(posix_spawn_file_actions_t& actions, posix_spawnattr_t& attributes, int from) {
#if defined(__APPLE__)
  // posix_spawnattr_setflags(3) on macOS: POSIX_SPAWN_CLOEXEC_DEFAULT closes every
  // descriptor that no file action names (addinherit_np keeps the standard streams).
  (void)actions;
  (void)from;
  short flags = 0;
  check(::posix_spawnattr_getflags(&attributes, &flags), "posix_spawnattr_getflags");
  check(::posix_spawnattr_setflags(&attributes, static_cast<short>(flags | POSIX_SPAWN_CLOEXEC_DEFAULT)),
        "posix_spawnattr_setflags(POSIX_SPAWN_CLOEXEC_DEFAULT)");
#elif (defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)) || defined(__FreeBSD__)
  // glibc 2.34 and FreeBSD 13.1: close every descriptor from `from` up in the child.
  (void)attributes;
  check(::posix_spawn_file_actions_addclosefrom_np(&actions, from), "posix_spawn_file_actions_addclosefrom_np");
#else
  (void)actions;
  (void)attributes;
  (void)from;  // other C libraries: descriptors without FD_CLOEXEC are inherited (README)
#endif
}

}  // namespace

InheritPlan::InheritPlan(ChildToken& token, int watch) {
  const std::vector<std::uint64_t*> fields = handle_fields(token);
  const int end = first_object + static_cast<int>(fields.size()) + (watch >= 0 ? 1 : 0);
  for (std::uint64_t* field : fields) place(static_cast<int>(*field), end, field);
  if (watch >= 0) {
    watch_target_ = first_object + static_cast<int>(pairs_.size());
    place(watch, end, nullptr);
  }
}

// Copies `fd` above every target and gives it the next child number, which `field` (if
// any) then names.
void InheritPlan::place(int fd, int end, std::uint64_t* field) {
  ScopedHandle copy(::fcntl(fd, F_DUPFD_CLOEXEC, end));
  if (!copy.valid()) fail_errno(errno, "fcntl(" + std::to_string(fd) + ", F_DUPFD_CLOEXEC)");
  const int target = first_object + static_cast<int>(pairs_.size());
  if (field != nullptr) *field = static_cast<std::uint64_t>(target);
  pairs_.emplace_back(std::move(copy), target);
}

void InheritPlan::add_to(posix_spawn_file_actions_t& actions, posix_spawnattr_t& attributes,
                         const int (&streams)[3]) const {
  // The chosen streams are dup2'd first, before any object takes their numbers.
  for (int stream = 0; stream < first_object; ++stream) {
    if (streams[stream] < 0) {
      add_standard_stream(actions, stream);
    } else {
      check(::posix_spawn_file_actions_adddup2(&actions, streams[stream], stream), "posix_spawn_file_actions_adddup2");
    }
  }
  // dup2 onto a different number clears FD_CLOEXEC on the target: exactly these survive exec.
  for (const auto& [copy, target] : pairs_) {
    check(::posix_spawn_file_actions_adddup2(&actions, static_cast<int>(copy.get()), target),
          "posix_spawn_file_actions_adddup2");
  }
  close_the_rest(actions, attributes, first_object + static_cast<int>(pairs_.size()));
}

// The token arrives whole on the command line; the descriptors it names were set up by
// InheritPlan before exec.
std::string received_token(std::string_view argument) { return std::string(argument); }

}  // namespace interproc::detail
