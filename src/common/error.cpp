// SPDX-License-Identifier: MIT
#include <interproc/error.hpp>

namespace interproc {
namespace {

class ErrorCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "interproc"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_size: return "invalid segment size";
      case errc::invalid_name: return "invalid name";
      case errc::name_too_long: return "name too long";
      case errc::bad_handle_argument: return "malformed or forged child token";
      case errc::unknown_entry: return "no child entry registered under that name";
      case errc::wrong_object_kind: return "shared object of another kind";
      case errc::missing_guard: return "interproc::child_main() guard missing";
      case errc::not_supported: return "not supported on this OS";
      case errc::recursive_lock: return "mutex already locked by this thread";
      case errc::not_owner: return "mutex not held by this thread";
      case errc::invalid_argument: return "invalid spawn_child argument";
      case errc::foreign_object: return "not an interproc object of this user";
      case errc::not_ready: return "named object not ready yet";
      case errc::count_overflow: return "semaphore count overflow";
      case errc::closed: return "closed";
      case errc::task_failed: return "task failed";
      case errc::child_lost: return "child lost with its fork server";
      case errc::invalid_message: return "invalid encoded message";
      case errc::pool_broken: return "process pool broken";
      case errc::message_too_large: return "message too large";
      case errc::type_mismatch: return "message of another type";
      case errc::broken_barrier: return "barrier broken";
      case errc::unfinished_tasks: return "items left unfinished by a dead consumer";
    }
    return "unknown interproc error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const ErrorCategory category;
  return category;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

}  // namespace interproc
