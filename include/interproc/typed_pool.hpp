// SPDX-License-Identifier: MIT
#pragma once
// The typed ProcessPool calls (map, starmap, imap, imap_unordered, submit over C++ values)
// and INTERPROC_FUNCTION. Included by process_pool.hpp after ProcessPool; not on its own.
//
// A chunk of inputs travels as ONE string task whose argument is the codec encoding of the
// chunk; the worker decodes it, calls the function in a loop and encodes the results into one
// buffer, so each item costs its encoding, not a round trip.
#include <interproc/codec.hpp>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <future>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
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

template <class T>
constexpr bool is_raw_v = is_raw_encodable_v<T> && !std::is_same_v<T, bool>;

// The worker side of a typed function: one chunk in, its results out, each item decoded
// in place and each result encoded straight into `out` (the encoding of a std::vector: a
// count, then the items).
template <auto Fn>
void run_typed_chunk(TaskContext& ctx, std::string_view chunk, ByteBuffer& out) {
  using F = decltype(Fn);
  using R = result_t<F>;
  Reader in(chunk);
  const std::size_t count = in.read_count(is_raw_v<item_t<F>> ? sizeof(item_t<F>) : 1);
  if constexpr (is_raw_v<R>) out.reserve(sizeof(std::uint64_t) + count * sizeof(R));
  Writer<ByteBuffer> w(out);
  w.write_count(count);
  for (std::size_t i = 0; i < count; ++i) {
    item_t<F> item = decode<item_t<F>>(in);
    encode(w, static_cast<const R&>(call_with<Fn>(ctx, item)));
  }
  if (in.remaining() != 0) Reader::fail("bytes left over after the value");
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
  return register_chunk_function(name, &run_typed_chunk<Fn>);
}

// The type of `T` as the compiler spells it ("long int (*)(long int)"), for messages.
template <class T>
std::string type_name() {
#if defined(_MSC_VER) && !defined(__clang__)
  const std::string_view text = __FUNCSIG__;  // "... type_name<long(__cdecl *)(long)>(void)"
  const std::size_t begin = text.find("type_name<") + 10, end = text.rfind(">(");
#else
  const std::string_view text = __PRETTY_FUNCTION__;  // "... [with T = long int (*)(long int); ...]"
  const std::size_t begin = text.find("T = ") + 4, end = text.find_first_of(";]", begin);
#endif
  return begin < end && end != std::string_view::npos ? std::string(text.substr(begin, end - begin)) : "?";
}

