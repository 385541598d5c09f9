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

#include <algorithm>
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
  char kind = 0;
  std::size_t element_size = 0;
  SharedSegment segment;                   // 's', 'v', 'a'
  std::optional<InterprocessMutex> mutex;  // 'm', 'v', 'a'
  // The SharedValue<T> / SharedArray<T> made on first use, and the function that made it.
  std::unique_ptr<void, ChildContext::DestroyFn> typed{nullptr, nullptr};
  ChildContext::MakeFn make = nullptr;
};

class ChildObjects {
 public:
  std::vector<ChildSlot> slots;
};

namespace {

constexpr const char* guard_help =
    "spawn_child() was called in a spawn-style child before interproc::child_main() ran. "
    "The child re-executes this program from the top, so main() must begin with the guard "
    "`if (auto code = interproc::child_main(argc, argv)) return *code;` (the counterpart of "
    "Python's `if __name__ == '__main__':`); without it every child would start children again";

// ---- parent side: objects to token fields and handles ----

// Each handle once: passing one object twice would make the child own it twice.
void add_handle(native_handle h, std::vector<native_handle>& handles) {
  if (std::find(handles.begin(), handles.end(), h) != handles.end()) {
    throw std::invalid_argument("spawn_child: the same shared object is passed twice");
  }
  handles.push_back(h);
}

void add_segment(const SharedSegment& s, TokenObject& out, std::vector<native_handle>& handles) {
  if (!s) throw std::invalid_argument("spawn_child: a moved-from SharedSegment cannot be passed");
  add_handle(SegmentAccess::handle(s), handles);
  out.fields.push_back(static_cast<std::uint64_t>(SegmentAccess::handle(s)));
  out.fields.push_back(s.size());
}

void add_mutex(const InterprocessMutex& m, TokenObject& out, std::vector<native_handle>& handles) {
  if (!MutexAccess::state(m)) throw std::invalid_argument("spawn_child: a moved-from InterprocessMutex cannot be passed");
  add_segment(MutexAccess::state(m), out, handles);
  if (mutex_wake_handles == 1) {
    add_handle(MutexAccess::wake_handle(m), handles);
    out.fields.push_back(static_cast<std::uint64_t>(MutexAccess::wake_handle(m)));
  }
}

// The token fields of `object` (laid out as field_count() describes), its handles added.
TokenObject token_object(const SharedObject& object, std::vector<native_handle>& handles) {
  TokenObject out{object.kind(), {}};
  if (object.kind() != 'm') add_segment(*object.segment(), out, handles);
  if (object.kind() == 'v' || object.kind() == 'a') out.fields.push_back(object.element_size());
  if (object.kind() != 's') add_mutex(*object.mutex(), out, handles);
  return out;
}

// ---- child side: token to objects ----

InterprocessMutex rebuild_mutex(const std::vector<std::uint64_t>& f, std::size_t at) {
  SharedSegment state = SegmentAccess::adopt(
      map_inherited_segment(static_cast<native_handle>(f[at]), static_cast<std::size_t>(f[at + 1])));
  ScopedHandle wake = mutex_wake_handles == 1 ? adopt_wake_handle(static_cast<native_handle>(f[at + 2])) : ScopedHandle();
  return MutexAccess::attach(std::move(state), std::move(wake));
}

ChildSlot rebuild(const TokenObject& object) {
  ChildSlot slot;
  slot.kind = object.kind;
  const auto& f = object.fields;
  if (object.kind == 'm') {
    slot.mutex = rebuild_mutex(f, 0);
    return slot;
  }
  slot.segment = SegmentAccess::adopt(map_inherited_segment(static_cast<native_handle>(f[0]), static_cast<std::size_t>(f[1])));
  if (object.kind == 's') return slot;
  slot.element_size = static_cast<std::size_t>(f[2]);
  if (slot.element_size == 0 || f[1] % slot.element_size != 0 || (object.kind == 'v' && f[1] != slot.element_size)) {
    fail(errc::bad_handle_argument, "--interproc-child: element size does not match the segment size");
  }
  slot.mutex = rebuild_mutex(f, 3);
  return slot;
}

int report_child_failure(const std::string& entry, const std::exception& e, int code) {
  std::fprintf(stderr, "interproc: child entry \"%s\": %s\n", entry.c_str(), e.what());
  std::fflush(stderr);
  return code;
}

}  // namespace

