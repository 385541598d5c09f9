// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// SharedValue and SharedArray: typed shared data with its own lock.
#include <interproc/interprocess_mutex.hpp>
#include <interproc/shared_segment.hpp>

#include <gsl/assert>
#include <gsl/span>

#include <cstddef>
#include <mutex>
#include <new>
#include <type_traits>
#include <utility>

namespace interproc {

namespace detail {
struct SharedDataAccess;
}

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

  /// The shared object. Read and write it while holding get_lock(), or use with_lock().
  T& value() const noexcept { return *std::launder(reinterpret_cast<T*>(data_.bytes().data())); }
  /// The lock that guards value().
  InterprocessMutex& get_lock() noexcept { return lock_; }

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

  /// The shared elements. Read and write them while holding get_lock(), or use with_lock().
  gsl::span<T> span() const noexcept {
    return {std::launder(reinterpret_cast<T*>(data_.bytes().data())), data_.size() / sizeof(T)};
  }
  /// The number of elements.
  std::size_t size() const noexcept { return data_.size() / sizeof(T); }
  /// The lock that guards span().
  InterprocessMutex& get_lock() noexcept { return lock_; }

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
