# SPDX-License-Identifier: MIT
# One test of interproc-demo, run by ctest (see demo_tests.cmake):
#   cmake -DCASE=<case> -DDEMO=<interproc-demo> -DWORK=<folder> -DMANY=<count> -DBUILD=<build dir>
#         [-DEMULATOR=<emulator, items separated by '|'>] -P demo_test.cmake
# Each case makes the files it counts in WORK, with sizes chosen here and summed with
# file(SIZE), independently of the tool, then runs the tool in WORK (under the emulator in
# a cross build) and checks its exit status, its output and its "Problem with" lines.
cmake_minimum_required(VERSION 3.25)

string(REPLACE "|" ";" emulator "${EMULATOR}")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/files")

# ---- running the tool and checking what it did ----

# demo(<arg>...): runs interproc-demo with these arguments in WORK; sets `status`, `out`
# and `err` (without carriage returns) for the checks below.
macro(demo)
  set(command "${ARGN}")
  execute_process(COMMAND ${emulator} "${DEMO}" ${ARGN} WORKING_DIRECTORY "${WORK}" TIMEOUT 240
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REPLACE "\r" "" out "${out}")
  string(REPLACE "\r" "" err "${err}")
endmacro()

function(fail message)
  string(REPLACE ";" " " shown "${command}")
  message(FATAL_ERROR "${message}\n--- interproc-demo ${shown}\n--- exit status: ${status}\n"
                      "--- stdout:\n${out}\n--- stderr:\n${err}")
endfunction()

function(expect_status expected)
  if(NOT status STREQUAL "${expected}")
    fail("exit status ${status}, expected ${expected}")
  endif()
endfunction()

# expect_line(<stream: out|err> <line>): that exact line is in the output.
function(expect_line stream line)
  string(FIND "\n${${stream}}" "\n${line}\n" at)
  if(at EQUAL -1)
    fail("no line \"${line}\" on std${stream}")
  endif()
endfunction()

function(expect_text stream text)
  string(FIND "${${stream}}" "${text}" at)
  if(at EQUAL -1)
    fail("no \"${text}\" on std${stream}")
  endif()
endfunction()

function(expect_no_text stream text)
  string(FIND "${${stream}}" "${text}" at)
  if(NOT at EQUAL -1)
    fail("unexpected \"${text}\" on std${stream}")
  endif()
endfunction()

# expect_problems(<name>...): exactly these "Problem with <name>: ..." lines on stderr.
function(expect_problems)
  string(REGEX MATCHALL "Problem with [^\n]*" lines "${err}")
  list(LENGTH lines found)
  list(LENGTH ARGN expected)
  if(NOT found EQUAL expected)
    fail("${found} problem lines, expected ${expected} (${ARGN})")
  endif()
  foreach(name IN LISTS ARGN)
    expect_text(err "Problem with ${name}: ")
  endforeach()
endfunction()

function(expect_total expected)
  if(NOT out MATCHES "(^|\n)Total = ([0-9]+)\n")
    fail("no \"Total = N\" line")
  elseif(NOT CMAKE_MATCH_2 STREQUAL "${expected}")
    fail("Total = ${CMAKE_MATCH_2}, expected ${expected}")
  endif()
endfunction()

# A bad command line: exit status 2, one line saying what is wrong, then the usage line.
function(expect_usage_error)
  expect_status(2)
  if(NOT err MATCHES "^interproc-demo[^\n]*: [^\n]+\nusage: interproc-demo [^\n]+\n$")
    fail("expected an error line and a usage line on stderr")
  endif()
endfunction()

# ---- the files to count ----

# make_file(<name> <size>): WORK/<name>, <size> bytes.
function(make_file name size)
  string(REPEAT "x" ${size} content)
  file(WRITE "${WORK}/${name}" "${content}")
endfunction()

# sum_sizes(<var> <name>...): the sum of the sizes of WORK/<name>... as the file system has them.
function(sum_sizes var)
  set(sum 0)
  foreach(name IN LISTS ARGN)
    file(SIZE "${WORK}/${name}" size)
    math(EXPR sum "${sum} + ${size}")
  endforeach()
  set(${var} ${sum} PARENT_SCOPE)
endfunction()

