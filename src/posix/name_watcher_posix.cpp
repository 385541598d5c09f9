// SPDX-License-Identifier: MIT
// NameLifetime::creator on POSIX, after Python's multiprocessing.resource_tracker: the first
// such name starts a watcher, this program re-executed and stopped in child_main, whose
// descriptor 3 is one end of a Unix socket pair; this process keeps the other end. Each
// message is one frame (descriptor_passing_posix.hpp): "@<pid>" first (the creator), then
// "+<name>" when a name is made and "-<name>" when remove_named removes it. When the
// socket reads end-of-file the creator has ended, however it ended (the kernel closes a
// killed process's descriptors, close(2)), and the watcher removes every name it still
// holds whose segment still records that creator, then exits.
//
// A fork child gets a copy of the socket; every fork child closes it at once (a
// pthread_atfork(3) child handler), so that only the creator's end keeps the watcher
// waiting, and starts a watcher of its own for the names it makes.
// Should the watcher itself die, the next name starts another one and tells it every name
// this process still holds.

#include "common/fail.hpp"
#include "common/name_tracker.hpp"
#include "common/segment_backend.hpp"
#include "posix/descriptor_passing_posix.hpp"
#include "posix/forkserver_posix.hpp"
#include "posix/process_posix.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <pthread.h>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

namespace interproc::detail {
namespace {

struct Watcher {
  std::mutex lock;
  pid_t owner = 0;  // the process the state below belongs to (a fork child's copy is stale)
  ScopedHandle socket;
  pid_t pid = -1;
  std::set<std::string> names;
};

// Never destroyed: a name may be made or removed while static objects are torn down.
Watcher& watcher() {
  static Watcher* const instance = new Watcher;
  return *instance;
}

// The socket's number for drop_inherited_name_watcher, which runs in a fork child and so
// must not take a lock another thread of the parent may have held at the fork.
std::atomic<int> socket_number{-1};

bool tell(const Watcher& w, const std::string& message) noexcept {
  try {
    send_frame(static_cast<int>(w.socket.get()), message, {});
    return true;
  } catch (...) {  // EPIPE: the watcher is gone
    return false;
  }
}

// A new watcher, told this process's pid and every name it holds.
void start(Watcher& w) {
  if (w.pid > 0) ::waitpid(w.pid, nullptr, WNOHANG);  // the one that died, if it has
  static const int registered = ::pthread_atfork(nullptr, nullptr, &drop_inherited_name_watcher);
  if (registered != 0) fail_errno(registered, "pthread_atfork");
  auto ends = socket_pair();
  w.pid = launch_name_watcher(static_cast<int>(ends.second.get()));
  w.socket = std::move(ends.first);
  socket_number.store(static_cast<int>(w.socket.get()));
  bool told = tell(w, "@" + std::to_string(::getpid()));
  for (const std::string& name : w.names) told = told && tell(w, "+" + name);
  if (!told) fail(errc::not_supported, "the name watcher ended as soon as it started");
}

}  // namespace

void track_segment_name(const std::string& name) {
  Watcher& w = watcher();
  std::lock_guard<std::mutex> hold(w.lock);
  if (w.owner != ::getpid()) {
    const int inherited = static_cast<int>(w.socket.release());
    if (inherited >= 0 && socket_number.exchange(-1) == inherited) ::close(inherited);
    w.names.clear();
    w.pid = -1;  // a parent's watcher is not this process's child
    w.owner = ::getpid();
  }
  w.names.insert(name);
  if (w.socket.valid() && tell(w, "+" + name)) return;
  try {
    start(w);
  } catch (...) {
    w.names.erase(name);
    throw;
  }
}

void forget_segment_name(const std::string& name) noexcept {
  Watcher& w = watcher();
  std::lock_guard<std::mutex> hold(w.lock);
  if (w.owner != ::getpid() || w.names.erase(name) == 0) return;
  if (w.socket.valid()) (void)tell(w, "-" + name);  // a dead watcher's successor is never told it
}

void drop_inherited_name_watcher() noexcept {
  const int inherited = socket_number.exchange(-1);
  if (inherited >= 0) ::close(inherited);
}

int watch_names() {
  // Its own process group already keeps a terminal's signals away; a hang-up or a stray
  // SIGTERM must not end it before its creator's names are removed either.
  for (int signal : {SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGPIPE}) std::signal(signal, SIG_IGN);
  long creator = -1;
  std::set<std::string> names;
  try {
    while (auto frame = receive_frame(server_descriptor, 2 + max_name_length)) {
      const std::string& text = frame->bytes;
      if (text.size() < 2) continue;
      if (text[0] == '@') creator = std::stol(text.substr(1));
      if (text[0] == '+') names.insert(text.substr(1));
      if (text[0] == '-') names.erase(text.substr(1));
    }
  } catch (const std::exception& e) {  // a message cut short: the creator is gone all the same
    std::fprintf(stderr, "interproc: name watcher: %s\n", e.what());
  }
  for (const std::string& name : names) {
    const std::optional<NamedSegmentInfo> info = inspect_named_segment(name);
    if (!info || info->creator != creator) continue;  // removed, or made anew by another process
    try {
      remove_named_segment(name);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "interproc: name watcher: %s\n", e.what());
    }
  }
  return 0;
}

}  // namespace interproc::detail
