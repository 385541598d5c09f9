# SPDX-License-Identifier: MIT
# Consumer tests: prove that an outside project can use interproc.
#   consumer.find_package      installs this build into a temporary prefix, then configures,
#                              builds and runs tests/consumer against it (find_package + CMAKE_PREFIX_PATH)
#   consumer.add_subdirectory  configures, builds and runs tests/consumer with add_subdirectory(<repo root>)
# Include this file from tests/CMakeLists.txt. Host builds only: a cross build's programs
# would need the emulator, and its package is not for this machine.
if(CMAKE_CROSSCOMPILING)
  return()
endif()

get_filename_component(_interproc_consumer_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(_interproc_consumer_work "${CMAKE_CURRENT_BINARY_DIR}/consumer")

# What the nested configure needs to build like this one: same generator, compiler and
# flags (the asan build's static library needs the sanitizer runtime at link time).
set(_interproc_consumer_settings "")
foreach(var IN ITEMS CMAKE_GENERATOR CMAKE_GENERATOR_PLATFORM CMAKE_GENERATOR_TOOLSET CMAKE_MAKE_PROGRAM
                     CMAKE_CXX_COMPILER CMAKE_CXX_COMPILER_LAUNCHER CMAKE_CXX_FLAGS
                     CMAKE_EXE_LINKER_FLAGS CMAKE_SHARED_LINKER_FLAGS CMAKE_MSVC_RUNTIME_LIBRARY
                     BUILD_SHARED_LIBS INTERPROC_PORTABLE_POSIX CMAKE_PREFIX_PATH CMAKE_EXECUTABLE_SUFFIX)
  string(APPEND _interproc_consumer_settings "set(${var} [==[${${var}}]==])\n")
endforeach()
# A GSL that this build fetched is reused rather than downloaded again.
if(DEFINED gsl_SOURCE_DIR)
  string(APPEND _interproc_consumer_settings "set(FETCHCONTENT_SOURCE_DIR_GSL [==[${gsl_SOURCE_DIR}]==])\n")
endif()
string(APPEND _interproc_consumer_settings
  "set(INTERPROC_SOURCE_DIR [==[${_interproc_consumer_root}]==])\n"
  "set(INTERPROC_BINARY_DIR [==[${interproc_BINARY_DIR}]==])\n"
  "set(CONSUMER_SOURCE_DIR [==[${CMAKE_CURRENT_LIST_DIR}]==])\n"
  "set(CONSUMER_WORK_DIR [==[${_interproc_consumer_work}]==])\n")
file(WRITE "${_interproc_consumer_work}/settings.cmake" "${_interproc_consumer_settings}")

set(_interproc_consumer_modes add_subdirectory)
if(INTERPROC_INSTALL)
  list(PREPEND _interproc_consumer_modes find_package)
endif()
foreach(mode IN LISTS _interproc_consumer_modes)
  add_test(NAME consumer.${mode}
           COMMAND ${CMAKE_COMMAND} -DSETTINGS=${_interproc_consumer_work}/settings.cmake
                   -DMODE=${mode} -DCONFIG=$<CONFIG>
                   -P ${CMAKE_CURRENT_LIST_DIR}/run_consumer.cmake)
  # Configures and compiles a whole project (add_subdirectory: the library too).
  set_tests_properties(consumer.${mode} PROPERTIES TIMEOUT 900 LABELS consumer)
endforeach()