# files/a.txt b.txt c.txt (found by files/*.txt), files/d.bin, files/.hidden.txt (not found
# by files/*.txt: names starting with '.' need a pattern that does too), the folder
# files/sub/ with e.txt and deeper/.f (counted when the folder is given) and the empty
# folder files/empty/.
function(make_count_files)
  make_file(files/a.txt 0)
  make_file(files/b.txt 1)
  make_file(files/c.txt 1000)
  make_file(files/d.bin 70000)
  make_file(files/.hidden.txt 7)
  make_file(files/sub/e.txt 5)
  make_file(files/sub/deeper/.f 3)
  file(MAKE_DIRECTORY "${WORK}/files/empty")
endfunction()

# The lines a count of files/sub prints, whatever separator the OS puts after "files/sub".
function(expect_sub_files)
  if(NOT out MATCHES "\nfiles/sub[/\\]deeper[/\\]\\.f\nfiles/sub[/\\]e\\.txt\n")
    fail("files/sub/deeper/.f and files/sub/e.txt not printed, in that order")
  endif()
endfunction()

# ---- the cases ----

function(case_help)
  demo(--help)
  expect_status(0)
  foreach(name count race guard)
    expect_text(out "  ${name} ")
  endforeach()
  foreach(name count race guard)
    demo(${name} --help)
    expect_status(0)
    expect_text(out "usage: interproc-demo ${name}")
  endforeach()
  demo(count -h)
  expect_status(0)
  expect_text(out "usage: interproc-demo count")
  foreach(name count race)
    demo(${name} --help)
    foreach(start spawn fork forkserver)
      expect_text(out "  --start=${start}")
    endforeach()
  endforeach()
  demo(--version)
  expect_status(0)
  if(NOT out MATCHES "^interproc-demo [0-9]+\\.[0-9]+\\.[0-9]+\n$")
    fail("expected \"interproc-demo X.Y.Z\"")
  endif()
endfunction()

function(case_bad_options)
  foreach(arguments IN ITEMS "" "frobnicate" "count|--bogus" "count|--jobs" "count|--jobs|0" "count|--jobs=x"
                             "count|--start=vfork" "count|--start" "count|--jobs|2|--pool|2" "count|--via=pipe"
                             "count|--via=queue|--pool|2" "count|--via=queue|--no-lock" "count|--pool|2|--no-lock" "race|--workers|0" "race|--increments=1e3"
                             "race|extra" "guard|--now" "guard|now")
    string(REPLACE "|" ";" arguments "${arguments}")
    demo(${arguments})
    expect_usage_error()
    if(NOT out STREQUAL "")
      fail("a bad command line printed on stdout")
    endif()
  endforeach()
endfunction()

# count with a start method: a glob, a literal name, a missing file and a folder. Further
# arguments (--via=queue) go to every run.
function(check_count start)
  make_count_files()
  sum_sizes(expected files/a.txt files/b.txt files/c.txt files/d.bin files/sub/e.txt files/sub/deeper/.f)
  demo(count --start=${start} ${ARGN} "files/*.txt" files/d.bin files/missing.txt files/sub files/empty)
  expect_status(1)
  expect_total(${expected})
  foreach(name files/a.txt files/b.txt files/c.txt files/d.bin files/missing.txt)
    expect_line(out "${name}")
  endforeach()
  expect_sub_files()
  expect_no_text(out ".hidden")
  expect_problems(files/missing.txt)

  sum_sizes(expected files/a.txt files/b.txt files/c.txt files/d.bin)
  demo(count "--start=${start}" ${ARGN} "files/[a-c].txt" files/d.bin)
  expect_status(0)
  expect_total(${expected})
  expect_problems()
endfunction()

function(case_count_spawn)
  check_count(spawn)
endfunction()

