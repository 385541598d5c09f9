# SPDX-License-Identifier: MIT
# Cross build for 64-bit Windows with clang through Zig 0.11 (x86_64-windows-gnu: MinGW-w64
# headers and import libraries, libc++): clang's warnings over the Win32 backend, beside
# MinGW's GCC (cmake/mingw-w64.cmake).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ZIG)
set(INTERPROC_ZIG_TARGET x86_64-windows-gnu)
include("${CMAKE_CURRENT_LIST_DIR}/zig-toolchain.cmake")
set(CMAKE_RC_COMPILER "" CACHE FILEPATH "" FORCE)
