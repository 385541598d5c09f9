// SPDX-License-Identifier: MIT
// A program that forgets the guard: main() never calls interproc::child_main(). Its
// spawn-style child therefore re-runs this parent code and calls spawn_child() again; the
// library must refuse that with errc::missing_guard instead of starting a process storm.
// Exit 0 when the child got exactly that error.
#include <interproc/interproc.hpp>

#include <cstdio>
#include <cstring>

INTERPROC_CHILD_ENTRY(never_reached) { return 0; }

constexpr int caught_missing_guard = 3;
constexpr int spawned_anyway = 4;

// With StartMethod::forkserver the server is what re-runs main(): it never reaches the
// guard, so the parent's spawn_child reports errc::missing_guard itself. Exit 0 then (and
// on Windows, which refuses the method).
int forkserver_in_parent() {
  try {
    interproc::spawn_child("never_reached", {}, {}, interproc::StartMethod::forkserver).wait();
    std::printf("the fork server started without the guard\n");
    return 1;
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "parent: %s\n", e.what());
    if (e.code() == interproc::errc::not_supported) return 0;
    return e.code() == interproc::errc::missing_guard && std::strstr(e.what(), "return *code") ? 0 : 1;
  }
}

int main(int argc, char** argv) {
  const bool re_executed = interproc::is_spawned_child(argc, argv);
  if (!re_executed && argc > 1 && std::strcmp(argv[1], "forkserver") == 0) return forkserver_in_parent();
  try {
    interproc::Child child = interproc::spawn_child("never_reached");
    const int code = child.wait();
    if (re_executed) return spawned_anyway;
    std::printf("child exit code %d (expected %d)\n", code, caught_missing_guard);
    return code == caught_missing_guard ? 0 : 1;
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "%s: %s\n", re_executed ? "child" : "parent", e.what());
    const bool is_guard_error = e.code() == interproc::errc::missing_guard && std::strstr(e.what(), "child_main") &&
                                std::strstr(e.what(), "return *code");
    if (re_executed && is_guard_error) return caught_missing_guard;
    return 1;
  }
}