# The same files, lines and total with a pool of workers instead of a child per file.
function(case_count_pool)
  make_count_files()
  sum_sizes(expected files/a.txt files/b.txt files/c.txt files/d.bin files/sub/e.txt files/sub/deeper/.f)
  demo(count --pool 3 "files/*.txt" files/d.bin files/missing.txt files/sub)
  expect_status(1)
  expect_total(${expected})
  foreach(name files/a.txt files/b.txt files/c.txt files/d.bin files/missing.txt)
    expect_line(out "${name}")
  endforeach()
  expect_sub_files()
  expect_problems(files/missing.txt)
  sum_sizes(expected files/a.txt files/b.txt files/c.txt files/d.bin)
  demo(count --pool 2 "files/[a-c].txt" files/d.bin)
  expect_status(0)
  expect_total(${expected})
  expect_problems()
endfunction()

function(case_count_fork)
  check_count(fork)
endfunction()

# The Queue version: the same lines and total, the sizes sent through a SharedQueue.
function(case_count_queue)
  check_count(spawn --via=queue)
endfunction()

function(case_count_queue_fork)
  check_count(fork --via=queue)
endfunction()

function(case_count_queue_forkserver)
  check_count(forkserver --via=queue)
endfunction()

function(case_count_forkserver)
  check_count(forkserver)
endfunction()

# Windows: no fork; the library's errc::not_supported, exit status 2.
function(case_count_fork_unsupported)
  make_count_files()
  demo(count --start=fork files/a.txt)
  expect_status(2)
  expect_text(err "not supported")
endfunction()

