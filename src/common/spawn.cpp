// SPDX-License-Identifier: MIT
// spawn_child, child_main and the child's view of its shared objects, written once for
// every OS; starting and waiting for processes is in src/posix/spawn_posix.cpp and
// src/win32/spawn_win.cpp behind common/spawn_backend.hpp.

#include "common/entry_registry.hpp"
#include "common/fail.hpp"
#include "common/handle_argument.hpp"
#include "common/mutex_backend.hpp"
#include "common/owner_word.hpp"
#include "common/segment_backend.hpp"
#include "common/spawn_backend.hpp"

#include <gsl/assert>

#include <atomic>
#include <cstdio>
#include <exception>
#include <stdexcept>

namespace interproc {
namespace detail {

// True once child_main() has run in this process: from then on spawn_child is legitimate
// even though the guard marker was in the environment.
std::atomic<bool> guard_passed{false};

// One shared object as the child rebuilt it.
struct ChildSlot {
  ObjectKind kind = ObjectKind::segment;
  std::size_t element_size = 0;            // value, array
  std::uint64_t type_fingerprint = 0;      // value, array
  SharedSegment segment;                   // segment, value, array
  std::optional<InterprocessMutex> mutex;  // mutex, value, array
  // The SharedValue<T> / SharedArray<T> made on first use.
  std::unique_ptr<void, void (*)(void*)> typed{nullptr, nullptr};
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

bool has_segment(ObjectKind kind) noexcept { return kind != ObjectKind::mutex; }
bool has_mutex(ObjectKind kind) noexcept { return kind != ObjectKind::segment; }
bool has_elements(ObjectKind kind) noexcept { return kind == ObjectKind::value || kind == ObjectKind::array; }

// ---- parent side: checks, then objects to token fields ----

void check_arguments(const std::vector<std::string>& args, const std::vector<SharedObject>& objects) {
  // argv strings end at the first NUL on POSIX; refusing them everywhere keeps every OS alike.
  for (const std::string& arg : args) {
    if (arg.find('\0') != std::string::npos)
      fail(errc::invalid_argument, "spawn_child: an argument contains a NUL character");
  }
  if (objects.size() > max_token_objects) {
    fail(errc::invalid_argument, "spawn_child: " + std::to_string(objects.size()) + " shared objects, at most " +
                                     std::to_string(max_token_objects) + " can be passed to one child");
  }
}

void add_segment(const SharedSegment& s, TokenObject& out) {
  Expects(s);  // a moved-from SharedSegment
  out.fields.push_back(static_cast<std::uint64_t>(SegmentAccess::handle(s)));
  out.fields.push_back(s.size());
}

void add_mutex(const InterprocessMutex& m, TokenObject& out) {
  Expects(MutexAccess::state(m));  // a moved-from InterprocessMutex
  add_segment(MutexAccess::state(m), out);
  if (mutex_wake_handles == 1) out.fields.push_back(static_cast<std::uint64_t>(MutexAccess::wake_handle(m)));
}

// ---- child side: token to objects ----

InterprocessMutex rebuild_mutex(const std::vector<std::uint64_t>& f, std::size_t at) {
  SharedSegment state = SegmentAccess::adopt(
      map_inherited_segment(static_cast<native_handle>(f[at]), static_cast<std::size_t>(f[at + 1])));
  ScopedHandle wake =
      mutex_wake_handles == 1 ? adopt_wake_handle(static_cast<native_handle>(f[at + 2])) : ScopedHandle();
  return MutexAccess::attach(std::move(state), std::move(wake));
}

ChildSlot rebuild(const TokenObject& object) {
  ChildSlot slot;
  slot.kind = static_cast<ObjectKind>(object.kind);
  const auto& f = object.fields;
  if (!has_segment(slot.kind)) {
    slot.mutex = rebuild_mutex(f, 0);
    return slot;
  }
  slot.segment =
      SegmentAccess::adopt(map_inherited_segment(static_cast<native_handle>(f[0]), static_cast<std::size_t>(f[1])));
  if (!has_mutex(slot.kind)) return slot;
  slot.element_size = static_cast<std::size_t>(f[2]);
  slot.type_fingerprint = f[3];
  if (slot.element_size == 0 || f[1] % slot.element_size != 0 ||
      (slot.kind == ObjectKind::value && f[1] != slot.element_size)) {
    fail(errc::bad_handle_argument, "--interproc-child: element size does not match the segment size");
  }
  slot.mutex = rebuild_mutex(f, 4);
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
}

struct ChildContextAccess {
  // The token fields of `object` (laid out as field_count() describes), with this
  // process's handles.
  static TokenObject token_object(const SharedObject& object) {
    TokenObject out{static_cast<char>(object.kind_), {}};
    if (has_segment(object.kind_)) add_segment(*object.segment_, out);
    if (has_elements(object.kind_)) {
      out.fields.push_back(object.element_size_);
      out.fields.push_back(object.type_fingerprint_);
    }
    if (has_mutex(object.kind_)) add_mutex(*object.mutex_, out);
    return out;
  }

