// SPDX-License-Identifier: MIT
// interproc::wait's sleep on Windows: WaitForMultipleObjects on the children's process
// handles (signalled when they end), at most MAXIMUM_WAIT_OBJECTS of them. A connection (a
// synchronous named pipe signals nothing) or a queue (a word) is looked at in slices.

#include "common/process_backend.hpp"
#include "common/wait_many.hpp"
#include "win32/win_util.hpp"

#include <windows.h>

#include <algorithm>
#include <thread>

namespace interproc::detail {

void sleep_on_any(const std::vector<Waitable>& objects, std::optional<Clock::time_point> deadline,
                  std::chrono::milliseconds slice) {
  std::vector<HANDLE> processes;
  bool sliced = false;
  for (const Waitable& w : objects) {
    const Child* child = w.child();
    if (child != nullptr && processes.size() < MAXIMUM_WAIT_OBJECTS) {
      processes.push_back(as_handle(ChildAccess::process(*child).handle.get()));
    } else {
      sliced = true;
    }
  }
  long long wait = -1;
  if (deadline)
    wait = std::max<long long>(0, std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count());
  if (sliced && (wait < 0 || wait > slice.count())) wait = slice.count();
  if (processes.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::max<long long>(wait, 0)));
    return;
  }
  const DWORD timeout = wait < 0 ? INFINITE : static_cast<DWORD>(std::min<long long>(wait, INFINITE - 1));
  if (::WaitForMultipleObjects(static_cast<DWORD>(processes.size()), processes.data(), FALSE, timeout) == WAIT_FAILED)
    fail_last_error("WaitForMultipleObjects", "interproc::wait");
}

}  // namespace interproc::detail