// The registered name of `fn`; errc::unknown_entry, naming its type and address, for a
// function no INTERPROC_FUNCTION registered (C++ cannot tell a function's name from a pointer).
template <class F>
const std::string& function_name(F fn, const char* call) {
  const auto found = function_names().find(reinterpret_cast<void (*)()>(fn));
  if (found == function_names().end()) {
    char address[32];
    std::snprintf(address, sizeof address, "%p", reinterpret_cast<const void*>(fn));
    throw std::system_error(make_error_code(errc::unknown_entry),
                            std::string(call) + ": the function " + type_name<F>() + " at " + address +
                                " was never registered: add INTERPROC_FUNCTION(its name) after it");
  }
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

// The payload of one input fn(args...): a chunk of one.
template <class F, class... A>
ByteBuffer encode_one(A&&... args) {
  const item_t<F> item(std::forward<A>(args)...);
  ByteBuffer payload;
  payload.reserve(sizeof(std::uint64_t) + encoded_size(item));
  Writer<ByteBuffer> w(payload);
  w.write_count(1);
  encode(w, item);
  return payload;
}

// The payload of inputs [begin, end): the encoding of their std::vector<item>, written
// straight from the inputs into a buffer of its exact size (one memcpy when they are the
// items and raw).
template <class F, class In>
void encode_chunk_into(ByteBuffer& payload, const std::vector<In>& inputs, std::size_t begin, std::size_t end) {
  using Item = item_t<F>;
  Writer<ByteBuffer> w(payload);
  if constexpr (std::is_same_v<In, Item> && is_raw_v<Item>) {
    payload.reserve(sizeof(std::uint64_t) + (end - begin) * sizeof(Item));
    w.write_count(end - begin);
    w.write(inputs.data() + begin, (end - begin) * sizeof(Item));
  } else if constexpr (std::is_same_v<In, Item>) {
    std::size_t size = sizeof(std::uint64_t);
    for (std::size_t i = begin; i < end; ++i) size += encoded_size(inputs[i]);
    payload.reserve(size);
    w.write_count(end - begin);
    for (std::size_t i = begin; i < end; ++i) encode(w, inputs[i]);
  } else {
    w.write_count(end - begin);
    for (std::size_t i = begin; i < end; ++i) encode(w, to_item<Item>(inputs[i]));
  }
}

template <class F, class In>
ByteBuffer encode_chunk(const std::vector<In>& inputs, std::size_t begin, std::size_t end) {
  ByteBuffer payload;
  encode_chunk_into<F>(payload, inputs, begin, end);
  return payload;
}

template <class Callback, class... X>
void call_quietly(Callback& callback, const X&... x) noexcept {
  try {
    callback(x...);
  } catch (...) {  // documented: a callback's exception is dropped, the pool goes on
  }
}

// The end of a typed submit(): decodes the result, calls the callback, then fulfils the promise.
template <class R, class OnResult, class OnError>
TaskEnd deliver_one(std::shared_ptr<std::promise<R>> promise, OnResult callback, OnError error_callback) {
  return [promise, callback, error_callback](const std::string_view* bytes, std::exception_ptr failure) mutable {
    std::optional<R> value;
    if (!failure) {
      try {
        value.emplace(std::move(decode<std::vector<R>>(*bytes).at(0)));
      } catch (...) {
        failure = std::current_exception();
      }
    }
    if (value) {
      call_quietly(callback, *value);
      promise->set_value(std::move(*value));
      return;
    }
    try {
      std::rethrow_exception(failure);
    } catch (const std::system_error& e) {
      call_quietly(error_callback, e);
    } catch (...) {
    }
    promise->set_exception(failure);
  };
}

// The chunks of one typed map, imap or map_async, as they arrive on the collector thread
// (or a get()'s),
// each decoded there in place; the caller takes them in input order or as they came, or, for
// map_async, the last one assembles the results in input order (or gives the first failure
// in input order).
template <class R>
class ChunkJob {
 public:
  ChunkJob(std::size_t chunks, bool assembles, std::shared_ptr<PoolTap> tap)
      : parts_(chunks), failures_(chunks), arrived_(chunks, false), assembles_(assembles), tap_(std::move(tap)) {
    if (assembles_ && chunks == 0) promise_.set_value({});
  }

  void arrive(std::size_t chunk, const std::string_view* bytes, std::exception_ptr failure) {
    std::vector<R> part;
    if (!failure) {
      try {
        part = decode<std::vector<R>>(*bytes);
      } catch (...) {
        failure = std::current_exception();
      }
    }
    std::lock_guard<std::mutex> hold(mutex_);
    parts_[chunk] = std::move(part);
    failures_[chunk] = failure;
    arrived_[chunk] = true;
    order_.push_back(chunk);
    changed_.notify_all();
    if (assembles_ && order_.size() == parts_.size()) assemble();
  }

  std::size_t chunks() const noexcept { return parts_.size(); }
  // Waits for `chunk`; its failure, if it failed.
  std::exception_ptr wait(std::size_t chunk) {
    std::unique_lock<std::mutex> hold = await([&] { return arrived_[chunk]; });
    return failures_[chunk];
  }
  // Waits for the next chunk to arrive (each once, in arrival order); its index.
  std::size_t next() {
    std::unique_lock<std::mutex> hold = await([&] { return taken_ < order_.size(); });
    return order_[taken_++];
  }
  // The results of an arrived chunk, moved out.
  std::vector<R> take(std::size_t chunk) {
    std::lock_guard<std::mutex> hold(mutex_);
    return std::move(parts_[chunk]);
  }
  std::shared_future<std::vector<R>> future() { return promise_.get_future().share(); }
  // Runs `write` (which reads the caller's inputs) unless the call that made this job has
  // returned, after which its chunks fail with errc::closed.
  template <class Write>
  void write_inputs(Write&& write) {
    std::lock_guard<std::mutex> hold(mutex_);
    if (abandoned_) {
      throw std::system_error(make_error_code(errc::closed), "the call that made this chunk has returned");
    }
    write();
  }
  void abandon() noexcept {
    std::lock_guard<std::mutex> hold(mutex_);
    abandoned_ = true;
  }

 private:
  // Takes results itself for a moment, then sleeps, until `ready` (read under the lock);
  // returns holding the lock.
  template <class Ready>
  std::unique_lock<std::mutex> await(Ready ready) {
    take_results_until(tap_.get(), [&] {
      std::lock_guard<std::mutex> look(mutex_);
      return ready();
    });
    std::unique_lock<std::mutex> hold(mutex_);
    changed_.wait(hold, ready);
    return hold;
  }

  void assemble() {
    for (const std::exception_ptr& failure : failures_) {
      if (failure) return promise_.set_exception(failure);
    }
    std::vector<R> results;
    std::size_t total = 0;
    for (const std::vector<R>& part : parts_) total += part.size();
    results.reserve(total);
    for (std::vector<R>& part : parts_) std::move(part.begin(), part.end(), std::back_inserter(results));
    promise_.set_value(std::move(results));
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::vector<R>> parts_;
  std::vector<std::exception_ptr> failures_;
  std::vector<bool> arrived_;
  std::vector<std::size_t> order_;  // chunks in the order they arrived
  std::size_t taken_ = 0;           // of order_, by next()
  bool assembles_;
  bool abandoned_ = false;
  std::shared_ptr<PoolTap> tap_;  // for a waiting caller to take results itself
  std::promise<std::vector<R>> promise_;
};

// Abandons a job when the call that reads its inputs returns, however it returns (unless
// told to keep it).
template <class R>
struct AbandonOnReturn {
  explicit AbandonOnReturn(std::shared_ptr<ChunkJob<R>> abandoned) noexcept : job(std::move(abandoned)) {}
  AbandonOnReturn(const AbandonOnReturn&) = delete;
  AbandonOnReturn& operator=(const AbandonOnReturn&) = delete;
  ~AbandonOnReturn() {
    if (job) job->abandon();
  }
  void keep() noexcept { job = nullptr; }
  std::shared_ptr<ChunkJob<R>> job;
};

}  // namespace detail

/// The future of a typed task (ProcessPool::submit over a registered function) or of a whole
/// map_async: get() returns its result, or throws as TaskFuture::get() does. Copyable; get()
/// may be called more than once.
template <class R>
class TypedFuture {
 public:
  /// Wraps the future the pool fulfils; get() takes results from `tap` for a moment before
  /// it sleeps.
  explicit TypedFuture(std::shared_future<R> future, std::shared_ptr<detail::PoolTap> tap = {})
      : future_(std::move(future)), tap_(std::move(tap)) {}
  /// The result (a copy); throws as TaskFuture::get() does.
  R get() const {
    detail::take_results_until_ready(tap_.get(), future_);
    return future_.get();
  }
  /// Whether the result (or failure) has arrived.
  bool ready() const { return future_.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }
  /// Waits up to `timeout` for the result; whether it arrived.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return future_.wait_for(timeout) == std::future_status::ready;
  }

 private:
  std::shared_future<R> future_;
  std::shared_ptr<detail::PoolTap> tap_;
};

