// SPDX-License-Identifier: MIT
// interproc::wait's sleep on POSIX: poll(2) on every descriptor that says "ready": a
// connection's socket, a child's pidfd (Linux 5.3, pidfd_open(2): readable once the child
// ends) or a fork-server child's link socket (the server writes the exit code there). A
// queue (a futex word) or a child without a descriptor (macOS, BSD, Linux before 5.3) has
// none: then poll waits at most one slice.

#include "common/connection_backend.hpp"
#include "common/fail.hpp"
#include "common/process_backend.hpp"
#include "common/wait_many.hpp"

#include <cerrno>
#include <climits>
#include <poll.h>
#include <unistd.h>
#if defined(__linux__) && !defined(INTERPROC_NO_PIDFD)
#include <sys/syscall.h>
#endif

namespace interproc::detail {
namespace {

// A descriptor readable once the child ends, or an invalid one.
ScopedHandle child_exit_descriptor(const ChildProcess& process) {
#if defined(__linux__) && !defined(INTERPROC_NO_PIDFD) && defined(SYS_pidfd_open)
  // ENOSYS (before 5.3) or a sandbox refusing it: the child is looked at in slices.
  return ScopedHandle(static_cast<native_handle>(::syscall(SYS_pidfd_open, static_cast<pid_t>(process.pid), 0)));
#else
  (void)process;
  return ScopedHandle();
#endif
}

int poll_timeout(std::optional<Clock::time_point> deadline, std::optional<std::chrono::milliseconds> slice) {
  long long wait = -1;
  if (deadline) wait = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
  if (slice && (wait < 0 || wait > slice->count())) wait = slice->count();
  return wait < 0 ? -1 : static_cast<int>(std::min<long long>(wait, INT_MAX));
}

}  // namespace

void sleep_on_any(const std::vector<Waitable>& objects, std::optional<Clock::time_point> deadline,
                  std::chrono::milliseconds slice) {
  std::vector<pollfd> entries;
  std::vector<ScopedHandle> opened;  // pidfds, closed on return
  bool sliced = false;
  for (const Waitable& w : objects) {
    if (Connection* c = w.connection()) {
      entries.push_back({static_cast<int>(ConnectionAccess::state(*c)->channel.get()), POLLIN, 0});
    } else if (Child* child = w.child()) {
      const ChildProcess& process = ChildAccess::process(*child);
      if (process.link.valid()) {
        entries.push_back({static_cast<int>(process.link.get()), POLLIN, 0});
        continue;
      }
      ScopedHandle exit = child_exit_descriptor(process);
      if (!exit.valid()) {
        sliced = true;
        continue;
      }
      entries.push_back({static_cast<int>(exit.get()), POLLIN, 0});
      opened.push_back(std::move(exit));
    } else {
      sliced = true;  // a queue
    }
  }
  const int timeout = poll_timeout(deadline, sliced ? std::optional(slice) : std::nullopt);
  if (::poll(entries.data(), static_cast<nfds_t>(entries.size()), timeout) < 0 && errno != EINTR)
    fail_errno(errno, "poll(interproc::wait)");
}

}  // namespace interproc::detail
