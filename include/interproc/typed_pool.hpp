// SPDX-License-Identifier: MIT
#pragma once
// The typed ProcessPool calls (map, starmap, imap, imap_unordered, submit over C++ values)
// and INTERPROC_FUNCTION. Included by process_pool.hpp after ProcessPool; not on its own.
//
// A chunk of inputs travels as ONE string task whose argument is the codec encoding of the
// chunk; the worker decodes it, calls the function in a loop and encodes the results into one
// buffer, so each item costs its encoding, not a round trip.
#include <interproc/codec.hpp>

#include <cstddef>
#include <exception>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace interproc {
namespace detail {

template <class T>
using bare_t = std::remove_cv_t<std::remove_reference_t<T>>;

// What a registered function takes and returns; a leading TaskContext& is the pool's objects.
template <class R, class... A>
struct function_traits<R (*)(A...)> {
  using result = R;
  using args = std::tuple<bare_t<A>...>;
  static constexpr bool takes_context = false;
};
template <class R, class... A>
struct function_traits<R (*)(TaskContext&, A...)> {
  using result = R;
  using args = std::tuple<bare_t<A>...>;
  static constexpr bool takes_context = true;
};

// The encoded form of one input: the argument itself for one argument (so that a vector of
// longs is one memcpy), else the tuple of the arguments.
template <class Tuple>
struct item_of {
  using type = Tuple;
};
template <class A>
struct item_of<std::tuple<A>> {
  using type = A;
};
template <class F>
using item_t = typename item_of<typename function_traits<F>::args>::type;

template <auto Fn, class Item>
decltype(auto) call_with(TaskContext& ctx, Item& item) {
  using traits = function_traits<decltype(Fn)>;
  constexpr bool single = std::tuple_size_v<typename traits::args> == 1;
  if constexpr (single) {
    if constexpr (traits::takes_context)
      return Fn(ctx, item);
    else
      return Fn(item);
  } else if constexpr (traits::takes_context) {
    return std::apply([&ctx](auto&... a) -> decltype(auto) { return Fn(ctx, a...); }, item);
  } else {
    return std::apply([](auto&... a) -> decltype(auto) { return Fn(a...); }, item);
  }
}

// The worker side of a typed function: one chunk in, one buffer of results out.
template <auto Fn>
std::string run_typed_chunk(TaskContext& ctx) {
  using F = decltype(Fn);
  const auto items = decode<std::vector<item_t<F>>>(ctx.args().at(0));
  std::vector<result_t<F>> results;
  results.reserve(items.size());
  for (auto& item : const_cast<std::vector<item_t<F>>&>(items)) results.push_back(call_with<Fn>(ctx, item));
  std::string out;
  encode(out, results);
  return out;
}

// Function pointer to registered name, for the parent to find the task of a function.
inline std::map<void (*)(), std::string>& function_names() {
  static std::map<void (*)(), std::string> names;
  return names;
}

template <auto Fn>
bool register_function(const char* name) {
  using F = decltype(Fn);
  static_assert(std::is_pointer_v<F> && std::is_function_v<std::remove_pointer_t<F>>,
                "INTERPROC_FUNCTION takes the name of a function");
  static_assert(!std::is_void_v<result_t<F>>, "INTERPROC_FUNCTION: the function must return a value");
  static_assert(require_encodable<result_t<F>>::value && require_encodable<item_t<F>>::value);
  function_names().emplace(reinterpret_cast<void (*)()>(Fn), name);
  return register_task(name, &run_typed_chunk<Fn>);
}

template <class F>
const std::string& function_name(F fn) {
  const auto found = function_names().find(reinterpret_cast<void (*)()>(fn));
  if (found == function_names().end())
    throw std::system_error(make_error_code(errc::unknown_entry),
                            "ProcessPool: a function that no INTERPROC_FUNCTION registered");
  return found->second;
}

// Python's automatic chunksize: about four chunks per worker.
inline std::size_t auto_chunksize(std::size_t items, std::size_t workers) {
  const std::size_t parts = workers * 4;
  return items / parts + (items % parts != 0 ? 1 : 0);
}

template <class Item, class In>
Item to_item(const In& input) {
  if constexpr (std::is_constructible_v<Item, const In&>) {
    return Item(input);
  } else {
    return std::apply([](const auto&... a) { return Item(a...); }, input);  // a starmap tuple
  }
}

template <class F, class In>
std::vector<std::string> encode_chunks(const std::vector<In>& inputs, std::size_t chunksize) {
  std::vector<std::string> chunks;
  for (std::size_t begin = 0; begin < inputs.size(); begin += chunksize) {
    const std::size_t end = std::min(inputs.size(), begin + chunksize);
    std::vector<item_t<F>> items;
    items.reserve(end - begin);
    for (std::size_t i = begin; i < end; ++i) items.push_back(to_item<item_t<F>>(inputs[i]));
    std::string chunk;
    encode(chunk, items);
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

}  // namespace detail

/// The future of one typed task (ProcessPool::submit over a registered function): get()
/// returns its result, or throws as TaskFuture::get() does.
template <class R>
class TypedFuture {
 public:
  /// Wraps the string future of the task's chunk of one.
  explicit TypedFuture(TaskFuture future) : future_(std::move(future)) {}
  /// The result; throws as TaskFuture::get() does.
  R get() const { return std::move(decode<std::vector<R>>(future_.get()).at(0)); }
  /// Whether the result (or failure) has arrived.
  bool ready() const { return future_.ready(); }
  /// Waits up to `timeout` for the result; whether it arrived.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return future_.wait_for(timeout);
  }

 private:
  TaskFuture future_;
};

template <class F, class... A>
auto ProcessPool::submit(F* fn, A&&... args) -> TypedFuture<detail::result_t<F*>> {
  using Item = detail::item_t<F*>;
  std::vector<Item> one;
  one.push_back(Item(std::forward<A>(args)...));
  std::string chunk;
  encode(chunk, one);
  return TypedFuture<detail::result_t<F*>>(submit(detail::function_name(fn), {std::move(chunk)}));
}

template <class F, class In, class OnResult>
auto ProcessPool::typed_ordered(F* fn, const std::vector<In>& inputs, std::size_t chunksize, OnResult&& on_result)
    -> std::enable_if_t<std::is_function_v<F>> {
  using R = detail::result_t<F*>;
  const std::string& name = detail::function_name(fn);
  if (chunksize == 0) chunksize = detail::auto_chunksize(inputs.size(), size());
  std::vector<TaskFuture> futures;
  for (std::string& chunk : detail::encode_chunks<F*>(inputs, chunksize))
    futures.push_back(submit(name, {std::move(chunk)}));
  std::exception_ptr first_failure;
  for (const TaskFuture& future : futures) {
    try {
      for (R& result : decode<std::vector<R>>(future.get())) on_result(std::move(result));
    } catch (const std::system_error&) {
      if (!first_failure) first_failure = std::current_exception();
    }
  }
  if (first_failure) std::rethrow_exception(first_failure);
}

template <class F, class In>
auto ProcessPool::map(F* fn, const std::vector<In>& inputs, std::size_t chunksize)
    -> std::vector<detail::result_t<F*>> {
  std::vector<detail::result_t<F*>> results;
  results.reserve(inputs.size());
  typed_ordered(fn, inputs, chunksize, [&results](auto&& r) { results.push_back(std::forward<decltype(r)>(r)); });
  return results;
}

template <class F, class... T>
auto ProcessPool::starmap(F* fn, const std::vector<std::tuple<T...>>& inputs, std::size_t chunksize)
    -> std::vector<detail::result_t<F*>> {
  return map(fn, inputs, chunksize);
}

template <class F, class In, class OnResult>
auto ProcessPool::imap(F* fn, const std::vector<In>& inputs, OnResult on_result, std::size_t chunksize)
    -> std::enable_if_t<std::is_function_v<F>> {
  typed_ordered(fn, inputs, chunksize, [&on_result](auto&& r) { on_result(std::forward<decltype(r)>(r)); });
}

template <class F, class In, class OnResult>
auto ProcessPool::imap_unordered(F* fn, const std::vector<In>& inputs, OnResult on_result, std::size_t chunksize)
    -> std::enable_if_t<std::is_function_v<F>> {
  using R = detail::result_t<F*>;
  if (chunksize == 0) chunksize = detail::auto_chunksize(inputs.size(), size());
  std::vector<std::vector<std::string>> chunks;
  for (std::string& chunk : detail::encode_chunks<F*>(inputs, chunksize)) chunks.push_back({std::move(chunk)});
  imap_unordered(detail::function_name(fn), chunks, [&](std::size_t chunk, const std::string& bytes) {
    std::size_t index = chunk * chunksize;
    for (R& result : decode<std::vector<R>>(bytes)) on_result(index++, std::move(result));
  });
}

}  // namespace interproc

/// Registers function `fn` for the typed ProcessPool calls (map, submit, ...), under its name.
/// Use at namespace scope after the function:  long square(long x); INTERPROC_FUNCTION(square);
// fn is an identifier (pasted into a name too), so it takes no parentheses.
#define INTERPROC_FUNCTION(fn)                                            \
  [[maybe_unused]] static const bool interproc_function_registered_##fn = \
      ::interproc::detail::register_function<&fn>(#fn)  // NOLINT(bugprone-macro-parentheses)