function(case_count_no_match)
  make_count_files()
  demo(count "files/*.nothing" files/b.txt "nowhere/*.txt")
  expect_status(1)
  expect_total(1)
  expect_problems(files/*.nothing nowhere/*.txt)
  expect_text(err "Problem with files/*.nothing: no file matches")
endfunction()

# MANY files of sizes 0 to 996, counted through a glob with --jobs 8 (and further arguments).
function(case_count_many)
  set(names "")
  foreach(i RANGE 1 ${MANY})
    math(EXPR size "(${i} * 37) % 997")
    make_file(files/f${i}.dat ${size})
    list(APPEND names files/f${i}.dat)
  endforeach()
  sum_sizes(expected ${names})
  demo(count --jobs 8 ${ARGN} "files/*.dat")
  expect_status(0)
  expect_total(${expected})
  expect_problems()
  string(REGEX MATCHALL "files/f[0-9]+\\.dat\n" started "${out}")
  list(LENGTH started started)
  if(NOT started EQUAL MANY)
    fail("${started} file names printed, expected ${MANY}")
  endif()
endfunction()

# As count_many, each child sending its size through the queue.
function(case_count_queue_many)
  case_count_many(--via=queue)
endfunction()

# Without the lock updates can be lost, never invented.
function(case_count_no_lock)
  make_count_files()
  sum_sizes(most files/a.txt files/b.txt files/c.txt)
  demo(count --no-lock "files/*.txt")
  expect_status(0)
  if(NOT out MATCHES "Total = ([0-9]+)\n" OR CMAKE_MATCH_1 GREATER most)
    fail("expected a total of at most ${most}")
  endif()
endfunction()

# The default files differ from machine to machine: some of them may be unreadable (1).
function(case_count_default)
  demo(count)
  if(NOT status MATCHES "^[01]$")
    fail("exit status ${status}, expected 0 or 1")
  endif()
  if(NOT out MATCHES "Total = [0-9]+\n$")
    fail("no \"Total = N\" at the end")
  endif()
  if(status EQUAL 1)
    expect_text(err "Problem with ")
  endif()
endfunction()

function(check_race start)
  demo(race --start=${start} --workers 4 --increments 20000)
  expect_status(0)
  expect_line(out "Total = 80000 (expected 80000)")
endfunction()

function(case_race_spawn)
  check_race(spawn)
endfunction()

function(case_race_fork)
  check_race(fork)
endfunction()

function(case_race_forkserver)
  check_race(forkserver)
endfunction()

function(case_race_forkserver_unsupported)
  demo(race --start=forkserver)
  expect_status(2)
  expect_text(err "not supported")
endfunction()

function(case_race_fork_unsupported)
  demo(race --start=fork)
  expect_status(2)
  expect_text(err "not supported")
endfunction()

function(case_race_no_lock)
  demo(race --no-lock --workers 4 --increments 100000)
  expect_status(0)
  if(NOT out MATCHES "\nTotal = ([0-9]+) \\(expected 400000\\)\n" OR CMAKE_MATCH_1 GREATER 400000)
    fail("expected Total = X (expected 400000), X at most 400000")
  endif()
  if(NOT out MATCHES "updates were lost|No update was lost")
    fail("no word on lost updates")
  endif()
endfunction()

# A long race shows its progress on stderr when stderr is a terminal (here a pseudo-terminal
# from util-linux's script(1)), and clears it at the end. A run that ends within a second
# prints none, so each try takes four times the increments of the one before.
function(case_race_progress)
  find_program(script_tool script REQUIRED)
  set(increments 2000000)
  foreach(try RANGE 4)
    set(command "race --workers 2 --increments ${increments}")
    execute_process(COMMAND "${script_tool}" -qec "'${DEMO}' ${command}" /dev/null WORKING_DIRECTORY "${WORK}"
                    TIMEOUT 240 RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
    math(EXPR expected "2 * ${increments}")
    expect_status(0)
    expect_text(out "Total = ${expected} (expected ${expected})")
    string(FIND "${out}" " of ${expected} added..." at)
    if(NOT at EQUAL -1)
      string(ASCII 27 escape)
      expect_text(out "added...\r${escape}[K")  # ECMA-48 EL erases the progress before the total
      return()
    endif()
    math(EXPR increments "${increments} * 4")
  endforeach()
  fail("no progress line on a terminal after five ever longer runs")
endfunction()

# Without a terminal a run of more than two seconds prints no progress line.
function(case_race_no_progress_without_terminal)
  set(increments 4000000)
  foreach(try RANGE 4)
    string(TIMESTAMP started "%s")
    demo(race --workers 2 --increments ${increments})
    string(TIMESTAMP ended "%s")
    expect_status(0)
    expect_no_text(err "added...")
    math(EXPR took "${ended} - ${started}")
    if(took GREATER_EQUAL 2)
      return()
    endif()
    math(EXPR increments "${increments} * 4")
  endforeach()
  fail("no run lasted two seconds")
endfunction()

# The copy that skips the guard gets errc::missing_guard and starts nothing: the parent
# exits 0 only when the copy's exit code says its spawn_child() was refused.
function(case_guard)
  demo(guard)
  expect_status(0)
  expect_line(out "copy: spawn_child() threw std::system_error with interproc::errc::missing_guard:")
  expect_text(out "interproc::child_main()")
  expect_text(out "it started no process")
  expect_no_text(out "A copy of the copy started")
  if(NOT err STREQUAL "")
    fail("unexpected output on stderr")
  endif()
endfunction()

# The names in use: a header line, then nothing under a prefix no name has; --remove-dead
# under it removes none. Windows has no list (named objects go with their last handle): 2.
function(case_names)
  demo(names --prefix no-such-prefix.)
  if(WIN32 OR CMAKE_HOST_WIN32 OR NOT "${EMULATOR}" STREQUAL "")
    expect_status(2)
    expect_text(err "last handle")
    return()
  endif()
  expect_status(0)
  if(NOT out MATCHES "^NAME +KIND +SIZE +CREATOR
$")
    fail("not the header line alone")
  endif()
  demo(names --remove-dead --prefix no-such-prefix.)
  expect_status(0)
  expect_line(out "0 names of dead creators removed")
  demo(names --bogus)
  expect_status(2)
endfunction()

# A shared build installed into WORK/prefix: the installed demo runs from there with no
# LD_LIBRARY_PATH / DYLD_LIBRARY_PATH, and finds the installed library, not the build's.
function(case_installed)
  execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD}" --prefix "${WORK}/prefix"
                  RESULT_VARIABLE status OUTPUT_QUIET)
  expect_status(0)
  unset(ENV{LD_LIBRARY_PATH})
  unset(ENV{DYLD_LIBRARY_PATH})
  set(DEMO "${WORK}/prefix/bin/interproc-demo")
  make_count_files()
  sum_sizes(expected files/a.txt files/b.txt files/c.txt)
  demo(count "files/*.txt")
  expect_status(0)
  expect_total(${expected})
endfunction()

if(NOT COMMAND case_${CASE})
  message(FATAL_ERROR "demo_test.cmake: no case '${CASE}'")
endif()
cmake_language(CALL case_${CASE})
