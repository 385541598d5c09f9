// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// SharedValue and SharedArray: typed shared data with its own lock.
#include <interproc/interprocess_mutex.hpp>
#include <interproc/open_or_create.hpp>
#include <interproc/shared_segment.hpp>
#include <interproc/type_fingerprint.hpp>

#include <gsl/assert>
#include <gsl/span>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace interproc {

/// Longest name of a named SharedValue or SharedArray: its lock is the named mutex
/// `name + ".lock"`, which must itself fit in max_name_length.
inline constexpr std::size_t max_data_name_length = max_name_length - 5;

namespace detail {
struct SharedDataAccess;

// A named SharedValue's or SharedArray's parts: the data is the named segment `name`, its
// lock the named mutex `name.lock`.
struct NamedData {
  SharedSegment data;
  InterprocessMutex lock;
};

// Checks the name of a named SharedValue/SharedArray (SharedSegment's rules, at most
// max_data_name_length characters) and returns its lock's name.
INTERPROC_EXPORT std::string data_lock_name(std::string_view name);
// The data segment of create_named_data, tagged with its kind and element type: created
// exclusively, or on failure the lock's name (which that call has just created) is removed
// before the error goes on.
INTERPROC_EXPORT SharedSegment create_data_segment(std::string_view name, std::size_t bytes,
                                                   const std::string& lock_name, std::uint64_t fingerprint, bool array);
// open_named: the data first (its name exists only once its creator holds the lock), checked
// to be of this kind (errc::foreign_object) and element type (errc::wrong_object_kind) and to
// hold exactly one element (or, for an array, a non-zero number of them), then the lock,
// taken once to wait for the creator's first value.
INTERPROC_EXPORT NamedData open_named_data(std::string_view name, std::size_t element_size, std::uint64_t fingerprint,
                                           bool array);
// remove_named: removes the data's and the lock's names; true if the data's existed.
INTERPROC_EXPORT bool remove_named_data(std::string_view name);

// NameLifetime::creator for the value or array `name` just made: its data's and its lock's
// names go with this process. Throws (having removed both names) if the watcher cannot start.
INTERPROC_EXPORT void data_lives_with_creator(std::string_view name);

// create_named: the lock is created and held while the data is created and `init` writes its
// first value, so an opener (open_named_data) never sees the data before that value.
template <class Init>
NamedData create_named_data(std::string_view name, std::size_t bytes, std::uint64_t fingerprint, bool array,
                            NameLifetime lifetime, Init init) {
  const std::string lock_name = data_lock_name(name);
  InterprocessMutex lock = InterprocessMutex::create_named(lock_name);
  std::unique_lock<InterprocessMutex> hold(lock);
  SharedSegment data = create_data_segment(name, bytes, lock_name, fingerprint, array);
  init(data);
  hold.unlock();
  if (lifetime == NameLifetime::creator) data_lives_with_creator(name);
  return NamedData{std::move(data), std::move(lock)};
}
}  // namespace detail

/// Python's multiprocessing.Value: one T in shared memory with its own lock.
/// T must be trivially copyable: it is shared as raw bytes, with no constructor or
/// destructor run in the other processes. Move-only. Pass it to a child with spawn_child.
template <class T>
class SharedValue {
  static_assert(std::is_trivially_copyable_v<T>, "SharedValue<T> needs a trivially copyable T");

 public:
  /// A new shared T holding `initial`, with a new lock. Throws as SharedSegment::create()
  /// and InterprocessMutex::create().
  static SharedValue create(T initial = T{}) {
    SharedValue v(SharedSegment::create(sizeof(T)), InterprocessMutex::create());
    ::new (v.data_.bytes().data()) T(initial);
    return v;
  }

  /// A new shared T holding `initial` that unrelated processes find by `name`: the data is the
  /// named segment `name`, its lock the named mutex `name + ".lock"` (see
  /// SharedSegment::create_named and InterprocessMutex::create_named), both created
  /// exclusively and owner-only. An opener sees the data only once `initial` is in it.
  /// `lifetime`: see NameLifetime (both names follow it).
  /// Throws std::system_error: errc::invalid_name, errc::name_too_long (more than
  /// max_data_name_length characters), std::errc::file_exists when either name is taken (a
  /// failed create removes what it created), or the OS error with the call named.
  static SharedValue create_named(std::string_view name, T initial = T{},
                                  NameLifetime lifetime = NameLifetime::persistent) {
    detail::NamedData parts =
        detail::create_named_data(name, sizeof(T), detail::type_fingerprint<T>(), false, lifetime,
                                  [&](SharedSegment& data) { ::new (data.bytes().data()) T(initial); });
    return SharedValue(std::move(parts.data), std::move(parts.lock));
  }

  /// The existing named value `name`, as create_named() made it; waits while its creator
  /// writes the first value (by taking the lock once: errc::recursive_lock if the calling
  /// thread holds it already). If that creator died first, the lock reports owner_died.
  /// Throws std::system_error: errc::invalid_name, errc::name_too_long,
  /// std::errc::no_such_file_or_directory when the value or its lock is missing,
  /// errc::wrong_object_kind when its data is not a T (another type, even of the same size),
  /// errc::foreign_object when the name is not a SharedValue's (an array's, a queue's, an
  /// event's, a plain segment's), errc::not_ready and errc::foreign_object as
  /// SharedSegment::open_named and InterprocessMutex::open_named do,
  /// or the OS error with the call named.
  static SharedValue open_named(std::string_view name) {
    detail::NamedData parts = detail::open_named_data(name, sizeof(T), detail::type_fingerprint<T>(), false);
    return SharedValue(std::move(parts.data), std::move(parts.lock));
  }