  // fork: the child is a copy of the parent with every object already mapped, so its
  // context borrows the parent's objects (same addresses and handles) instead of mapping
  // them again.
  static ChildSlot borrow(const SharedObject& object) {
    ChildSlot slot;
    slot.kind = object.kind_;
    slot.element_size = object.element_size_;
    slot.type_fingerprint = object.type_fingerprint_;
    if (object.segment_ != nullptr) slot.segment = SegmentAccess::alias(*object.segment_);
    if (object.mutex_ != nullptr) slot.mutex = MutexAccess::alias(*object.mutex_);
    return slot;
  }

  // The spawn-style child: rebuilds its objects from the token, then runs the entry.
  static int run(std::string_view token_text, std::vector<std::string> args) {
    ChildContext context;
    ChildEntry entry = nullptr;
    std::string name = "?";
    try {
      ChildToken token = parse_token(received_token(token_text));
      name = token.entry;
      entry = find_entry(token.entry);
      if (entry == nullptr) fail(errc::unknown_entry, "no entry \"" + token.entry + "\" is registered in this program");
      for (const TokenObject& object : token.objects) context.objects_->slots.push_back(rebuild(object));
      context.objects_->args = std::move(args);
    } catch (const std::exception& e) {
      return report_child_failure(name, e, exit_bad_child_argument);
    }
    return execute(entry, name, context);
  }

  // The fork-style start: the context is built in the parent before fork(), so the child
  // only runs the entry; the child leaves with _exit and never destroys the borrowed objects.
  static Child fork(ChildEntry entry, const std::string& name, const std::vector<SharedObject>& objects,
                    const std::vector<std::string>& args) {
    ChildContext context;
    context.objects_->args = args;
    for (const SharedObject& object : objects) context.objects_->slots.push_back(borrow(object));
    try {
      Child child = launch_fork([&] { return execute(entry, name, context); });
      for (ChildSlot& slot : context.objects_->slots) give_back(slot);
      return child;
    } catch (...) {
      for (ChildSlot& slot : context.objects_->slots) give_back(slot);
      throw;
    }
  }

  static int execute(ChildEntry entry, const std::string& name, ChildContext& context) {
    try {
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

const char* kind_name(ObjectKind kind) noexcept {
  switch (kind) {
    case ObjectKind::segment: return "SharedSegment";
    case ObjectKind::mutex: return "InterprocessMutex";
    case ObjectKind::value: return "SharedValue";
    case ObjectKind::array: return "SharedArray";
  }
  return "?";
}

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
  if (slot.element_size != type.size || slot.type_fingerprint != type.fingerprint) {
    fail(errc::wrong_object_kind, "ChildContext: object " + std::to_string(index) +
                                      " holds another element type than the one asked for (elements of " +
                                      std::to_string(slot.element_size) + " bytes)");
  }
  if (!slot.typed)
    slot.typed = std::unique_ptr<void, void (*)(void*)>(type.make(slot.segment, *slot.mutex), type.destroy);
  return slot.typed.get();
}

Child spawn_child(std::string_view entry, const std::vector<std::string>& args,
                  const std::vector<SharedObject>& objects, StartMethod method) {
  if (guard_marker_present() && !guard_passed.load()) fail(errc::missing_guard, guard_help);
  const ChildEntry found = find_entry(entry);
  if (found == nullptr) {
    fail(errc::unknown_entry,
         "spawn_child: no entry \"" + std::string(entry) + "\" is registered (INTERPROC_CHILD_ENTRY)");
  }
  check_arguments(args, objects);
  ChildToken token{std::string(entry), {}};
  for (const SharedObject& object : objects) token.objects.push_back(ChildContextAccess::token_object(object));
  // Each object once: passing one twice would make the child own its handle twice.
  if (repeated_handle(token)) fail(errc::invalid_argument, "spawn_child: the same shared object is passed twice");
  if (method == StartMethod::fork) return ChildContextAccess::fork(found, token.entry, objects, args);
  return launch_executable(executable_path(), std::move(token), args);
}

std::vector<std::string> utf8_arguments(int argc, char** argv) { return program_arguments(argc, argv); }

std::optional<int> child_main(int argc, char** argv) {
  remove_guard_marker();
  if (argc < 2 || argv == nullptr || argv[1] == nullptr) return std::nullopt;
  const std::string_view flag(argv[1]);
  if (flag.substr(0, child_flag.size()) != child_flag) return std::nullopt;
  guard_passed.store(true);
  std::vector<std::string> args = program_arguments(argc, argv);
  args.erase(args.begin(), args.begin() + 2);
  return ChildContextAccess::run(flag.substr(child_flag.size()), std::move(args));
}

}  // namespace interproc
