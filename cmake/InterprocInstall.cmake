# SPDX-License-Identifier: MIT
# Install rules and the exported package: find_package(interproc CONFIG) + interproc::interproc.
include(CMakePackageConfigHelpers)

# An installed program finds a shared libinterproc next to its own place, wherever the
# prefix is put: RUNPATH $ORIGIN/../lib (ld.so(8) "Dynamic string tokens"), macOS
# @loader_path/../lib (dyld(1)). Windows finds a DLL in the program's own directory.
if(BUILD_SHARED_LIBS AND NOT WIN32 AND TARGET interproc-demo AND NOT IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}")
  if(APPLE)
    set(interproc_origin "@loader_path")
  else()
    set(interproc_origin "$ORIGIN")
  endif()
  file(RELATIVE_PATH interproc_bin_to_lib "/root/${CMAKE_INSTALL_BINDIR}" "/root/${CMAKE_INSTALL_LIBDIR}")
  set_target_properties(interproc-demo PROPERTIES INSTALL_RPATH "${interproc_origin}/${interproc_bin_to_lib}")
endif()

install(TARGETS interproc EXPORT interprocTargets
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/interproc ${PROJECT_BINARY_DIR}/include/interproc
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/interproc)
install(EXPORT interprocTargets NAMESPACE interproc:: DESTINATION ${config_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/interprocConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/interprocConfig.cmake INSTALL_DESTINATION ${config_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/interprocConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/interprocConfig.cmake ${PROJECT_BINARY_DIR}/interprocConfigVersion.cmake
        DESTINATION ${config_dir})

# The license, where distributions and package managers look for it.
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/interproc)

# pkg-config: <libdir>/pkgconfig/interproc.pc. Its prefix is found from the file's own place
# (${pcfiledir}), so the package works wherever it is installed or unpacked
# (`cmake --install --prefix`, a .tar.gz, `dpkg-deb -x`); `--define-variable=prefix=...`
# still overrides it.
set(pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(INTERPROC_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(INTERPROC_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(INTERPROC_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH pc_to_prefix "/root/${pc_dir}" "/root")
  string(REGEX REPLACE "/$" "" pc_to_prefix "${pc_to_prefix}")
  set(INTERPROC_PC_PREFIX "\${pcfiledir}/${pc_to_prefix}")
  set(INTERPROC_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(INTERPROC_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# GSL is header-only and needs no library: its include dir is named only when it is not one
# the compiler searches anyway. A GSL that the build fetched is installed into includedir.
set(INTERPROC_PC_CFLAGS "")
if(NOT TARGET GSL)
  get_target_property(gsl_includes Microsoft.GSL::GSL INTERFACE_INCLUDE_DIRECTORIES)
  foreach(dir IN LISTS gsl_includes)
    if(dir AND NOT dir MATCHES "^(/usr/include|/usr/local/include)/?$" AND NOT dir MATCHES "^\\$<")
      string(APPEND INTERPROC_PC_CFLAGS " -I${dir}")
    endif()
  endforeach()
endif()
# A static library brings its dependencies along: -pthread (POSIX) or the Win32 import
# libraries go into Libs too, so that `pkg-config --libs` links without --static.
if(WIN32)
  set(INTERPROC_PC_LIBS_PRIVATE " -ladvapi32 -lshell32")
else()
  set(INTERPROC_PC_LIBS_PRIVATE " -pthread")
endif()
set(INTERPROC_PC_LIBS "")
if(NOT BUILD_SHARED_LIBS)
  string(APPEND INTERPROC_PC_CFLAGS " -DINTERPROC_STATIC_DEFINE")
  set(INTERPROC_PC_LIBS "${INTERPROC_PC_LIBS_PRIVATE}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/interproc.pc.in ${PROJECT_BINARY_DIR}/interproc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/interproc.pc DESTINATION ${pc_dir})
