# Install rules and the exported package: find_package(interproc CONFIG) + interproc::interproc.
include(CMakePackageConfigHelpers)

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
