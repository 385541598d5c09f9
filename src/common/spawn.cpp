// SPDX-License-Identifier: MIT
// spawn_child, child_main and the child's view of its shared objects, written once for
// every OS. Objects travel as records of the transfer codec (common/transfer.hpp); starting
// processes is behind common/process_backend.hpp.

#include "common/connection_backend.hpp"
#include "common/entry_registry.hpp"
#include "common/fail.hpp"
#include "common/mutex_backend.hpp"
#include "common/name_tracker.hpp"
#include "common/process_backend.hpp"
#include "common/segment_backend.hpp"
#include "common/transfer.hpp"
#include "common/waiting.hpp"

#include <gsl/assert>

#include <atomic>
#include <optional>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>

namespace interproc {
namespace detail {

// True once child_main() has run in this process: from then on spawn_child is legitimate
// even though the guard marker was in the environment.
std::atomic<bool> guard_passed{false};

// The SharedValue<T> / SharedArray<T> / SharedQueue<T> a child made on first use, in
// storage of its own. Moved only while empty: the object's address must not change.
class TypedObject {
 public:
  TypedObject() = default;
  TypedObject(TypedObject&& other) noexcept { Expects(other.object_ == nullptr); }
  TypedObject& operator=(TypedObject&&) = delete;
  ~TypedObject() {
    if (object_ != nullptr) destroy_(object_);
  }

  void* get() const noexcept { return object_; }
  void* make(const ElementType& type, ChildParts& parts) {
    object_ = type.make(parts, storage_);
    destroy_ = type.destroy;
    return object_;
  }

