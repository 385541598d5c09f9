# SPDX-License-Identifier: MIT
# CPack: `cpack --config <build>/CPackConfig.cmake` (or `cmake --build <build> --target package`)
# packs what `cmake --install` installs: a .tar.gz and a Debian package libinterproc-dev on
# Linux, a .zip for Windows builds (MinGW, MSVC). Configure a packaging build with tests and
# examples off (-DINTERPROC_BUILD_TESTS=OFF -DINTERPROC_BUILD_EXAMPLES=OFF) so that it holds
# the library alone; for the .deb also -DCMAKE_INSTALL_PREFIX=/usr, which gives Debian's
# multiarch library dir.
set(CPACK_PACKAGE_NAME interproc)
set(CPACK_PACKAGE_VENDOR "interproc authors")
set(CPACK_PACKAGE_CONTACT "interproc authors")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_RESOURCE_FILE_README ${PROJECT_SOURCE_DIR}/README.md)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_STRIP_FILES OFF)
if(BUILD_SHARED_LIBS)
  set(interproc_package_kind shared)
else()
  set(interproc_package_kind static)
endif()
set(CPACK_PACKAGE_FILE_NAME
    "${CPACK_PACKAGE_NAME}-${PROJECT_VERSION}-${CMAKE_SYSTEM_NAME}-${CMAKE_SYSTEM_PROCESSOR}-${interproc_package_kind}")

if(WIN32)
  set(CPACK_GENERATOR ZIP)
elseif(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  set(CPACK_GENERATOR TGZ DEB)
else()
  set(CPACK_GENERATOR TGZ)
endif()

# A MinGW shared build needs the C++ runtime's DLLs beside interproc's (see
# cmake/InterprocMingwRuntime.cmake): the .zip carries them in bin/.
if(MINGW AND BUILD_SHARED_LIBS)
  foreach(dll IN ITEMS libstdc++-6.dll libgcc_s_seh-1.dll libwinpthread-1.dll)
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${dll}
                    OUTPUT_VARIABLE dll_path OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(IS_ABSOLUTE "${dll_path}" AND EXISTS "${dll_path}")
      install(FILES "${dll_path}" DESTINATION ${CMAKE_INSTALL_BINDIR})
    endif()
  endforeach()
endif()

# Debian: one development package with the headers, the library, the CMake package and
# interproc.pc. GSL is header-only: Debian's libmsgsl-dev provides it.
set(CPACK_DEBIAN_PACKAGE_NAME libinterproc-dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "interproc authors")
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libmsgsl-dev (>= 4.0)")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "${PROJECT_DESCRIPTION}
 Shared memory segments, a mutex that survives the death of its owner, and child
 processes that receive both, with one API for POSIX and Windows.")
if(BUILD_SHARED_LIBS)
  # The C and C++ runtime dependencies of libinterproc.so, found by dpkg-shlibdeps.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()

set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build/" "/out/" "/\\\\.cache/" "/\\\\.vscode/" "/\\\\.idea/" "/\\\\.vs/")

include(CPack)
