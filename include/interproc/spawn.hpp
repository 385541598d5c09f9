// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// Child processes: spawn_child, the child_main guard, child entries and Child.
#include <interproc/barrier.hpp>
#include <interproc/condition.hpp>
#include <interproc/connection.hpp>
#include <interproc/event.hpp>
#include <interproc/export.hpp>
#include <interproc/interprocess_mutex.hpp>
#include <interproc/joinable_queue.hpp>
#include <interproc/recursive_mutex.hpp>
#include <interproc/semaphore.hpp>
#include <interproc/shared_queue.hpp>
#include <interproc/shared_segment.hpp>
#include <interproc/shared_value.hpp>
#include <interproc/type_fingerprint.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace interproc {

/// How spawn_child starts a child. Like Python's multiprocessing start methods of the same
/// names:
/// - fork: POSIX only; the child is a copy of the parent and runs the entry directly.
/// - spawn: every OS; the child re-executes this program, whose main() must start with
///   child_main().
/// - forkserver: POSIX only; the first such spawn_child starts a server, a spawn-style
///   re-execution of this program that stops in child_main(), and every child is forked
///   from it. A child gets spawn's fresh program state at fork's cost; its objects reach
///   the server over a Unix socket. The server ends when this process ends. A server that
///   does not answer a request within 5 s (stopped, wedged) is killed and the request goes
///   to a new one; when that one does not answer either, spawn_child throws
///   std::system_error with std::errc::timed_out.
enum class StartMethod { fork, spawn, forkserver };

/// Where a child's standard stream comes from (stdin) or goes to (stdout, stderr): see
/// SpawnOptions::std_in, std_out and std_err. Like Python's subprocess: None (inherit),
/// DEVNULL, an open file, PIPE.
struct Redirect {
  /// What the stream is tied to.
  enum class Kind : std::uint8_t {
    inherit,      ///< this process's own stream (the default)
    null_device,  ///< /dev/null, NUL on Windows: reads end at once, writes vanish
    file,         ///< the file at `path`: read from (stdin) or created and written (stdout, stderr)
    pipe          ///< a pipe whose other end this process's Child holds (write_stdin, read_output, ...)
  };
  /// What the stream is tied to.
  Kind kind = Kind::inherit;
  /// Kind::file: a UTF-8 path, relative to this process's working directory (not the child's).
  std::string path{};
  /// Kind::file for stdout / stderr: append to the file instead of truncating it.
  bool append = false;

  /// This process's own stream (Python's None).
  static Redirect inherit() { return {}; }
  /// The null device (Python's DEVNULL).
  static Redirect null_device() { return {Kind::null_device, {}, false}; }
  /// A pipe whose other end the Child holds (Python's PIPE).
  static Redirect pipe() { return {Kind::pipe, {}, false}; }
  /// The file at `path`, appended to when `append` (else truncated) for an output.
  static Redirect file(std::string path, bool append = false) { return {Kind::file, std::move(path), append}; }
};

/// How spawn_child starts a child and ties its lifetime to this process. Every field has a
/// default, so `SpawnOptions{}` is spawn_child's plain behaviour.
struct SpawnOptions {
  /// The start method (fork and forkserver are POSIX only).
  StartMethod method = StartMethod::spawn;
  /// The child is killed when this process dies, however it dies (SIGKILL included).
  /// Linux: prctl(PR_SET_PDEATHSIG, SIGKILL), which fires when the *thread* that started the
  /// child ends (prctl(2)), so spawn_child starts such children (spawn and fork) on one
  /// thread of the library's that lives as long as the process: any thread may call it and
  /// then end. macOS / BSD: a thread in the child waits for the end of a pipe only this
  /// process can write. Windows: a job object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE whose
  /// only handle this process holds; the child's own descendants are in that job too.
  bool die_with_parent = false;
  /// The child leads a group of its own so that Child::kill_tree() reaches its descendants:
  /// POSIX: a new process group (setpgid(2)); Windows: a job object of its own.
  bool own_process_group = false;
  /// Python's Process(daemon=True): destroying the Child kills the child (SIGKILL /
  /// TerminateProcess) and reaps it instead of waiting for it, so that a child that never
  /// ends (`while True: q.get()`) does not keep this program from ending. Combine it with
  /// die_with_parent for a child that must also end when this process is killed.
  bool daemon = false;