 private:
  alignas(std::max_align_t) unsigned char storage_[typed_object_capacity];
  void* object_ = nullptr;
  void (*destroy_)(void*) = nullptr;
};

// One shared object as the child rebuilt it.
struct ChildSlot {
  ObjectKind kind = ObjectKind::segment;
  ElementRecord element;                   // value, array, queue
  SharedSegment segment;                   // segment, value, array
  std::optional<InterprocessMutex> mutex;  // mutex, value, array
  std::optional<InterprocessEvent> event;
  std::optional<InterprocessSemaphore> semaphore;
  std::optional<InterprocessCondition> condition;
  std::optional<QueueCore> queue;
  std::optional<Connection> connection;
  std::optional<RecordQueueCore> record_queue;  // codec_queue, joinable_queue
  std::optional<InterprocessBarrier> barrier;
  std::optional<InterprocessRecursiveMutex> recursive_mutex;
  TypedObject typed;  // made on first use
};

class ChildObjects {
 public:
  std::vector<std::string> args;
  std::vector<ChildSlot> slots;
};

namespace {

constexpr const char* guard_help =
    "spawn_child() was called in a spawn-style child before interproc::child_main() ran. "
    "The child re-executes this program from the top, so main() must begin with the guard "
    "`if (auto code = interproc::child_main(argc, argv)) return *code;` (the counterpart of "
    "Python's `if __name__ == '__main__':`); without it every child would start children again";

// Arguments travel on the command line (with the child token, and through UTF-16 on
// Windows, whose command lines end at 32767 characters): kept well below every OS's limit.
constexpr std::size_t max_argument_bytes = 16384;

// ---- parent side: checks, then objects to records ----

void check_arguments(const std::vector<std::string>& args, const std::vector<SharedObject>& objects) {
  std::size_t total = 0;
  for (const std::string& arg : args) {
    // argv strings end at the first NUL on POSIX; refusing them everywhere keeps every OS alike.
    if (arg.find('\0') != std::string::npos)
      fail(errc::invalid_argument, "spawn_child: an argument contains a NUL character");
    total += arg.size() + 1;
  }
  if (total > max_argument_bytes) {
    fail(errc::invalid_argument, "spawn_child: the arguments take " + std::to_string(total) + " bytes, at most " +
                                     std::to_string(max_argument_bytes) + " fit on every OS's command line");
  }
  if (objects.size() > max_token_objects) {
    fail(errc::invalid_argument, "spawn_child: " + std::to_string(objects.size()) + " shared objects, at most " +
                                     std::to_string(max_token_objects) + " can be passed to one child");
  }
}

void check_text(const std::string& text, const char* what) {
  if (text.find('\0') != std::string::npos)
    fail(errc::invalid_argument, std::string("spawn_child: ") + what + " contains a NUL character");
}

// An environment name the OS can hold, and not one of the library's own markers.
void check_variable_name(const std::string& name) {
  check_text(name, "an environment variable's name");
  if (name.empty() || name.find('=') != std::string::npos)
    fail(errc::invalid_argument, "spawn_child: environment variable name " + quoted(name) + " is empty or holds '='");
  if (name == guard_marker_name || name == lifetime_marker_name)
    fail(errc::invalid_argument, "spawn_child: " + name + " is the library's own environment variable");
}

void check_redirect(const Redirect& redirect) {
  if (redirect.kind != Redirect::Kind::file) return;
  if (redirect.path.empty()) fail(errc::invalid_argument, "spawn_child: a Redirect::file without a path");
  check_text(redirect.path, "a Redirect::file path");
}

void check_start_options(const SpawnOptions& options) {
  for (const auto& [name, value] : options.env) {
    check_variable_name(name);
    check_text(value, "an environment variable's value");
  }
  for (const std::string& name : options.unset_env) check_variable_name(name);
  check_text(options.cwd, "the child's directory");
  for (const Redirect* redirect : {&options.std_in, &options.std_out, &options.std_err}) check_redirect(*redirect);
}

SegmentRecord segment_record(const SharedSegment& s) {
  Expects(s);  // a moved-from SharedSegment
  return {static_cast<std::uint64_t>(SegmentAccess::handle(s)), s.size()};
}

// A state's handles as a record: its words' segment (first in `handles`), then its companions.
StateRecord state_record(const SharedSegment& words, const std::vector<native_handle>& handles) {
  StateRecord record{segment_record(words), {}};
  for (std::size_t i = 1; i < handles.size(); ++i) record.companions.push_back(static_cast<std::uint64_t>(handles[i]));
  return record;
}

StateRecord lock_record(const InterprocessMutex& m) {
  Expects(MutexAccess::has_state(m));  // a moved-from InterprocessMutex
  return state_record(MutexAccess::state(m).words, MutexAccess::handles(m));
}

StateRecord waits_record(const WaitingObject& object) {
  return state_record(WaitAccess::state(object).words, WaitAccess::handles(object));
}

SegmentRecord channel_record(const Connection& c) {
  const ConnectionState* state = ConnectionAccess::state(c);
  Expects(state != nullptr);  // a moved-from Connection
  if (!state->channel.valid()) fail(errc::closed, "spawn_child: the Connection passed is closed");
  return {static_cast<std::uint64_t>(state->channel.get()), state->max_message};
}

// ---- child side: records to objects ----

SharedSegment rebuild_segment(const SegmentRecord& record, bool read_only = false) {
  return SegmentAccess::adopt(map_inherited_segment(static_cast<native_handle>(record.handle),
                                                    static_cast<std::size_t>(record.size), read_only));
}

std::vector<native_handle> companions_of(const StateRecord& record) {
  return {record.companions.begin(), record.companions.end()};
}

InterprocessMutex rebuild_mutex(const StateRecord& record) {
  SharedSegment words = rebuild_segment(record.words);
  return MutexAccess::make(attach_mutex_state(std::move(words), companions_of(record)));
}

// Gives a waiting object's state to the slot, as the object its kind is.
void place_waits(ChildSlot& slot, WaitState state) {
  switch (slot.kind) {
    case ObjectKind::event: slot.event = WaitAccess::make<InterprocessEvent>(std::move(state)); break;
    case ObjectKind::semaphore: slot.semaphore = WaitAccess::make<InterprocessSemaphore>(std::move(state)); break;
    case ObjectKind::condition: slot.condition = WaitAccess::make<InterprocessCondition>(std::move(state)); break;
    case ObjectKind::barrier: slot.barrier = WaitAccess::make<InterprocessBarrier>(std::move(state)); break;
    case ObjectKind::queue:
      slot.queue = attach_queue(std::move(state), std::move(*slot.mutex), slot.element.size);
      slot.mutex.reset();
      break;
    case ObjectKind::codec_queue:
    case ObjectKind::joinable_queue:
      slot.record_queue = attach_record_queue(std::move(state), std::move(*slot.mutex), slot.element.size,
                                              slot.kind == ObjectKind::joinable_queue);
      slot.mutex.reset();
      break;
    default: break;
  }
}

// A recursive mutex's slot holds the mutex as one.
void place_lock(ChildSlot& slot, InterprocessMutex mutex) {
  if (slot.kind == ObjectKind::recursive_mutex) {
    slot.recursive_mutex = make_recursive(std::move(mutex));
  } else {
    slot.mutex = std::move(mutex);
  }
}

WaitState rebuild_waits(ObjectKind kind, const StateRecord& record) {
  return attach_wait_state(*wait_layout(kind), rebuild_segment(record.words), companions_of(record));
}

void check_element(const ObjectRecord& record, const KindParts& parts) {
  const std::uint64_t size = record.element.size;
  if (size == 0 || record.data.size % size != 0 || (parts.one_element && record.data.size != size))
    fail(errc::bad_handle_argument, "child token: element size does not match the segment size");
}

ChildSlot rebuild(const ObjectRecord& record) {
  const KindParts parts = *kind_parts(record.kind);
  ChildSlot slot;
  slot.kind = record.kind;
  slot.element = record.element;
  if (parts.data) slot.segment = rebuild_segment(record.data, record.read_only);
  if (parts.element) check_element(record, parts);
  if (parts.lock) place_lock(slot, rebuild_mutex(record.lock));
  if (parts.waits) place_waits(slot, rebuild_waits(record.kind, record.waits));
  if (parts.channel) {
    slot.connection = ConnectionAccess::adopt(static_cast<native_handle>(record.channel.handle), record.channel.size);
  }
  return slot;
}

int report_child_failure(const std::string& entry, const std::exception& e, int code) {
  std::fprintf(stderr, "interproc: child entry \"%s\": %s\n", entry.c_str(), e.what());
  std::fflush(stderr);
  return code;
}

}  // namespace

void give_back(ChildSlot& slot) noexcept {
  SegmentAccess::forget(slot.segment);
  if (slot.mutex) MutexAccess::forget(*slot.mutex);
  if (slot.event) WaitAccess::forget(*slot.event);
  if (slot.semaphore) WaitAccess::forget(*slot.semaphore);
  if (slot.condition) WaitAccess::forget(*slot.condition);
  if (slot.queue) forget_queue(*slot.queue);
  if (slot.connection) ConnectionAccess::forget(*slot.connection);
  if (slot.record_queue) forget_record_queue(*slot.record_queue);
  if (slot.barrier) WaitAccess::forget(*slot.barrier);
  if (slot.recursive_mutex) MutexAccess::forget(mutex_of(*slot.recursive_mutex));
}

struct ChildContextAccess {
  // The record of `object`, naming this process's handles; a read-only one's handle, made
  // here, is kept in `made` until the child has its copy.
  static ObjectRecord record_of(const SharedObject& object, std::vector<ScopedHandle>& made) {
    const KindParts parts = *kind_parts(object.kind_);
    ObjectRecord record;
    record.kind = object.kind_;
    if (parts.data) {
      const SharedSegment& data = *object.segment_;
      record.data = segment_record(data);
      record.read_only = object.read_only_ || data.is_read_only();  // read-only stays read-only
      if (object.read_only_ && !data.is_read_only()) {
        made.push_back(read_only_handle(SegmentAccess::handle(data), SegmentAccess::read_only_twin(data)));
        record.data.handle = static_cast<std::uint64_t>(made.back().get());
      }
    }
    if (parts.element) record.element = {object.element_size_, object.type_fingerprint_};
    if (parts.lock) record.lock = lock_record(*object.mutex_);
    if (parts.waits) record.waits = waits_record(*object.waits_);
    if (parts.channel) record.channel = channel_record(*object.connection_);
    return record;
  }