// fork: the child is a copy of the parent with every object already mapped, so its context
// borrows the parent's objects (same addresses and handles) instead of mapping them again.
ChildSlot borrow(const SharedObject& object) {
  ChildSlot slot;
  slot.kind = object.kind();
  slot.element_size = object.element_size();
  if (object.segment() != nullptr) slot.segment = SegmentAccess::alias(*object.segment());
  if (object.mutex() != nullptr) slot.mutex = MutexAccess::alias(*object.mutex());
  return slot;
}

void give_back(ChildSlot& slot) noexcept {
  SegmentAccess::forget(slot.segment);
  if (slot.mutex) MutexAccess::forget(*slot.mutex);
}

struct ChildContextAccess {
  // The spawn-style child: rebuilds its objects from the token, then runs the entry.
  static int run(std::string_view token_text, std::vector<std::string> args) {
    ChildContext context;
    ChildEntry entry = nullptr;
    std::string name = "?";
    try {
      ChildToken token = parse_token(token_text);
      name = token.entry;
      entry = find_entry(token.entry);
      if (entry == nullptr) fail(errc::unknown_entry, "no entry \"" + token.entry + "\" is registered in this program");
      for (const TokenObject& object : token.objects) context.objects_->slots.push_back(rebuild(object));
      context.args_ = std::move(args);
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
    context.args_ = args;
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

ChildContext::ChildContext() : objects_(std::make_unique<ChildObjects>()) {}
ChildContext::~ChildContext() = default;

std::size_t ChildContext::object_count() const noexcept { return objects_->slots.size(); }

namespace {

ChildSlot& slot_of(ChildObjects& objects, std::size_t index, char kind) {
  if (index >= objects.slots.size()) {
    fail(errc::wrong_object_kind, "ChildContext: no shared object at index " + std::to_string(index) + " (the child has " +
                                      std::to_string(objects.slots.size()) + ")");
  }
  ChildSlot& slot = objects.slots[index];
  if (slot.kind != kind) {
    fail(errc::wrong_object_kind, "ChildContext: object " + std::to_string(index) + " is of kind '" +
                                      std::string(1, slot.kind) + "', not '" + std::string(1, kind) + "'");
  }
  return slot;
}

}  // namespace

SharedSegment& ChildContext::segment(std::size_t index) { return slot_of(*objects_, index, 's').segment; }

InterprocessMutex& ChildContext::mutex(std::size_t index) { return *slot_of(*objects_, index, 'm').mutex; }

void* ChildContext::typed(std::size_t index, char kind, std::size_t element_size, MakeFn make, DestroyFn destroy) {
  ChildSlot& slot = slot_of(*objects_, index, kind);
  if (slot.element_size != element_size || (slot.typed && slot.make != make)) {
    fail(errc::wrong_object_kind, "ChildContext: object " + std::to_string(index) + " holds elements of " +
                                      std::to_string(slot.element_size) + " bytes, asked for another type");
  }
  if (!slot.typed) {
    slot.typed = std::unique_ptr<void, DestroyFn>(make(slot.segment, *slot.mutex), destroy);
    slot.make = make;
  }
  return slot.typed.get();
}

Child spawn_child(std::string_view entry, const std::vector<std::string>& args,
                  const std::vector<SharedObject>& objects, StartMethod method) {
  if (guard_marker_present() && !guard_passed.load()) fail(errc::missing_guard, guard_help);
  const ChildEntry found = find_entry(entry);
  if (found == nullptr) {
    fail(errc::unknown_entry, "spawn_child: no entry \"" + std::string(entry) + "\" is registered (INTERPROC_CHILD_ENTRY)");
  }
  ChildToken token{std::string(entry), {}};
  std::vector<native_handle> handles;  // also rejects moved-from objects and duplicates
  for (const SharedObject& object : objects) token.objects.push_back(token_object(object, handles));
  if (method == StartMethod::fork) return ChildContextAccess::fork(found, token.entry, objects, args);

  const std::string token_text = encode_token(token);
  std::vector<std::string> argv{executable_path(), std::string(child_flag) + token_text};
  argv.insert(argv.end(), args.begin(), args.end());
  return launch_executable(argv[0], argv, handles);
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