  /// What the child starts with. The environment: this process's (as it is now; with
  /// forkserver too), without the names in `unset_env`, or none of it with `clear_env`,
  /// then every `env` entry set, replacing one of the same name (Windows: names compare
  /// without case, as the OS does). A name is not empty and holds no '=' or NUL, a value no
  /// NUL, else spawn_child throws errc::invalid_argument. The library's own markers
  /// (INTERPROC_*) are kept out of the caller's hands: such a name is refused too.
  std::map<std::string, std::string> env{};
  /// Start the child's environment empty instead of from this process's.
  bool clear_env = false;
  /// Names removed from the environment the child starts from.
  std::vector<std::string> unset_env{};
  /// The directory the child starts in (UTF-8; relative to this process's); empty: this
  /// process's. One that does not exist, or is no directory, makes spawn_child throw
  /// std::system_error with the OS code (ENOENT / ENOTDIR, ERROR_DIRECTORY ...) before any
  /// child starts.
  std::string cwd{};
  /// The child's stdin, stdout and stderr (see Redirect). A file that cannot be opened makes
  /// spawn_child throw std::system_error with the OS code before any child starts. With a
  /// pipe, read the child's output through its Child (read_output, communicate, ...), which
  /// drains every output pipe of the child whenever it waits, so a child that fills one pipe
  /// while this process waits on another cannot stall.
  Redirect std_in{};
  Redirect std_out{};  ///< see std_in
  Redirect std_err{};  ///< see std_in
};

/// What Child::read_output() and Child::communicate() return: bytes the child wrote to its
/// stdout and stderr pipes (empty for a stream that is not piped).
struct ChildOutput {
  std::string out;     ///< from the stdout pipe
  std::string err;     ///< from the stderr pipe
  bool ended = false;  ///< both pipes are at their end: the child closed them, nothing more comes
};

/// @var exit_entry_threw
/// Exit code of a child whose entry threw (the exception's message is on its stderr).

/// Exit code of a child that never reached its entry: its child token was malformed or forged.
inline constexpr int exit_bad_child_argument = 64;  // EX_USAGE
inline constexpr int exit_entry_threw = 70;         // EX_SOFTWARE: the entry threw

class SharedObject;
namespace detail {
struct ChildContextAccess;
struct ChildAccess;
class ChildObjects;
struct ChildProcess;

// The kinds of shared object a child can receive (numbered in the child token).
enum class ObjectKind : std::uint8_t {
  segment = 1,
  mutex = 2,
  value = 3,
  array = 4,
  event = 5,
  semaphore = 6,
  condition = 7,
  queue = 8,
  connection = 9,
  joinable_queue = 13,
  codec_queue = 14,  // a SharedQueue<T> of a T that is not trivially copyable
  barrier = 10,
  recursive_mutex = 11
};

// The parts a child received for one object, from which ChildContext makes the typed one.
struct ChildParts {
  SharedSegment* segment;
  InterprocessMutex* mutex;
  QueueCore* queue;
  RecordQueueCore* record_queue;  // codec_queue, joinable_queue
};

// The bytes a child keeps for each typed object, which it makes in place: a fork child
// then allocates nothing for it.
inline constexpr std::size_t typed_object_capacity = 64;

// What a child needs to rebuild a SharedValue<T> / SharedArray<T> / SharedQueue<T>: T's
// size (0 for an encoded T, whose queue's slot size the parent gave), a fingerprint of T
// itself (so that float is not taken for int), and how to make the object in
// `typed_object_capacity` bytes of storage and destroy it there.
struct ElementType {
  std::size_t size = 0;
  std::uint64_t fingerprint = 0;
  void* (*make)(ChildParts&, void* storage) = nullptr;
  void (*destroy)(void*) = nullptr;
};
}  // namespace detail