  // fork: the child is a copy of the parent with every object already mapped, so its
  // context borrows the parent's objects (same addresses and handles) instead of mapping
  // them again.
  // A read-only object's alias names the read-only handle in its record, which the fork
  // child maps over the inherited writable view (run_forked).
  static void borrow(const SharedObject& object, const ObjectRecord& record, ChildSlot& slot) {
    slot.kind = object.kind_;
    slot.element = {object.element_size_, object.type_fingerprint_};
    if (object.segment_ != nullptr) slot.segment = SegmentAccess::alias(*object.segment_);
    if (record.read_only && object.segment_ != nullptr)
      SegmentAccess::make_read_only_alias(slot.segment, static_cast<native_handle>(record.data.handle));
    if (object.mutex_ != nullptr) place_lock(slot, MutexAccess::alias(*object.mutex_));
    if (object.connection_ != nullptr) slot.connection = ConnectionAccess::alias(*object.connection_);
    if (object.waits_ != nullptr) {
      const WaitState& original = WaitAccess::state(*object.waits_);
      WaitState copy{SegmentAccess::alias(original.words), {}};
      for (const ScopedHandle& companion : original.companions) copy.companions.emplace_back(companion.get());
      place_waits(slot, std::move(copy));
    }
  }

  // The spawn-style child: rebuilds its objects from the token, then runs the entry.
  static int run(std::string_view token_text, std::vector<std::string> args) {
    std::string token;
    try {
      follow_parent_lifetime();
      token = received_token(token_text);
    } catch (const std::exception& e) {
      return report_child_failure("?", e, exit_bad_child_argument);
    }
    return prepare(token, std::move(args))->run();
  }

