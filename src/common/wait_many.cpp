// SPDX-License-Identifier: MIT
// interproc::wait, written once: look at every object, and sleep through the OS's seam
// (common/wait_many.hpp) until one may be ready. The slice for objects without a wake
// starts at 1 ms and doubles up to wait_slice, so that a short wait stays short.

#include "common/wait_many.hpp"

#include <gsl/assert>

#include <algorithm>

namespace interproc {
namespace detail {
namespace {

bool is_ready(const Waitable& w) {
  switch (w.kind()) {
    case Waitable::Kind::connection: return w.connection()->poll(std::chrono::milliseconds(0));
    case Waitable::Kind::child: return w.child()->wait_for(std::chrono::milliseconds(0)).has_value();
    case Waitable::Kind::queue:
      return w.queue_core() != nullptr ? queue_ready(*w.queue_core()) : record_queue_ready(*w.record_queue_core());
  }
  return false;
}

std::vector<Waitable> ready_ones(const std::vector<Waitable>& objects) {
  std::vector<Waitable> ready;
  for (const Waitable& w : objects) {
    if (is_ready(w)) ready.push_back(w);
  }
  return ready;
}

bool passed(std::optional<Clock::time_point> deadline) noexcept { return deadline && Clock::now() >= *deadline; }

}  // namespace
}  // namespace detail

std::vector<Waitable> wait(const std::vector<Waitable>& objects, std::chrono::milliseconds timeout) {
  const auto deadline = detail::deadline_after(timeout);
  std::vector<Waitable> numbered = objects;
  for (std::size_t i = 0; i < numbered.size(); ++i) {
    Expects(numbered[i].object() != nullptr);
    detail::WaitableAccess::set_index(numbered[i], i);
  }
  auto slice = std::chrono::milliseconds(1);
  for (;;) {
    std::vector<Waitable> ready = detail::ready_ones(numbered);
    if (!ready.empty() || detail::passed(deadline)) return ready;
    // A push to a queue of encoded items bumps its word before the item is in, so only a
    // fixed-slot queue alone can sleep on its word; the other takes slices.
    if (numbered.size() == 1 && numbered[0].queue_core() != nullptr) {
      detail::sleep_on_queue(*numbered[0].queue_core(), deadline);
      continue;
    }
    detail::sleep_on_any(numbered, deadline, slice);
    slice = std::min(slice * 2, detail::wait_slice);
  }
}

}  // namespace interproc