  /// Removes the names of the value `name` and of its lock; processes that have it keep it.
  /// True if the value existed (Windows: as SharedSegment::remove_named, only whether one is
  /// open). Throws std::system_error with errc::invalid_name / errc::name_too_long, or the OS
  /// error with the call named.
  static bool remove_named(std::string_view name) { return detail::remove_named_data(name); }

  /// The value `name`, made holding `initial` if there is none (see
  /// SharedSegment::open_or_create; a value found keeps what it holds).
  static SharedValue open_or_create(std::string_view name, T initial = T{}) {
    return detail::open_or_create_named([&] { return create_named(name, initial); }, [&] { return open_named(name); });
  }

  /// The shared object. Read and write it while holding get_lock(), or use with_lock().
  T& value() const noexcept { return *std::launder(reinterpret_cast<T*>(data_.bytes().data())); }
  /// The lock that guards value().
  InterprocessMutex& get_lock() noexcept { return lock_; }

  /// This value to pass to a child read-only (see SharedSegment::read_only): the child's
  /// value() may be read, a store to it faults. Its lock stays a working lock, so that the
  /// child can read under get_lock() / with_lock() while writers hold it.
  ReadOnlyShare<SharedValue> read_only() const noexcept { return {this}; }
  /// True for a value a child received read-only.
  bool is_read_only() const noexcept { return data_.is_read_only(); }

  /// Runs fn(value()) under the lock and returns what fn returns.
  template <class Fn>
  decltype(auto) with_lock(Fn&& fn) {
    std::lock_guard<InterprocessMutex> hold(lock_);
    return std::forward<Fn>(fn)(value());
  }

 private:
  friend struct detail::SharedDataAccess;
  SharedValue(SharedSegment data, InterprocessMutex lock) : data_(std::move(data)), lock_(std::move(lock)) {}

  SharedSegment data_;
  InterprocessMutex lock_;
};

/// Python's multiprocessing.Array: n zero-initialised T in shared memory with one lock.
/// T must be trivially copyable, as for SharedValue. Move-only.
template <class T>
class SharedArray {
  static_assert(std::is_trivially_copyable_v<T>, "SharedArray<T> needs a trivially copyable T");

 public:
  /// `n` zero-initialised elements with a new lock. Throws errc::invalid_size for n == 0 or
  /// n * sizeof(T) overflowing.
  static SharedArray create(std::size_t n) {
    return SharedArray(SharedSegment::create(checked_bytes(n)), InterprocessMutex::create());
  }

  /// `n` zero-initialised elements that unrelated processes find by `name`, stored as
  /// SharedValue::create_named stores its value (data `name`, lock `name + ".lock"`).
  /// Throws as SharedValue::create_named, and errc::invalid_size as create().
  static SharedArray create_named(std::string_view name, std::size_t n,
                                  NameLifetime lifetime = NameLifetime::persistent) {
    detail::NamedData parts = detail::create_named_data(name, checked_bytes(n), detail::type_fingerprint<T>(), true,
                                                        lifetime, [](SharedSegment&) {});
    return SharedArray(std::move(parts.data), std::move(parts.lock));
  }

  /// The existing named array `name`; size() is its creator's n. Throws as
  /// SharedValue::open_named, with errc::wrong_object_kind when its elements are not T or
  /// its data is not a non-zero multiple of sizeof(T) bytes.
  static SharedArray open_named(std::string_view name) {
    detail::NamedData parts = detail::open_named_data(name, sizeof(T), detail::type_fingerprint<T>(), true);
    return SharedArray(std::move(parts.data), std::move(parts.lock));
  }

  /// Removes the names of the array `name` and of its lock, as SharedValue::remove_named.
  static bool remove_named(std::string_view name) { return detail::remove_named_data(name); }

  /// The array `name`, made with `n` zeroed elements if there is none (see
  /// SharedSegment::open_or_create; an array found keeps its own size()).
  static SharedArray open_or_create(std::string_view name, std::size_t n) {
    return detail::open_or_create_named([&] { return create_named(name, n); }, [&] { return open_named(name); });
  }

  /// The shared elements. Read and write them while holding get_lock(), or use with_lock().
  gsl::span<T> span() const noexcept {
    return {std::launder(reinterpret_cast<T*>(data_.bytes().data())), data_.size() / sizeof(T)};
  }
  /// The number of elements.
  std::size_t size() const noexcept { return data_.size() / sizeof(T); }
  /// The lock that guards span().
  InterprocessMutex& get_lock() noexcept { return lock_; }

  /// This array to pass to a child read-only, as SharedValue::read_only: the elements are
  /// read-only in the child, the lock is not.
  ReadOnlyShare<SharedArray> read_only() const noexcept { return {this}; }
  /// True for an array a child received read-only.
  bool is_read_only() const noexcept { return data_.is_read_only(); }

  /// Runs fn(span()) under the lock and returns what fn returns.
  template <class Fn>
  decltype(auto) with_lock(Fn&& fn) {
    std::lock_guard<InterprocessMutex> hold(lock_);
    return std::forward<Fn>(fn)(span());
  }

 private:
  friend struct detail::SharedDataAccess;
  SharedArray(SharedSegment data, InterprocessMutex lock) : data_(std::move(data)), lock_(std::move(lock)) {}

  static std::size_t checked_bytes(std::size_t n) {
    // n > max / sizeof(T) would overflow; create() then reports invalid_size for 0.
    return n > static_cast<std::size_t>(-1) / sizeof(T) ? static_cast<std::size_t>(-1) : n * sizeof(T);
  }

  SharedSegment data_;
  InterprocessMutex lock_;
};

}  // namespace interproc
