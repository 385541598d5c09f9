# SPDX-License-Identifier: MIT
# The run-demo target: cmake -DDEMO=<interproc-demo> [-DEMULATOR=<a|b>] -P run_demo.cmake
# Runs `interproc-demo count` on its default files (/etc/*.conf; %SystemRoot%\*.ini on
# Windows), output shown live. Exit status 1 means some files could not be read: some of
# /etc/*.conf are readable by root only on many systems, and the demo then prints
# "Problem with NAME: Permission denied" and counts the rest, as it should. That is part of
# the demo, so it does not fail the build; any other failure does.
cmake_minimum_required(VERSION 3.25)
string(REPLACE "|" ";" emulator "${EMULATOR}")
execute_process(COMMAND ${emulator} "${DEMO}" count RESULT_VARIABLE status)
if(status EQUAL 1)
  message(STATUS "run-demo: some files could not be read (the \"Problem with\" lines): "
                 "the demo counted the others, as it should.")
elseif(NOT status EQUAL 0)
  message(FATAL_ERROR "run-demo: interproc-demo count failed (exit status ${status})")
endif()