template <class F, class... A>
PoolInitializer pool_initializer(F* fn, A&&... args) {
  return PoolInitializer{detail::function_name(fn, "pool_initializer"),
                         std::string(detail::encode_one<F*>(std::forward<A>(args)...).view())};
}

template <class F, class... A>
auto ProcessPool::submit(F* fn, A&&... args) -> TypedFuture<detail::result_t<F*>> {
  return submit(fn, std::forward_as_tuple(std::forward<A>(args)...), detail::ignore_t{});
}

template <class F, class... T, class OnResult, class OnError>
auto ProcessPool::submit(F* fn, std::tuple<T...> args, OnResult callback, OnError error_callback)
    -> std::enable_if_t<std::is_invocable_v<OnResult&, const detail::result_t<F*>&>,
                        TypedFuture<detail::result_t<F*>>> {
  using R = detail::result_t<F*>;
  const std::string& name = detail::function_name(fn, "ProcessPool::submit");
  detail::ByteBuffer chunk =
      std::apply([](auto&&... a) { return detail::encode_one<F*>(std::forward<decltype(a)>(a)...); }, std::move(args));
  auto promise = std::make_shared<std::promise<R>>();
  TypedFuture<R> future(promise->get_future().share(), result_tap());
  submit_chunk(name, std::move(chunk), detail::deliver_one<R>(promise, std::move(callback), std::move(error_callback)));
  return future;
}

