# SPDX-License-Identifier: MIT
# One consumer test, run by ctest (see consumer_tests.cmake):
#   cmake -DSETTINGS=<settings.cmake> -DMODE=find_package|add_subdirectory -DCONFIG=<config> -P run_consumer.cmake
# find_package: installs the built project into <work>/find_package/prefix first.
# Then configures, builds and runs tests/consumer in a fresh <work>/<MODE> directory.
cmake_minimum_required(VERSION 3.25)
include("${SETTINGS}")

set(work "${CONSUMER_WORK_DIR}/${MODE}")
file(REMOVE_RECURSE "${work}")

function(consumer_step what)
  message(STATUS "consumer.${MODE}: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer.${MODE}: ${what} failed (${rc})")
  endif()
endfunction()

set(mode_args -DINTERPROC_CONSUMER_MODE=${MODE})
if(MODE STREQUAL "find_package")
  set(prefix "${work}/prefix")
  consumer_step("installing interproc into ${prefix}"
                "${CMAKE_COMMAND}" --install "${INTERPROC_BINARY_DIR}" --prefix "${prefix}" --config "${CONFIG}")
  list(PREPEND CMAKE_PREFIX_PATH "${prefix}")
  # A shared build's DLL is in <prefix>/bin on Windows: let the program find it.
  if(CMAKE_HOST_WIN32)
    set(ENV{PATH} "${prefix}/bin;$ENV{PATH}")
  endif()
elseif(MODE STREQUAL "add_subdirectory")
  list(APPEND mode_args "-DINTERPROC_SOURCE_DIR=${INTERPROC_SOURCE_DIR}")
  if(NOT INTERPROC_PORTABLE_POSIX STREQUAL "")
    list(APPEND mode_args "-DINTERPROC_PORTABLE_POSIX=${INTERPROC_PORTABLE_POSIX}")
  endif()
  if(DEFINED FETCHCONTENT_SOURCE_DIR_GSL)
    list(APPEND mode_args "-DFETCHCONTENT_SOURCE_DIR_GSL=${FETCHCONTENT_SOURCE_DIR_GSL}")
  endif()
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

# The prefix path goes through the environment, where a list needs no escaping.
if(NOT "$ENV{CMAKE_PREFIX_PATH}" STREQUAL "")
  list(APPEND CMAKE_PREFIX_PATH "$ENV{CMAKE_PREFIX_PATH}")
endif()
if(NOT CMAKE_HOST_WIN32)
  string(REPLACE ";" ":" CMAKE_PREFIX_PATH "${CMAKE_PREFIX_PATH}")
endif()
set(ENV{CMAKE_PREFIX_PATH} "${CMAKE_PREFIX_PATH}")

set(configure_args -S "${CONSUMER_SOURCE_DIR}" -B "${work}/build" -G "${CMAKE_GENERATOR}"
                   "-DCMAKE_BUILD_TYPE=${CONFIG}" "-DCMAKE_RUNTIME_OUTPUT_DIRECTORY=${work}/bin")
foreach(var IN ITEMS CMAKE_MAKE_PROGRAM CMAKE_CXX_COMPILER CMAKE_CXX_COMPILER_LAUNCHER CMAKE_CXX_FLAGS
                     CMAKE_EXE_LINKER_FLAGS CMAKE_SHARED_LINKER_FLAGS CMAKE_MSVC_RUNTIME_LIBRARY BUILD_SHARED_LIBS)
  if(NOT "${${var}}" STREQUAL "")
    list(APPEND configure_args "-D${var}=${${var}}")
  endif()
endforeach()
if(NOT CMAKE_GENERATOR_PLATFORM STREQUAL "")
  list(APPEND configure_args -A "${CMAKE_GENERATOR_PLATFORM}")
endif()
if(NOT CMAKE_GENERATOR_TOOLSET STREQUAL "")
  list(APPEND configure_args -T "${CMAKE_GENERATOR_TOOLSET}")
endif()

consumer_step("configuring" "${CMAKE_COMMAND}" ${configure_args} ${mode_args})
consumer_step("building" "${CMAKE_COMMAND}" --build "${work}/build" --config "${CONFIG}")

# Multi-config generators put the program in bin/<config>/.
set(program "${work}/bin/${CONFIG}/consumer${CMAKE_EXECUTABLE_SUFFIX}")
if(NOT EXISTS "${program}")
  set(program "${work}/bin/consumer${CMAKE_EXECUTABLE_SUFFIX}")
endif()
consumer_step("running ${program}" "${program}")
