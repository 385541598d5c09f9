# SPDX-License-Identifier: MIT
# Cross build for macOS from Linux with Zig 0.11 (Apple's libc headers, libSystem stubs for
# macOS 11-13, libc++): compiles and links every line the Mac compiles, with Apple's types.
# The programs cannot run here. INTERPROC_MACOS_ARCH: x86_64 or aarch64 (the default).
set(CMAKE_SYSTEM_NAME Darwin)
if(NOT INTERPROC_MACOS_ARCH)
  set(INTERPROC_MACOS_ARCH aarch64)
endif()
set(INTERPROC_MACOS_ARCH "${INTERPROC_MACOS_ARCH}" CACHE STRING "x86_64 or aarch64")
set(CMAKE_SYSTEM_PROCESSOR ${INTERPROC_MACOS_ARCH})
# try_compile projects get the architecture too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES INTERPROC_MACOS_ARCH ZIG)
set(INTERPROC_ZIG_TARGET ${INTERPROC_MACOS_ARCH}-macos)
include("${CMAKE_CURRENT_LIST_DIR}/zig-toolchain.cmake")
# zig links the install names itself; there is no install_name_tool to fix them afterwards
# (CMake needs one only to rewrite an installed library's install name or rpaths).
set(CMAKE_INSTALL_NAME_TOOL /bin/true)
# No Xcode SDK: zig brings the headers and stubs, and CMake must not pass -isysroot.
set(CMAKE_OSX_SYSROOT "" CACHE PATH "" FORCE)
