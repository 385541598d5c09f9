# SPDX-License-Identifier: MIT
# Shared by cmake/zig-macos.cmake and cmake/zig-windows.cmake: Zig 0.11's clang and its
# bundled libc/libc++ as a cross compiler. Which zig: the cache variable ZIG, else the
# environment variable ZIG, else `zig` on PATH (or the CI machine's /opt/zig-dl/package).
# The caller sets INTERPROC_ZIG_TARGET (e.g. aarch64-macos) first.
if(NOT ZIG AND DEFINED ENV{ZIG})
  set(ZIG "$ENV{ZIG}")
endif()
if(NOT ZIG)
  find_program(ZIG zig PATHS /opt/zig-dl/package NO_CMAKE_FIND_ROOT_PATH)
endif()
if(NOT ZIG OR NOT EXISTS "${ZIG}")
  message(FATAL_ERROR "zig not found: set ZIG (cache or environment) to the zig 0.11 binary")
endif()
set(ZIG "${ZIG}" CACHE FILEPATH "The zig binary the cross toolchain runs")

# CMake runs this file again for every try_compile with that project's binary dir; each
# writes its own wrappers, identical to the first.
set(interproc_zig_wrappers "${CMAKE_BINARY_DIR}/zig-wrappers/${INTERPROC_ZIG_TARGET}")
function(interproc_zig_wrapper tool target_args out)
  set(INTERPROC_ZIG "${ZIG}")
  set(INTERPROC_ZIG_TOOL ${tool})
  set(INTERPROC_ZIG_TARGET_ARGS "${target_args}")
  configure_file("${CMAKE_CURRENT_LIST_DIR}/zig/zig-tool.in" "${interproc_zig_wrappers}/zig-${tool}"
                 @ONLY FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                 GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  set(${out} "${interproc_zig_wrappers}/zig-${tool}" PARENT_SCOPE)
endfunction()
interproc_zig_wrapper(cc "-target ${INTERPROC_ZIG_TARGET}" CMAKE_C_COMPILER)
interproc_zig_wrapper(c++ "-target ${INTERPROC_ZIG_TARGET}" CMAKE_CXX_COMPILER)
interproc_zig_wrapper(ar "" CMAKE_AR)
interproc_zig_wrapper(ranlib "" CMAKE_RANLIB)
set(CMAKE_AR "${CMAKE_AR}" CACHE FILEPATH "zig ar" FORCE)
set(CMAKE_RANLIB "${CMAKE_RANLIB}" CACHE FILEPATH "zig ranlib" FORCE)

# Nothing from the host: headers, libraries and packages come from zig or the build tree.
set(CMAKE_FIND_ROOT_PATH "${CMAKE_BINARY_DIR}/zig-sysroot-none")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