template <class F, class In>
auto ProcessPool::start_job(F* fn, const std::vector<In>& inputs, std::size_t chunksize, const char* call,
                            bool assembles) -> std::shared_ptr<detail::ChunkJob<detail::result_t<F*>>> {
  using R = detail::result_t<F*>;
  const std::string& name = detail::function_name(fn, call);
  check_accepting(call);
  const std::size_t chunks = (inputs.size() + chunksize - 1) / chunksize;
  auto job = std::make_shared<detail::ChunkJob<R>>(chunks, assembles, result_tap());
  // A submission that fails (another thread closed the pool) leaves none reading the inputs.
  detail::AbandonOnReturn<R> abandon_on_failure(job);
  for (std::size_t c = 0; c < chunks; ++c) {
    const std::size_t begin = c * chunksize, end = std::min(inputs.size(), begin + chunksize);
    auto arrive = [job, c](const std::string_view* bytes, std::exception_ptr failure) {
      job->arrive(c, bytes, failure);
    };
    if (assembles) {  // map_async: the inputs may be gone before a worker takes the chunk
      submit_chunk(name, detail::encode_chunk<F*>(inputs, begin, end), std::move(arrive));
      continue;
    }
    // The caller waits for every chunk, and abandons the job when it returns.
    submit_chunk(
        name,
        [job, &inputs, begin, end](detail::ByteBuffer& out) {
          job->write_inputs([&] { detail::encode_chunk_into<F*>(out, inputs, begin, end); });
        },
        std::move(arrive));
  }
  abandon_on_failure.keep();
  return job;
}

template <class F, class In>
auto ProcessPool::map_async(F* fn, const std::vector<In>& inputs, std::size_t chunksize)
    -> TypedFuture<std::vector<detail::result_t<F*>>> {
  chunksize = chunk_size_for(inputs.size(), chunksize);
  auto job = start_job(fn, inputs, chunksize, "ProcessPool::map_async", true);
  return TypedFuture<std::vector<detail::result_t<F*>>>(job->future(), result_tap());
}

template <class F, class... T>
auto ProcessPool::starmap_async(F* fn, const std::vector<std::tuple<T...>>& inputs, std::size_t chunksize)
    -> TypedFuture<std::vector<detail::result_t<F*>>> {
  return map_async(fn, inputs, chunksize);
}

// Calls on_chunk_error for a failed chunk when there is one, else keeps the first failure.
inline void ProcessPool::report_chunk_failure(const std::exception_ptr& failure, std::size_t begin, std::size_t end,
                                              const ChunkError& on_chunk_error, std::exception_ptr& first_failure) {
  if (on_chunk_error) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::system_error& e) {
      return on_chunk_error(begin, end, e);
    } catch (...) {
    }
  }
  if (!first_failure) first_failure = failure;
}

