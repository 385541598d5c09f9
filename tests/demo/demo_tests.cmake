# SPDX-License-Identifier: MIT
# Tests of interproc-demo (examples/interproc-demo), one CTest test per case of
# demo_test.cmake, which makes the files to count, runs the tool and checks its exit status,
# output and problem lines. Included from tests/CMakeLists.txt:
#   include(demo/demo_tests.cmake)
# tests/ is added before examples/, so the interproc-demo target does not exist yet when
# this runs: the option decides, and $<TARGET_FILE:interproc-demo> is resolved when the
# build system is generated, after every target is known.
if(NOT INTERPROC_BUILD_EXAMPLES)
  return()
endif()

set(_interproc_demo_cases
  help bad_options
  count_spawn count_pool count_no_match count_many count_no_lock count_default count_queue count_queue_many
  race_spawn race_no_lock
  guard names)
if(WIN32)
  list(APPEND _interproc_demo_cases count_fork_unsupported race_fork_unsupported race_forkserver_unsupported)
else()
  list(APPEND _interproc_demo_cases count_fork race_fork count_forkserver race_forkserver count_queue_fork
       count_queue_forkserver)
endif()
# A pseudo-terminal for stderr comes from util-linux's script(1), on Linux and not emulated.
if(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND NOT CMAKE_CROSSCOMPILING)
  list(APPEND _interproc_demo_cases race_progress race_no_progress_without_terminal)
endif()

# A shared build's installed demo must find libinterproc through its relative RUNPATH.
if(BUILD_SHARED_LIBS AND INTERPROC_INSTALL AND NOT WIN32 AND NOT CMAKE_CROSSCOMPILING)
  list(APPEND _interproc_demo_cases installed)
endif()

# Under an emulator (Wine) every process start costs 0.1-0.5 s, and under a sanitizer tens
# of milliseconds: fewer files there.
if(CMAKE_CROSSCOMPILING)
  set(_interproc_demo_many 50)
elseif(CMAKE_CXX_FLAGS MATCHES "-fsanitize=")
  set(_interproc_demo_many 500)
else()
  set(_interproc_demo_many 2000)
endif()
# The emulator is a list; it travels to the script with '|' between its items.
string(REPLACE ";" "|" _interproc_demo_emulator "${CMAKE_CROSSCOMPILING_EMULATOR}")

foreach(case IN LISTS _interproc_demo_cases)
  add_test(NAME demo.${case}
           COMMAND ${CMAKE_COMMAND} -DCASE=${case} "-DDEMO=$<TARGET_FILE:interproc-demo>"
                   "-DEMULATOR=${_interproc_demo_emulator}" -DMANY=${_interproc_demo_many}
                   "-DWORK=${CMAKE_CURRENT_BINARY_DIR}/demo/${case}" "-DBUILD=${PROJECT_BINARY_DIR}"
                   -P ${CMAKE_CURRENT_LIST_DIR}/demo_test.cmake)
  set_tests_properties(demo.${case} PROPERTIES TIMEOUT 300 LABELS demo)
endforeach()