/// What a child entry receives: its string arguments and the shared objects its parent
/// passed, in the order they were passed. Asking for an object as another kind, or for an
/// index past the end, throws errc::wrong_object_kind.
class INTERPROC_EXPORT ChildContext {
 public:
  /// Releases the child's objects.
  ~ChildContext();
  ChildContext(const ChildContext&) = delete;
  ChildContext& operator=(const ChildContext&) = delete;

  /// The string arguments the parent passed to spawn_child.
  const std::vector<std::string>& args() const noexcept;
  /// How many shared objects the parent passed.
  std::size_t object_count() const noexcept;

  /// Object `index`, which the parent passed as a SharedSegment.
  SharedSegment& segment(std::size_t index);
  /// Object `index`, which the parent passed as an InterprocessMutex.
  InterprocessMutex& mutex(std::size_t index);
  /// Object `index`, which the parent passed as an InterprocessEvent.
  InterprocessEvent& event(std::size_t index);
  /// Object `index`, which the parent passed as an InterprocessSemaphore.
  InterprocessSemaphore& semaphore(std::size_t index);
  /// Object `index`, which the parent passed as an InterprocessCondition.
  InterprocessCondition& condition(std::size_t index);
  /// Object `index`, which the parent passed as an InterprocessBarrier. The barrier counts
  /// this process as one of its holders from the start of the entry until it returns.
  InterprocessBarrier& barrier(std::size_t index);
  /// Object `index`, which the parent passed as an InterprocessRecursiveMutex.
  InterprocessRecursiveMutex& recursive_mutex(std::size_t index);
  /// Object `index`, which the parent passed as a SharedValue<T>.
  /// The element type must be the parent's T exactly, not only of the same size.
  template <class T>
  SharedValue<T>& value(std::size_t index);
  /// Object `index`, which the parent passed as a SharedArray<T> of exactly this T.
  template <class T>
  SharedArray<T>& array(std::size_t index);
  /// Object `index`, which the parent passed as a SharedQueue<T> of exactly this T.
  template <class T>
  SharedQueue<T>& queue(std::size_t index);
  /// Object `index`, which the parent passed as a Connection.
  Connection& connection(std::size_t index);
  /// Object `index`, which the parent passed as a JoinableQueue<T> of exactly this T.
  template <class T>
  JoinableQueue<T>& joinable_queue(std::size_t index);

 private:
  friend struct detail::ChildContextAccess;
  ChildContext();
  void* typed(std::size_t index, detail::ObjectKind kind, const detail::ElementType& type);

  detail::ChildObjects* objects_;  // owned; a plain pointer keeps the exported class free of std members
};

/// A child entry point: receives its context, returns the child's exit code.
using ChildEntry = int (*)(ChildContext&);

namespace detail {
// Used by INTERPROC_CHILD_ENTRY. A duplicate or invalid name is a caller bug (Expects).
INTERPROC_EXPORT bool register_entry(std::string_view name, ChildEntry entry);
}