template <class F, class In, class OnResult>
auto ProcessPool::typed_ordered(F* fn, const std::vector<In>& inputs, std::size_t chunksize, OnResult&& on_result,
                                const ChunkError& on_chunk_error) -> std::enable_if_t<std::is_function_v<F>> {
  chunksize = chunk_size_for(inputs.size(), chunksize);
  const auto job = start_job(fn, inputs, chunksize, "ProcessPool::map", false);
  const detail::AbandonOnReturn<detail::result_t<F*>> abandon{job};
  std::exception_ptr first_failure;
  for (std::size_t c = 0; c < job->chunks(); ++c) {
    if (const std::exception_ptr failure = job->wait(c)) {
      report_chunk_failure(failure, c * chunksize, std::min(inputs.size(), (c + 1) * chunksize), on_chunk_error,
                           first_failure);
      continue;
    }
    for (auto& result : job->take(c)) on_result(std::move(result));
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

template <class F, class In, class OnResult, class OnError, std::enable_if_t<!std::is_integral_v<OnError>, int>>
auto ProcessPool::imap(F* fn, const std::vector<In>& inputs, OnResult on_result, OnError on_error,
                       std::size_t chunksize) -> std::enable_if_t<std::is_function_v<F>> {
  typed_ordered(
      fn, inputs, chunksize, [&on_result](auto&& r) { on_result(std::forward<decltype(r)>(r)); },
      [&on_error](std::size_t begin, std::size_t end, const std::system_error& e) {
        for (std::size_t i = begin; i < end; ++i) on_error(i, e);
      });
}

template <class F, class In, class OnResult>
auto ProcessPool::imap_unordered(F* fn, const std::vector<In>& inputs, OnResult on_result, std::size_t chunksize)
    -> std::enable_if_t<std::is_function_v<F>> {
  typed_unordered(fn, inputs, on_result, chunksize, {});
}

template <class F, class In, class OnResult, class OnError, std::enable_if_t<!std::is_integral_v<OnError>, int>>
auto ProcessPool::imap_unordered(F* fn, const std::vector<In>& inputs, OnResult on_result, OnError on_error,
                                 std::size_t chunksize) -> std::enable_if_t<std::is_function_v<F>> {
  typed_unordered(fn, inputs, on_result, chunksize,
                  [&on_error](std::size_t begin, std::size_t end, const std::system_error& e) {
                    for (std::size_t i = begin; i < end; ++i) on_error(i, e);
                  });
}

template <class F, class In, class OnResult>
void ProcessPool::typed_unordered(F* fn, const std::vector<In>& inputs, OnResult& on_result, std::size_t chunksize,
                                  const ChunkError& on_chunk_error) {
  chunksize = chunk_size_for(inputs.size(), chunksize);
  const auto job = start_job(fn, inputs, chunksize, "ProcessPool::imap_unordered", false);
  const detail::AbandonOnReturn<detail::result_t<F*>> abandon{job};
  std::exception_ptr first_failure;
  for (std::size_t seen = 0; seen < job->chunks(); ++seen) {
    const std::size_t c = job->next();
    if (const std::exception_ptr failure = job->wait(c)) {
      report_chunk_failure(failure, c * chunksize, std::min(inputs.size(), (c + 1) * chunksize), on_chunk_error,
                           first_failure);
      continue;
    }
    std::size_t index = c * chunksize;
    for (auto& result : job->take(c)) on_result(index++, std::move(result));
  }
  if (first_failure) std::rethrow_exception(first_failure);
}

}  // namespace interproc

/// Registers function `fn` for the typed ProcessPool calls (map, submit, ...), under its name.
/// Use at namespace scope after the function:  long square(long x); INTERPROC_FUNCTION(square);
// fn is an identifier (pasted into a name too), so it takes no parentheses.
#define INTERPROC_FUNCTION(fn)                                            \
  [[maybe_unused]] static const bool interproc_function_registered_##fn = \
      ::interproc::detail::register_function<&fn>(#fn)  // NOLINT(bugprone-macro-parentheses)
