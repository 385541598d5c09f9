// SPDX-License-Identifier: MIT
// What a child starts with (SpawnOptions' environment, directory and standard streams) and
// the Child's pipe calls, with real children under every start method the OS has.
#include "support/expect.hpp"
#include "support/test_os.hpp"

#include <interproc/interproc.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

using interproc::Child;
using interproc::ChildOutput;
using interproc::errc;
using interproc::Redirect;
using interproc::spawn_child;
using interproc::SpawnOptions;
using interproc::StartMethod;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace test = interproc::test;

namespace {

constexpr std::size_t mebibyte = 1 << 20;

// Letters only: Windows' text-mode streams would change '\n', '\r' and 0x1A.
std::string pattern(std::size_t size, char first) {
  std::string text(size, ' ');
  for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>(first + static_cast<char>(i % 23));
  return text;
}

void write_out(std::FILE* stream, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stream);
  std::fflush(stream);
}

SpawnOptions with_method(StartMethod method) {
  SpawnOptions options;
  options.method = method;
  return options;
}

SpawnOptions piped_output(StartMethod method) {
  SpawnOptions options = with_method(method);
  options.std_out = Redirect::pipe();
  options.std_err = Redirect::pipe();
  return options;
}

// A directory of its own for one test, removed with it.
struct TemporaryDirectory {
  fs::path path;
  explicit TemporaryDirectory(const std::string& tag)
      : path(fs::temp_directory_path() / ("interproc-io-" + tag + "-" + std::to_string(test::current_pid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const char* method_name(StartMethod method) {
  switch (method) {
    case StartMethod::spawn: return "spawn";
    case StartMethod::fork: return "fork";
    case StartMethod::forkserver: return "forkserver";
  }
  return "?";
}

}  // namespace

// Writes "NAME=value;" or "NAME unset;" for each name in its arguments to stdout.
INTERPROC_CHILD_ENTRY(io_print_env) {
  std::string text;
  for (const std::string& name : ctx.args()) {
    const char* value = std::getenv(name.c_str());
    text += value != nullptr ? name + "=" + value + ";" : name + " unset;";
  }
  write_out(stdout, text);
  return 0;
}

INTERPROC_CHILD_ENTRY(io_print_cwd) {
  write_out(stdout, fs::current_path().u8string());
  return 0;
}

// 1 MiB to stdout, then 1 MiB to stderr, then 1 MiB more to stdout: a parent that reads one
// pipe to its end before the other stalls it.
INTERPROC_CHILD_ENTRY(io_flood) {
  write_out(stdout, pattern(mebibyte, 'a'));
  write_out(stderr, pattern(mebibyte, 'A'));
  write_out(stdout, pattern(mebibyte, 'b'));
  return 7;
}

// Copies stdin to stdout as it comes, in small pieces, then exits with 3.
INTERPROC_CHILD_ENTRY(io_echo) {
  char buffer[4096];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) {
    std::fwrite(buffer, 1, got, stdout);
  }
  std::fflush(stdout);
  return 3;
}

// 0 if stdin is at its end at once, else 1; then writes to stdout and stderr.
INTERPROC_CHILD_ENTRY(io_null_device) {
  const int first = std::fgetc(stdin);
  write_out(stdout, "lost");
  write_out(stderr, "lost too");
  return first == EOF ? 0 : 1;
}

INTERPROC_CHILD_ENTRY(io_write_both) {
  write_out(stdout, "out" + ctx.args().at(0));
  write_out(stderr, "err" + ctx.args().at(0));
  return 0;
}

// Ends at once: the reader of its stdin pipe is then gone.
INTERPROC_CHILD_ENTRY(io_exit_at_once) { return 0; }

TEST(SpawnIo, TheChildsEnvironmentIsSetReplacedAndTrimmed) {
  test::set_environment_variable("INTERPROC_IO_KEPT", "parent");
  test::set_environment_variable("INTERPROC_IO_REPLACED", "parent");
  test::set_environment_variable("INTERPROC_IO_REMOVED", "parent");
  for (const StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    SpawnOptions options = with_method(method);
    options.std_out = Redirect::pipe();
    options.env = {{"INTERPROC_IO_NEW", "new value"}, {"INTERPROC_IO_REPLACED", "child"}};
    options.unset_env = {"INTERPROC_IO_REMOVED"};
    Child child = spawn_child(
        "io_print_env", {"INTERPROC_IO_KEPT", "INTERPROC_IO_REPLACED", "INTERPROC_IO_REMOVED", "INTERPROC_IO_NEW"}, {},
        options);
    EXPECT_EQ(child.communicate().out,
              "INTERPROC_IO_KEPT=parent;INTERPROC_IO_REPLACED=child;INTERPROC_IO_REMOVED unset;"
              "INTERPROC_IO_NEW=new value;");
    EXPECT_EQ(child.wait(), 0);
  }
}

// The child token and the library's markers reach the child whatever its environment is:
// die_with_parent's marker (POSIX spawn) and the guard marker included.
TEST(SpawnIo, AClearedEnvironmentHoldsOnlyTheGivenVariables) {
  test::set_environment_variable("INTERPROC_IO_KEPT", "parent");
  for (const StartMethod method : test::start_methods()) {
    for (const bool die_with_parent : {false, true}) {
      SCOPED_TRACE(std::string(method_name(method)) + (die_with_parent ? " die_with_parent" : ""));
      SpawnOptions options = with_method(method);
      options.std_out = Redirect::pipe();
      options.clear_env = true;
      options.die_with_parent = die_with_parent;
      options.env = {{"ONLY", "1"}};
      Child child =
          spawn_child("io_print_env", {"INTERPROC_IO_KEPT", "PATH", "ONLY", "INTERPROC_SPAWNED_CHILD"}, {}, options);
      EXPECT_EQ(child.communicate().out, "INTERPROC_IO_KEPT unset;PATH unset;ONLY=1;INTERPROC_SPAWNED_CHILD unset;");
      EXPECT_EQ(child.wait(), 0);
    }
  }
}

// Windows' names are one variable whatever their case; POSIX's are two.
TEST(SpawnIo, NamesCompareAsTheOsComparesThem) {
  test::set_environment_variable("INTERPROC_IO_CASE", "parent");
  SpawnOptions options;
  options.std_out = Redirect::pipe();
  options.env = {{"interproc_io_case", "child"}};
  Child child = spawn_child("io_print_env", {"INTERPROC_IO_CASE"}, {}, options);
  EXPECT_EQ(child.communicate().out, test::is_windows() ? "INTERPROC_IO_CASE=child;" : "INTERPROC_IO_CASE=parent;");
  options.env = {{"INTERPROC_IO_CASE", "a"}, {"interproc_io_case", "b"}};
  if (test::is_windows()) {
    EXPECT_SYSTEM_ERROR(spawn_child("io_exit_at_once", {}, {}, options), errc::invalid_argument, "twice");
  } else {
    EXPECT_EQ(spawn_child("io_exit_at_once", {}, {}, options).wait(), 0);
  }
}

TEST(SpawnIo, BadEnvironmentNamesAreRefused) {
  for (const std::string& name :
       {std::string(), std::string("A=B"), std::string("INTERPROC_SPAWNED_CHILD"), std::string("NUL\0INSIDE", 10)}) {
    SpawnOptions options;
    options.env = {{name, "x"}};
    EXPECT_SYSTEM_ERROR(spawn_child("io_exit_at_once", {}, {}, options), errc::invalid_argument, "spawn_child");
  }
  SpawnOptions value_with_nul;
  value_with_nul.env = {{"NAME", std::string("a\0b", 3)}};
  EXPECT_SYSTEM_ERROR(spawn_child("io_exit_at_once", {}, {}, value_with_nul), errc::invalid_argument, "NUL");
}

TEST(SpawnIo, TheChildStartsInTheGivenDirectory) {
  const TemporaryDirectory dir("cwd");
  for (const StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    SpawnOptions options = with_method(method);
    options.std_out = Redirect::pipe();
    options.cwd = dir.path.u8string();
    Child child = spawn_child("io_print_cwd", {}, {}, options);
    const std::string printed = child.communicate().out;
    EXPECT_EQ(child.wait(), 0);
    EXPECT_TRUE(fs::equivalent(fs::u8path(printed), dir.path)) << printed << " is not " << dir.path;
  }
}

TEST(SpawnIo, AMissingDirectoryIsRefusedBeforeTheChildStarts) {
  const TemporaryDirectory dir("nocwd");
  const fs::path file = dir.path / "a-file";
  std::ofstream(file) << "x";
  for (const StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    SpawnOptions options = with_method(method);
    options.cwd = (dir.path / "missing").u8string();
    EXPECT_SYSTEM_ERROR(spawn_child("io_exit_at_once", {}, {}, options),
                        std::make_error_code(std::errc::no_such_file_or_directory), "missing");
    options.cwd = file.u8string();
    EXPECT_SYSTEM_ERROR(spawn_child("io_exit_at_once", {}, {}, options),
                        std::make_error_code(std::errc::not_a_directory), "a-file");
    EXPECT_EQ(test::unreaped_children(), 0);
  }
}

TEST(SpawnIo, CommunicateReadsAMebibyteFromBothPipesWithoutStalling) {
  for (const StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    Child child = spawn_child("io_flood", {}, {}, piped_output(method));
    const ChildOutput output = child.communicate();
    EXPECT_TRUE(output.ended);
    EXPECT_EQ(output.out.size(), 2 * mebibyte);
    EXPECT_TRUE(output.out == pattern(mebibyte, 'a') + pattern(mebibyte, 'b'));
    EXPECT_TRUE(output.err == pattern(mebibyte, 'A'));
    EXPECT_EQ(child.wait(), 7);
  }
}

TEST(SpawnIo, OneOutputPipeReadToItsEndDoesNotStallTheOther) {
  for (const StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    Child child = spawn_child("io_flood", {}, {}, piped_output(method));
    EXPECT_EQ(child.read_stdout().size(), 2 * mebibyte);  // stderr fills meanwhile
    EXPECT_TRUE(child.read_stderr() == pattern(mebibyte, 'A'));
    EXPECT_EQ(child.wait(), 7);
  }
}

TEST(SpawnIo, OutputIsReadAsItComes) {
  for (const StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    Child child = spawn_child("io_flood", {}, {}, piped_output(method));
    std::string out, err;
    int reads = 0;
    for (;;) {
      ChildOutput piece = child.read_output(10s);
      out += piece.out;
      err += piece.err;
      ++reads;
      if (piece.ended) break;
    }
    EXPECT_GT(reads, 1);
    EXPECT_TRUE(out == pattern(mebibyte, 'a') + pattern(mebibyte, 'b'));
    EXPECT_TRUE(err == pattern(mebibyte, 'A'));
    EXPECT_EQ(child.wait(), 7);
  }
}

TEST(SpawnIo, WaitDrainsThePipesOfAChildThatFillsThem) {
  for (const StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    Child child = spawn_child("io_flood", {}, {}, piped_output(method));
    EXPECT_EQ(child.wait(), 7);
    EXPECT_EQ(child.read_stdout().size(), 2 * mebibyte);
    EXPECT_EQ(child.read_stderr().size(), mebibyte);
  }
  for (const StartMethod method : test::start_methods()) {  // destroyed unread: no stall either
    Child child = spawn_child("io_flood", {}, {}, piped_output(method));
  }
}

TEST(SpawnIo, StdinIsPipedIn) {
  for (const StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    SpawnOptions options = piped_output(method);
    options.std_in = Redirect::pipe();
    // The child echoes as it reads: writing all input before reading any output would stall.
    Child child = spawn_child("io_echo", {}, {}, options);
    const std::string input = pattern(mebibyte, 'k');
    const ChildOutput output = child.communicate(input);
    EXPECT_TRUE(output.out == input);
    EXPECT_EQ(child.wait(), 3);

    Child by_hand = spawn_child("io_echo", {}, {}, options);
    by_hand.write_stdin("first ");
    by_hand.write_stdin(input);
    by_hand.close_stdin();
    EXPECT_TRUE(by_hand.read_stdout() == "first " + input);
    EXPECT_EQ(by_hand.wait(), 3);
  }
}

TEST(SpawnIo, WritingToAChildThatClosedItsStdinFailsWithoutASignal) {
  for (const StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    SpawnOptions options = with_method(method);
    options.std_in = Redirect::pipe();
    Child child = spawn_child("io_exit_at_once", {}, {}, options);
    EXPECT_EQ(child.wait(), 0);
    EXPECT_SYSTEM_ERROR(child.write_stdin(pattern(mebibyte, 'x')), std::make_error_code(std::errc::broken_pipe),
                        "stdin");
  }
}

TEST(SpawnIo, TheNullDeviceGivesEndOfFileAndTakesOutput) {
  for (const StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    SpawnOptions options = with_method(method);
    options.std_in = Redirect::null_device();
    options.std_out = Redirect::null_device();
    options.std_err = Redirect::null_device();
    EXPECT_EQ(spawn_child("io_null_device", {}, {}, options).wait(), 0);
  }
}

TEST(SpawnIo, OutputGoesToFilesTruncatedOrAppended) {
  const TemporaryDirectory dir("files");
  const fs::path out = dir.path / "out.txt";
  const fs::path err = dir.path / "err.txt";
  for (const StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    std::ofstream(out) << "old content";
    std::ofstream(err) << "old;";
    SpawnOptions options = with_method(method);
    options.std_out = Redirect::file(out.u8string());
    options.std_err = Redirect::file(err.u8string(), true);
    EXPECT_EQ(spawn_child("io_write_both", {"1"}, {}, options).wait(), 0);
    EXPECT_EQ(spawn_child("io_write_both", {"2"}, {}, options).wait(), 0);
    EXPECT_EQ(file_text(out), "out2");
    EXPECT_EQ(file_text(err), "old;err1err2");
  }
}

TEST(SpawnIo, StdinComesFromAFile) {
  const TemporaryDirectory dir("input");
  const fs::path in = dir.path / "in.txt";
  std::ofstream(in, std::ios::binary) << pattern(100000, 'c');
  for (const StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    SpawnOptions options = with_method(method);
    options.std_in = Redirect::file(in.u8string());
    options.std_out = Redirect::pipe();
    Child child = spawn_child("io_echo", {}, {}, options);
    EXPECT_TRUE(child.communicate().out == pattern(100000, 'c'));
  }
}

TEST(SpawnIo, AFileThatCannotBeOpenedIsRefusedBeforeTheChildStarts) {
  const TemporaryDirectory dir("nofile");
  for (const StartMethod method : test::start_methods()) {
    SCOPED_TRACE(method_name(method));
    SpawnOptions options = with_method(method);
    options.std_in = Redirect::file((dir.path / "absent.txt").u8string());
    EXPECT_SYSTEM_ERROR(spawn_child("io_exit_at_once", {}, {}, options),
                        std::make_error_code(std::errc::no_such_file_or_directory), "absent.txt");
    options.std_in = Redirect::inherit();
    options.std_out = Redirect::file((dir.path / "no-such-dir" / "out.txt").u8string());
    EXPECT_SYSTEM_ERROR(spawn_child("io_exit_at_once", {}, {}, options),
                        std::make_error_code(std::errc::no_such_file_or_directory), "out.txt");
  }
}