/// Registers a child entry point under `name` (letters, digits and '_'):
///     INTERPROC_CHILD_ENTRY(add_size) { ... use ctx.args(), ctx.value<long>(0) ...; return 0; }
/// Entries are found by name because a re-executed child cannot receive a function pointer.
#define INTERPROC_CHILD_ENTRY(name)                                              \
  static int interproc_child_entry_##name(::interproc::ChildContext& ctx);       \
  [[maybe_unused]] static const bool interproc_child_registered_##name =         \
      ::interproc::detail::register_entry(#name, &interproc_child_entry_##name); \
  static int interproc_child_entry_##name([[maybe_unused]] ::interproc::ChildContext& ctx)

/// A shared object to pass to a child: a non-owning reference, valid during spawn_child.
class SharedObject {
 public:
  /// Passes a segment; the child gets it with ChildContext::segment().
  SharedObject(const SharedSegment& s) noexcept : kind_(detail::ObjectKind::segment), segment_(&s) {}
  /// Passes a segment read-only (SharedSegment::read_only); the child gets it with
  /// ChildContext::segment(), its is_read_only() true.
  SharedObject(ReadOnlyShare<SharedSegment> s) noexcept
      : kind_(detail::ObjectKind::segment), segment_(s.object), read_only_(true) {}
  /// Passes a mutex; the child gets it with ChildContext::mutex().
  SharedObject(const InterprocessMutex& m) noexcept : kind_(detail::ObjectKind::mutex), mutex_(&m) {}
  /// Passes an event; the child gets it with ChildContext::event().
  SharedObject(const InterprocessEvent& e) noexcept : kind_(detail::ObjectKind::event), waits_(&e) {}
  /// Passes a semaphore; the child gets it with ChildContext::semaphore().
  SharedObject(const InterprocessSemaphore& s) noexcept : kind_(detail::ObjectKind::semaphore), waits_(&s) {}
  /// Passes a condition; the child gets it with ChildContext::condition().
  SharedObject(const InterprocessCondition& c) noexcept : kind_(detail::ObjectKind::condition), waits_(&c) {}
  /// Passes a connection end; the child gets it with ChildContext::connection(). This
  /// process keeps its own copy: close it once the child has it, so that the peer end sees
  /// the child's end close when the child ends.
  SharedObject(const Connection& c) noexcept : kind_(detail::ObjectKind::connection), connection_(&c) {}
  /// Passes a barrier; the child gets it with ChildContext::barrier().
  SharedObject(const InterprocessBarrier& b) noexcept : kind_(detail::ObjectKind::barrier), waits_(&b) {}
  /// Passes a recursive mutex; the child gets it with ChildContext::recursive_mutex().
  SharedObject(const InterprocessRecursiveMutex& m) noexcept
      : kind_(detail::ObjectKind::recursive_mutex), mutex_(&m.mutex_) {}
  /// Passes a value and its lock; the child gets it with ChildContext::value<T>().
  template <class T>
  SharedObject(const SharedValue<T>& v) noexcept;
  /// Passes an array and its lock; the child gets it with ChildContext::array<T>().
  template <class T>
  SharedObject(const SharedArray<T>& a) noexcept;
  /// Passes a queue; the child gets it with ChildContext::queue<T>().
  template <class T>
  SharedObject(const SharedQueue<T>& q) noexcept;
  /// Passes a joinable queue; the child gets it with ChildContext::joinable_queue<T>().
  template <class T>
  SharedObject(const JoinableQueue<T>& q) noexcept;
  /// Passes a value read-only (its lock usable); the child gets it with ChildContext::value<T>().
  template <class T>
  SharedObject(ReadOnlyShare<SharedValue<T>> v) noexcept : SharedObject(*v.object) {
    read_only_ = true;
  }
  /// Passes an array read-only (its lock usable); the child gets it with ChildContext::array<T>().
  template <class T>
  SharedObject(ReadOnlyShare<SharedArray<T>> a) noexcept : SharedObject(*a.object) {
    read_only_ = true;
  }

 private:
  friend struct detail::ChildContextAccess;
  detail::ObjectKind kind_;
  const SharedSegment* segment_ = nullptr;
  const InterprocessMutex* mutex_ = nullptr;
  const detail::WaitingObject* waits_ = nullptr;
  const Connection* connection_ = nullptr;
  std::size_t element_size_ = 0;
  std::uint64_t type_fingerprint_ = 0;
  bool read_only_ = false;  // the data, if any, goes read-only
};

/// A started child process. wait() returns its exit code, or -N if signal N killed it
/// (POSIX; Python's Process.exitcode convention). On Windows a crashed child's code is the
/// NTSTATUS it ended with, as an int (negative for 0xC... codes): access violation
/// 0xC0000005, stack overflow 0xC00000FD, illegal instruction 0xC000001D, integer divide by
/// zero 0xC0000094, stack buffer overrun / fail-fast 0xC0000409, heap corruption 0xC0000374,
/// control-C exit 0xC000013A, DBG_TERMINATE_PROCESS 0x40010004 (terminated); ProcessPool's
/// messages name them so. Move-only. Destroying a Child that has
/// not been waited for waits for it, like std::jthread joins: no zombie is left and the
/// child is never killed silently; call kill() first to end it, or start it with
/// SpawnOptions::daemon, whose Child kills and then reaps it when destroyed. One Child object is not
/// synchronised: use it from one thread at a time. Its methods throw std::system_error only
/// when the OS fails the wait or the kill, leaving the Child as it was.
class INTERPROC_EXPORT Child {
 public:
  /// Takes over `other`'s process; `other` no longer refers to one.
  Child(Child&& other) noexcept;
  /// Waits for this Child's process if it was not waited for, then takes over `other`'s.
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  /// Waits for the process if it was not waited for (a daemon child: kills it first; see
  /// the class description).
  ~Child();

  /// The child's process id.
  long pid() const noexcept;
  /// Blocks until the child ends; returns the exit code (-N for signal N). Idempotent.
  int wait();
  /// The exit code if the child ended within `timeout`, else std::nullopt. A timeout too
  /// long for the OS to count (milliseconds::max(), years) waits as long as it takes.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  /// Ends the child now (SIGKILL / TerminateProcess); wait() then returns -9 on every OS.
  /// No effect once it has been waited for.
  void kill();
  /// Asks the child to end, waits up to `grace`, then kills it; returns its exit code as
  /// wait() does. POSIX: SIGTERM, then SIGKILL (-15 for a child that SIGTERM ended, -9 for
  /// one that ignored it). Windows has no request a process must honour (console control
  /// events reach only console processes of one group), so the child is ended at once with
  /// TerminateProcess and `grace` is unused (-9). Once waited for, returns the same code.
  int terminate(std::chrono::milliseconds grace);
  /// Kills the child and its descendants now. With SpawnOptions::own_process_group: POSIX
  /// SIGKILL to the child's process group (a descendant that moved to another group escapes);
  /// Windows TerminateJobObject on its job (also when only die_with_parent made one).
  /// Without a group or job of its own it kills the child only, as kill(). No effect once
  /// the child has been waited for.
  void kill_tree();

  /// Standard streams piped with Redirect::pipe() (see SpawnOptions::std_in). Asking for a
  /// pipe the child was not given is a caller bug (Expects). Each call that waits also
  /// drains every output pipe into this Child, so no pipe left unread can stall the child;
  /// what it read waits for the read_* calls. wait() and wait_for() drain them too.
  ///
  /// Writes all of `data` to the child's stdin pipe, waiting while the pipe is full. Throws
  /// std::system_error with std::errc::broken_pipe once the child has closed its end (this
  /// process gets no SIGPIPE).
  void write_stdin(std::string_view data);
  /// Closes the stdin pipe, so that the child reads end of file. No effect once closed.
  void close_stdin() noexcept;
  /// Everything the child writes to its stdout pipe until it closes it (usually by ending).
  std::string read_stdout();
  /// Everything the child writes to its stderr pipe until it closes it.
  std::string read_stderr();
  /// Reading as it comes: waits up to `timeout` until the stdout or stderr pipe holds bytes
  /// or ends, and returns what both hold by then. Empty strings without `ended`: the
  /// timeout passed. Loop until `ended` (the last call may still return bytes).
  ChildOutput read_output(std::chrono::milliseconds timeout);
  /// Python's Popen.communicate(): writes `input` to the stdin pipe (if piped) and closes
  /// it, reads both output pipes until they end, all at once so that no full pipe can stall
  /// the child, then waits for the child (wait() then returns its code at once).
  ChildOutput communicate(std::string_view input = {});

 private:
  friend struct detail::ChildAccess;
  explicit Child(detail::ChildProcess* process) noexcept : process_(process) {}
  void release() noexcept;

  detail::ChildProcess* process_;  // owned; null once moved from
};

/// Starts the registered entry `entry` in a child process with `args` and the shared
/// `objects`: only those objects are inherited; no other descriptor or handle of the parent
/// reaches the child. Thread-safe: concurrent spawns never leak each other's handles.
/// Throws errc::unknown_entry, errc::not_supported (fork on Windows), errc::missing_guard
/// (called in a spawn-style child whose main() skipped child_main), std::system_error when
/// the OS refuses the process or the executable cannot be run.
INTERPROC_EXPORT Child spawn_child(std::string_view entry, const std::vector<std::string>& args = {},
                                   const std::vector<SharedObject>& objects = {},
                                   StartMethod method = StartMethod::spawn);

/// spawn_child with its lifetime options (see SpawnOptions), for example
///     spawn_child("work", {}, {queue}, {StartMethod::spawn, true});
/// Throws as the overload above, and std::system_error naming the call when the OS refuses
/// the option: prctl(PR_SET_PDEATHSIG), pipe, setpgid, or on Windows CreateJobObjectW /
/// AssignProcessToJobObject (Windows 7 cannot put a process that is already in a job into
/// another one).
INTERPROC_EXPORT Child spawn_child(std::string_view entry, const std::vector<std::string>& args,
                                   const std::vector<SharedObject>& objects, const SpawnOptions& options);

/// The guard, the first statement of main():
///     if (auto code = interproc::child_main(argc, argv)) return *code;
/// In a spawn-style child it runs the requested entry and returns its exit code (or
/// exit_bad_child_argument / exit_entry_threw, with the reason on stderr); in the parent
/// it returns std::nullopt. Call it once, before any other thread starts.
INTERPROC_EXPORT std::optional<int> child_main(int argc, char** argv);

/// True in a process that spawn_child started with StartMethod::spawn: its first argument
/// is the child token that child_main() reads. For programs that must know before, or
/// without, calling child_main().
INTERPROC_EXPORT bool is_spawned_child(int argc, char** argv) noexcept;

/// main()'s arguments as UTF-8, for programs that pass file names or other text on to
/// children. Windows: read from the UTF-16 command line, because main()'s argv is in the
/// ANSI code page, which cannot hold every name; POSIX: argv as it is.
INTERPROC_EXPORT std::vector<std::string> utf8_arguments(int argc, char** argv);

// ---- implementation of the templates above ----

namespace detail {
struct SharedDataAccess {
  template <class Shared>
  static const SharedSegment& data(const Shared& s) noexcept {
    return s.data_;
  }
  template <class Shared>
  static const InterprocessMutex& lock(const Shared& s) noexcept {
    return s.lock_;
  }
  template <class Shared>
  static void* make(ChildParts& parts, void* storage) {
    fits_in_place<Shared>();
    return ::new (storage) Shared(std::move(*parts.segment), std::move(*parts.mutex));
  }
  template <class Shared>
  static void destroy(void* shared) noexcept {
    static_cast<Shared*>(shared)->~Shared();
  }
  template <class T>
  static const auto& core(const SharedQueue<T>& q) noexcept {
    return q.core_;
  }
  template <class T>
  static const RecordQueueCore& core(const JoinableQueue<T>& q) noexcept {
    return q.core_;
  }
  static const InterprocessMutex& lock(const QueueCore& core) noexcept { return core.lock_; }
  static const InterprocessMutex& lock(const RecordQueueCore& core) noexcept { return core.lock_; }
  // The bytes of one slot of an encoded queue: what the child checks its ring against
  // (common/record_queue.cpp lays slots out so: the length, the bytes, to 8 bytes).
  static std::size_t slot_bytes(const RecordQueueCore& core) noexcept {
    return (sizeof(std::uint64_t) + core.max_item_bytes() + 7) / 8 * 8;
  }
  template <class Queue>
  static void* make_queue(ChildParts& parts, void* storage) {
    fits_in_place<Queue>();
    return ::new (storage) Queue(std::move(*parts.queue));
  }
  template <class Queue>
  static void* make_record_queue(ChildParts& parts, void* storage) {
    fits_in_place<Queue>();
    return ::new (storage) Queue(std::move(*parts.record_queue));
  }
  template <class Shared>
  static constexpr void fits_in_place() noexcept {
    static_assert(sizeof(Shared) <= typed_object_capacity && alignof(Shared) <= alignof(std::max_align_t),
                  "raise typed_object_capacity");
  }
};
}  // namespace detail

template <class T>
SharedObject::SharedObject(const SharedValue<T>& v) noexcept
    : kind_(detail::ObjectKind::value), segment_(&detail::SharedDataAccess::data(v)),
      mutex_(&detail::SharedDataAccess::lock(v)), element_size_(sizeof(T)),
      type_fingerprint_(detail::type_fingerprint<T>()) {}

template <class T>
SharedObject::SharedObject(const SharedArray<T>& a) noexcept
    : kind_(detail::ObjectKind::array), segment_(&detail::SharedDataAccess::data(a)),
      mutex_(&detail::SharedDataAccess::lock(a)), element_size_(sizeof(T)),
      type_fingerprint_(detail::type_fingerprint<T>()) {}

template <class T>
SharedObject::SharedObject(const SharedQueue<T>& q) noexcept
    : kind_(detail::ObjectKind::queue), mutex_(&detail::SharedDataAccess::lock(detail::SharedDataAccess::core(q))),
      waits_(&detail::SharedDataAccess::core(q)), element_size_(sizeof(T)),
      type_fingerprint_(detail::type_fingerprint<T>()) {
  if constexpr (!std::is_trivially_copyable_v<T>) {
    kind_ = detail::ObjectKind::codec_queue;
    element_size_ = detail::SharedDataAccess::slot_bytes(detail::SharedDataAccess::core(q));
  }
}

template <class T>
SharedObject::SharedObject(const JoinableQueue<T>& q) noexcept
    : kind_(detail::ObjectKind::joinable_queue),
      mutex_(&detail::SharedDataAccess::lock(detail::SharedDataAccess::core(q))),
      waits_(&detail::SharedDataAccess::core(q)),
      element_size_(detail::SharedDataAccess::slot_bytes(detail::SharedDataAccess::core(q))),
      type_fingerprint_(detail::type_fingerprint<T>()) {}

template <class T>
SharedValue<T>& ChildContext::value(std::size_t index) {
  using Access = detail::SharedDataAccess;
  const detail::ElementType type{sizeof(T), detail::type_fingerprint<T>(), &Access::make<SharedValue<T>>,
                                 &Access::destroy<SharedValue<T>>};
  return *static_cast<SharedValue<T>*>(typed(index, detail::ObjectKind::value, type));
}

template <class T>
SharedArray<T>& ChildContext::array(std::size_t index) {
  using Access = detail::SharedDataAccess;
  const detail::ElementType type{sizeof(T), detail::type_fingerprint<T>(), &Access::make<SharedArray<T>>,
                                 &Access::destroy<SharedArray<T>>};
  return *static_cast<SharedArray<T>*>(typed(index, detail::ObjectKind::array, type));
}

template <class T>
SharedQueue<T>& ChildContext::queue(std::size_t index) {
  using Access = detail::SharedDataAccess;
  if constexpr (std::is_trivially_copyable_v<T>) {
    const detail::ElementType type{sizeof(T), detail::type_fingerprint<T>(), &Access::make_queue<SharedQueue<T>>,
                                   &Access::destroy<SharedQueue<T>>};
    return *static_cast<SharedQueue<T>*>(typed(index, detail::ObjectKind::queue, type));
  } else {
    const detail::ElementType type{0, detail::type_fingerprint<T>(), &Access::make_record_queue<SharedQueue<T>>,
                                   &Access::destroy<SharedQueue<T>>};
    return *static_cast<SharedQueue<T>*>(typed(index, detail::ObjectKind::codec_queue, type));
  }
}

template <class T>
JoinableQueue<T>& ChildContext::joinable_queue(std::size_t index) {
  using Access = detail::SharedDataAccess;
  const detail::ElementType type{0, detail::type_fingerprint<T>(), &Access::make_record_queue<JoinableQueue<T>>,
                                 &Access::destroy<JoinableQueue<T>>};
  return *static_cast<JoinableQueue<T>*>(typed(index, detail::ObjectKind::joinable_queue, type));
}

}  // namespace interproc