  // A child's objects rebuilt from its token: in a spawn-style child (run above), or in the
  // fork server before fork() (see PreparedChild).
  struct Prepared final : PreparedChild {
    std::unique_ptr<ChildContext> context{new ChildContext};
    ChildEntry entry = nullptr;
    std::string name = "?";
    std::string failure;  // why the objects could not be rebuilt, reported by the child

    bool ready() const noexcept override { return failure.empty(); }
    int run() override {
      if (!ready()) return report_child_failure(name, std::runtime_error(failure), exit_bad_child_argument);
      return execute(entry, name, *context);
    }
  };

  static std::unique_ptr<PreparedChild> prepare(const std::string& token_text, std::vector<std::string> args) {
    auto prepared = std::make_unique<Prepared>();
    try {
      ChildToken token = decode_token(token_text);
      prepared->name = token.entry;
      prepared->entry = find_entry(token.entry);
      if (prepared->entry == nullptr) {
        fail(errc::unknown_entry, "no entry \"" + token.entry + "\" is registered in this program");
      }
      for (const ObjectRecord& object : token.objects) prepared->context->objects_->slots.push_back(rebuild(object));
      prepared->context->objects_->args = std::move(args);
    } catch (const std::exception& e) {
      prepared->failure = e.what();
      prepared->context.reset();
    }
    return prepared;
  }

  // The fork-style start: the context is built in the parent before fork(), so the child
  // only runs the entry; the child leaves with _exit and never destroys the borrowed objects.
  static Child fork(ChildEntry entry, const ChildToken& token, const std::vector<SharedObject>& objects,
                    const std::vector<std::string>& args, const SpawnOptions& options) {
    const std::string& name = token.entry;
    ChildContext context;
    context.objects_->args = args;
    context.objects_->slots.reserve(objects.size());
    ForkedEntry forked{entry, &name, &context};
    try {
      // Each slot is built where it stays: one on this frame would deepen the stack, and
      // every stack page written around a fork costs a copy-on-write fault.
      for (std::size_t i = 0; i < objects.size(); ++i)
        borrow(objects[i], token.objects[i], context.objects_->slots.emplace_back());
      Child child = ChildAccess::make(launch_fork(&run_forked, &forked, options), options);
      for (ChildSlot& slot : context.objects_->slots) give_back(slot);
      return child;
    } catch (...) {
      for (ChildSlot& slot : context.objects_->slots) give_back(slot);
      throw;
    }
  }

