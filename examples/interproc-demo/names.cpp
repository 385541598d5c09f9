// SPDX-License-Identifier: MIT
// `interproc-demo names`: the names interproc objects hold in /dev/shm, and the removal of
// those whose creator has died (interproc/names.hpp), the cleanup after crashed programs.
#include "demo.hpp"
#include "options.hpp"

#include <interproc/names.hpp>

#include <iomanip>
#include <iostream>
#include <string>

namespace demo {
namespace {

void print_names(const std::string& prefix) {
  std::cout << std::left << std::setw(32) << "NAME" << std::setw(9) << "KIND" << std::setw(12) << "SIZE"
            << "CREATOR\n";
  for (const interproc::NameInUse& name : interproc::names_in_use()) {
    if (name.name.compare(0, prefix.size(), prefix) != 0) continue;
    std::cout << std::setw(32) << name.name << std::setw(9) << name.kind << std::setw(12) << name.size << name.creator
              << (name.creator == 0    ? " (unknown)"
                  : name.creator_alive ? " (running)"
                                       : " (dead)")
              << '\n';
  }
}

int names(const Args& args) {
  ArgReader in(args);
  bool remove_dead = false;
  std::string prefix;
  while (!in.done()) {
    if (in.flag("--remove-dead")) {
      remove_dead = true;
    } else if (auto value = in.value("--prefix")) {
      prefix = *value;
    } else {
      throw UsageError("unexpected argument '" + in.operand() + "'");
    }
  }
  if (!remove_dead) {
    print_names(prefix);
    return exit_ok;
  }
  const std::vector<std::string> removed = interproc::remove_dead_names(prefix);
  for (const std::string& name : removed) std::cout << "removed " << name << '\n';
  std::cout << removed.size() << (removed.size() == 1 ? " name" : " names") << " of dead creators removed\n";
  return exit_ok;
}

}  // namespace

const Command names_command = {
    "names", "the names interproc objects hold, and the cleanup of dead creators'",
    "usage: interproc-demo names [--remove-dead] [--prefix P]",
    "Lists the names interproc objects of this user hold in the OS (Linux: the entries of\n"
    "/dev/shm that carry an interproc record), each with its kind, its size and the pid of\n"
    "the process that created it, running or dead. A SharedValue or SharedArray \"v\" shows\n"
    "as \"v\" and its lock \"v.lock\".\n"
    "\n"
    "  --remove-dead  remove the names whose creator is no longer running: what a program\n"
    "                 killed before its remove_named() left behind\n"
    "  --prefix P     only names that start with P\n"
    "\n"
    "macOS keeps shm_open names inside the kernel with no call to list them, and Windows\n"
    "removes a named object with its last handle: there the command says so and exits 2.\n"
    "Names made with interproc::NameLifetime::creator never need this: they go with their\n"
    "creator.\n"
    "\n"
    "Exit status: 0 done, 1 a problem, 2 a bad command line or an OS without a list.\n",
    &names};

}  // namespace demo
