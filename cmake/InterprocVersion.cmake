# SPDX-License-Identifier: MIT
# The version header <interproc/version.hpp> and the shared library's SOVERSION.
# While the version is 0.x every minor release may break the ABI, so the SOVERSION is
# MAJOR.MINOR (libinterproc.so.0.1); from 1.0 on it is MAJOR.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(INTERPROC_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(INTERPROC_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()
# Beside export.hpp: the build tree's include dir is already on interproc's include path,
# and InterprocInstall.cmake installs that folder with the headers.
configure_file(${PROJECT_SOURCE_DIR}/cmake/version.hpp.in ${PROJECT_BINARY_DIR}/include/interproc/version.hpp @ONLY)