  // What the fork child runs, handed to launch_fork by pointer so that nothing is allocated for it.
  struct ForkedEntry {
    ChildEntry entry;
    const std::string* name;
    ChildContext* context;
  };
  static int run_forked(void* data) {
    const auto& forked = *static_cast<const ForkedEntry*>(data);
    try {
      for (const ChildSlot& slot : forked.context->objects_->slots)
        if (slot.segment.is_read_only()) SegmentAccess::remap_read_only(slot.segment);
    } catch (const std::exception& e) {
      return report_child_failure(*forked.name, e, exit_bad_child_argument);
    }
    return execute(forked.entry, *forked.name, *forked.context);
  }

  // Each barrier counts this process, the one that runs the entry, while the entry runs:
  // a fork server that rebuilt the objects is not the party, its child is.
  struct Enlisted {
    ChildContext& context;
    explicit Enlisted(ChildContext& c) : context(c) {
      for (ChildSlot& slot : context.objects_->slots)
        if (slot.barrier) enlist_barrier(*slot.barrier);
    }
    ~Enlisted() {
      for (ChildSlot& slot : context.objects_->slots)
        if (slot.barrier) let_go_barrier(*slot.barrier);
    }
  };

  static int execute(ChildEntry entry, const std::string& name, ChildContext& context) {
    try {
      Enlisted enlisted(context);
      return entry(context);
    } catch (const std::exception& e) {
      return report_child_failure(name, e, exit_entry_threw);
    } catch (...) {
      return report_child_failure(name, std::runtime_error("threw a non-standard exception"), exit_entry_threw);
    }
  }
};

}  // namespace detail

using namespace detail;

ChildContext::ChildContext() : objects_(new ChildObjects) {}
ChildContext::~ChildContext() { delete objects_; }

const std::vector<std::string>& ChildContext::args() const noexcept { return objects_->args; }
std::size_t ChildContext::object_count() const noexcept { return objects_->slots.size(); }

namespace {

const char* kind_name(ObjectKind kind) noexcept { return kind_parts(kind)->name; }

ChildSlot& slot_of(ChildObjects& objects, std::size_t index, ObjectKind kind) {
  if (index >= objects.slots.size()) {
    fail(errc::wrong_object_kind, "ChildContext: no shared object at index " + std::to_string(index) +
                                      " (the child has " + std::to_string(objects.slots.size()) + ")");
  }
  ChildSlot& slot = objects.slots[index];
  if (slot.kind != kind) {
    fail(errc::wrong_object_kind, "ChildContext: object " + std::to_string(index) + " is a " + kind_name(slot.kind) +
                                      ", not a " + kind_name(kind));
  }
  return slot;
}

}  // namespace

SharedSegment& ChildContext::segment(std::size_t index) {
  return slot_of(*objects_, index, ObjectKind::segment).segment;
}

InterprocessMutex& ChildContext::mutex(std::size_t index) {
  return *slot_of(*objects_, index, ObjectKind::mutex).mutex;
}

void* ChildContext::typed(std::size_t index, ObjectKind kind, const ElementType& type) {
  ChildSlot& slot = slot_of(*objects_, index, kind);
  // An encoded T (size 0) has no size of its own: its fingerprint alone says what it is.
  if ((type.size != 0 && slot.element.size != type.size) || slot.element.fingerprint != type.fingerprint) {
    fail(errc::wrong_object_kind, "ChildContext: object " + std::to_string(index) +
                                      " holds another element type than the one asked for (elements of " +
                                      std::to_string(slot.element.size) + " bytes)");
  }
  if (slot.typed.get() == nullptr) {
    ChildParts parts{&slot.segment, slot.mutex ? &*slot.mutex : nullptr, slot.queue ? &*slot.queue : nullptr,
                     slot.record_queue ? &*slot.record_queue : nullptr};
    return slot.typed.make(type, parts);
  }
  return slot.typed.get();
}

Connection& ChildContext::connection(std::size_t index) {
  return *slot_of(*objects_, index, ObjectKind::connection).connection;
}

InterprocessEvent& ChildContext::event(std::size_t index) {
  return *slot_of(*objects_, index, ObjectKind::event).event;
}

InterprocessSemaphore& ChildContext::semaphore(std::size_t index) {
  return *slot_of(*objects_, index, ObjectKind::semaphore).semaphore;
}

InterprocessCondition& ChildContext::condition(std::size_t index) {
  return *slot_of(*objects_, index, ObjectKind::condition).condition;
}

InterprocessBarrier& ChildContext::barrier(std::size_t index) {
  return *slot_of(*objects_, index, ObjectKind::barrier).barrier;
}

InterprocessRecursiveMutex& ChildContext::recursive_mutex(std::size_t index) {
  return *slot_of(*objects_, index, ObjectKind::recursive_mutex).recursive_mutex;
}

Child spawn_child(std::string_view entry, const std::vector<std::string>& args,
                  const std::vector<SharedObject>& objects, StartMethod method) {
  SpawnOptions options;
  options.method = method;
  return spawn_child(entry, args, objects, options);
}

Child spawn_child(std::string_view entry, const std::vector<std::string>& args,
                  const std::vector<SharedObject>& objects, const SpawnOptions& options) {
  if (guard_marker_present() && !guard_passed.load()) fail(errc::missing_guard, guard_help);
  const ChildEntry found = find_entry(entry);
  if (found == nullptr) {
    fail(errc::unknown_entry,
         "spawn_child: no entry \"" + std::string(entry) + "\" is registered (INTERPROC_CHILD_ENTRY)");
  }
  check_arguments(args, objects);
  check_start_options(options);
  ChildToken token{std::string(entry), {}};
  std::vector<ScopedHandle> read_only_handles;  // made for this child; closed once it has them
  for (const SharedObject& object : objects)
    token.objects.push_back(ChildContextAccess::record_of(object, read_only_handles));
  // Each object once: passing one twice would make the child own its handle twice.
  if (repeated_handle(token)) fail(errc::invalid_argument, "spawn_child: the same shared object is passed twice");
  if (options.method == StartMethod::forkserver)  // the server, not this thread, starts the child
    return ChildAccess::make(launch_forkserver(std::move(token), args, options), options);
  const auto start = [&] {
    if (options.method == StartMethod::fork) return ChildContextAccess::fork(found, token, objects, args, options);
    return ChildAccess::make(launch_spawn(executable_path(), std::move(token), args, options), options);
  };
  if (!options.die_with_parent) return start();
  std::optional<Child> child;
  run_on_lasting_thread([&] { child.emplace(start()); });
  return std::move(*child);
}

std::vector<std::string> utf8_arguments(int argc, char** argv) { return program_arguments(argc, argv); }

bool is_spawned_child(int argc, char** argv) noexcept {
  return argc >= 2 && argv != nullptr && argv[1] != nullptr &&
         std::string_view(argv[1]).substr(0, child_flag.size()) == child_flag;
}

namespace {
// A fork server: serves until its client ends; its exit code.
int serve() {
  try {
    return serve_forks(&ChildContextAccess::prepare);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "interproc: fork server: %s\n", e.what());
    return exit_bad_child_argument;
  }
}
}  // namespace

std::optional<int> child_main(int argc, char** argv) {
  remove_guard_marker();
  if (!is_spawned_child(argc, argv)) return std::nullopt;
  const std::string_view token = std::string_view(argv[1]).substr(child_flag.size());
  guard_passed.store(true);
  if (token == forkserver_argument) return serve();
  if (token == name_watcher_argument) return watch_names();
  std::vector<std::string> args = program_arguments(argc, argv);
  args.erase(args.begin(), args.begin() + 2);
  return ChildContextAccess::run(token, std::move(args));
}

}  // namespace interproc
