# SPDX-License-Identifier: MIT
# Dependencies: the system's packages first, FetchContent only where they are missing.
include(FetchContent)

if(NOT CMAKE_CROSSCOMPILING)
  find_package(Microsoft.GSL 4 CONFIG QUIET)
else()
  # GSL is header-only, so the host's copy serves a cross build, but not through the host's
  # package: that one puts /usr/include (the host's C library) on the target compiler's path.
  # Its gsl/ folder alone is copied into the build tree instead.
  find_path(INTERPROC_HOST_GSL_INCLUDE_DIR gsl/span PATHS /usr/include /usr/local/include
            NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
  if(INTERPROC_HOST_GSL_INCLUDE_DIR)
    file(COPY ${INTERPROC_HOST_GSL_INCLUDE_DIR}/gsl DESTINATION ${PROJECT_BINARY_DIR}/_deps/host-gsl/include)
    add_library(Microsoft.GSL::GSL INTERFACE IMPORTED)
    set_target_properties(Microsoft.GSL::GSL PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES ${PROJECT_BINARY_DIR}/_deps/host-gsl/include
      INTERFACE_COMPILE_FEATURES cxx_std_14)
    message(STATUS "interproc: using the host's GSL headers from ${INTERPROC_HOST_GSL_INCLUDE_DIR}")
  endif()
endif()
if(NOT TARGET Microsoft.GSL::GSL)
  message(STATUS "interproc: Microsoft.GSL not found, fetching it")
  # interproc's exported package names GSL, so a fetched GSL is installed alongside it,
  # but never over a copy the prefix already has (a package manager's).
  set(GSL_INSTALL ${INTERPROC_INSTALL})
  if(EXISTS "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_INCLUDEDIR}/gsl")
    message(STATUS "interproc: ${CMAKE_INSTALL_PREFIX} has GSL already; the fetched copy is not installed")
    set(GSL_INSTALL OFF)
  endif()
  set(GSL_TEST OFF)
  FetchContent_Declare(GSL GIT_REPOSITORY https://github.com/microsoft/GSL GIT_TAG v4.0.0 GIT_SHALLOW ON SYSTEM)
  FetchContent_MakeAvailable(GSL)
endif()

find_package(Threads REQUIRED)

# GoogleTest: an installed package, else the sources Debian ships in /usr/src/googletest
# (what a cross build needs: the installed libraries are for the host), else FetchContent.
function(interproc_find_gtest)
  if(TARGET GTest::gtest)
    return()
  endif()
  if(NOT CMAKE_CROSSCOMPILING)
    find_package(GTest CONFIG QUIET)
  endif()
  if(TARGET GTest::gtest)
    return()
  endif()
  # GoogleTest is linked statically into the test programs, also in a shared-library
  # build (a MinGW gtest DLL clashes with the static libgcc over _Unwind_Resume).
  set(BUILD_SHARED_LIBS OFF)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
  set(gtest_force_shared_crt ON CACHE BOOL "" FORCE)
  if(WIN32)
    set(gtest_disable_pthreads ON CACHE BOOL "" FORCE)
  endif()
  if(EXISTS /usr/src/googletest/googletest/CMakeLists.txt)
    message(STATUS "interproc: building GoogleTest from /usr/src/googletest")
    add_subdirectory(/usr/src/googletest/googletest ${PROJECT_BINARY_DIR}/_deps/googletest EXCLUDE_FROM_ALL SYSTEM)
  else()
    message(STATUS "interproc: GoogleTest not found, fetching it")
    FetchContent_Declare(googletest GIT_REPOSITORY https://github.com/google/googletest GIT_TAG v1.14.0 GIT_SHALLOW ON SYSTEM)
    FetchContent_MakeAvailable(googletest)
  endif()
  # GoogleTest's own CMakeLists defines the alias since 1.11; older ones do not.
  if(NOT TARGET GTest::gtest)
    add_library(GTest::gtest ALIAS gtest)
  endif()
endfunction()
