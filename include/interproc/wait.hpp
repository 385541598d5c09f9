// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// interproc::wait: waits on several connections, children and queues at once, like Python's
/// multiprocessing.connection.wait.
#include <interproc/connection.hpp>
#include <interproc/export.hpp>
#include <interproc/joinable_queue.hpp>
#include <interproc/shared_queue.hpp>
#include <interproc/spawn.hpp>
#include <interproc/timeouts.hpp>

#include <chrono>
#include <cstddef>
#include <type_traits>
#include <vector>

namespace interproc {

namespace detail {
struct WaitableAccess;
}

/// One object interproc::wait watches: a Connection (ready: a message or part of one has
/// arrived, or its peer is gone), a Child (ready: it has ended; wait() then returns its code
/// at once) or a SharedQueue (ready: pop() would not wait: an item is there, or it is closed).
/// It refers to the original object, which must outlive it; tell which one it is with ==
/// (`ready[0] == left`), index() (its place in the list given to wait) or the accessors.
class INTERPROC_EXPORT Waitable {
 public:
  /// What a Waitable watches.
  enum class Kind { connection, child, queue };

  /// Watches `c` (implicitly: `wait({left, right}, ...)`).
  Waitable(Connection& c) noexcept : kind_(Kind::connection), object_(&c) {}
  /// Watches `c`.
  Waitable(Child& c) noexcept : kind_(Kind::child), object_(&c) {}
  /// Watches `q` through its core: a fixed-slot queue or one of encoded items.
  template <class T>
  Waitable(SharedQueue<T>& q) noexcept : kind_(Kind::queue), object_(&q) {
    set_core(detail::SharedDataAccess::core(q));
  }
  /// Watches `q` (ready: an item is there, or it is closed).
  template <class T>
  Waitable(JoinableQueue<T>& q) noexcept : kind_(Kind::queue), object_(&q) {
    set_core(detail::SharedDataAccess::core(q));
  }
  /// A queue `original` whose core is `core` (for other queue types built on QueueCore).
  Waitable(const detail::QueueCore& core, const void* original) noexcept
      : kind_(Kind::queue), object_(const_cast<void*>(original)), core_(&core) {}

  /// Which kind of object it is.
  Kind kind() const noexcept { return kind_; }
  /// Its place in the list given to wait() (0 before it went through wait()).
  std::size_t index() const noexcept { return index_; }
  /// The Connection, or nullptr if it is another kind.
  Connection* connection() const noexcept {
    return kind_ == Kind::connection ? static_cast<Connection*>(object_) : nullptr;
  }
  /// The Child, or nullptr if it is another kind.
  Child* child() const noexcept { return kind_ == Kind::child ? static_cast<Child*>(object_) : nullptr; }
  /// The address of the original object.
  const void* object() const noexcept { return object_; }
  /// The fixed-slot queue's core, or nullptr.
  const detail::QueueCore* queue_core() const noexcept { return core_; }
  /// The core of a queue of encoded items (or a JoinableQueue), or nullptr.
  const detail::RecordQueueCore* record_queue_core() const noexcept { return record_core_; }

  /// Whether `w` watches exactly `original`.
  template <class Object>
  friend bool operator==(const Waitable& w, const Object& original) noexcept {
    return w.object_ == static_cast<const void*>(&original);
  }
  /// Whether both watch the same object.
  friend bool operator==(const Waitable& a, const Waitable& b) noexcept { return a.object_ == b.object_; }
  /// Whether `w` watches another object than `original`.
  template <class Object>
  friend bool operator!=(const Waitable& w, const Object& original) noexcept {
    return !(w == original);
  }

 private:
  friend struct detail::WaitableAccess;
  void set_core(const detail::QueueCore& core) noexcept { core_ = &core; }
  void set_core(const detail::RecordQueueCore& core) noexcept { record_core_ = &core; }

  Kind kind_;
  void* object_;
  const detail::QueueCore* core_ = nullptr;
  const detail::RecordQueueCore* record_core_ = nullptr;
  std::size_t index_ = 0;
};

/// The objects of `objects` that are ready (see Waitable), in their order, as soon as one
/// is, or an empty vector once `timeout` passed with none ready (milliseconds::max(): no
/// limit). What wakes it at once: POSIX poll(2) on the connections' sockets and on the
/// children's pidfds (Linux; a fork-server child: its link socket); a single SharedQueue
/// alone sleeps on its own wait word. Every other mix (a queue beside anything else, a
/// child on macOS / BSD, anything on Windows but children, which WaitForMultipleObjects
/// watches) is looked at again in slices of at most 10 ms. Throws errc::closed for a
/// Connection closed by this process, std::system_error when the OS fails the wait.
INTERPROC_EXPORT std::vector<Waitable> wait(const std::vector<Waitable>& objects,
                                            std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

/// wait() with any duration.
template <class Rep, class Period>
std::vector<Waitable> wait(const std::vector<Waitable>& objects, std::chrono::duration<Rep, Period> timeout) {
  return wait(objects, detail::saturated_milliseconds(timeout));
}

}  // namespace interproc
