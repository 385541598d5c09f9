# SPDX-License-Identifier: MIT
# The API reference: `cmake --build <build> --target docs` runs Doxygen over the public
# headers (include/interproc/*.hpp and the generated version.hpp) into <build>/docs/html.
# Every public name must be documented: a warning fails the build (WARN_AS_ERROR).
find_package(Doxygen REQUIRED)
set(INTERPROC_DOCS_INPUT "${PROJECT_SOURCE_DIR}/include/interproc ${PROJECT_BINARY_DIR}/include/interproc/version.hpp")
set(INTERPROC_DOCS_OUTPUT ${PROJECT_BINARY_DIR}/docs)
configure_file(${PROJECT_SOURCE_DIR}/docs/Doxyfile.in ${PROJECT_BINARY_DIR}/Doxyfile @ONLY)
file(GLOB interproc_public_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/interproc/*.hpp)
add_custom_command(OUTPUT ${INTERPROC_DOCS_OUTPUT}/html/index.html
                   COMMAND ${CMAKE_COMMAND} -E make_directory ${INTERPROC_DOCS_OUTPUT}
                   COMMAND Doxygen::doxygen ${PROJECT_BINARY_DIR}/Doxyfile
                   DEPENDS ${PROJECT_BINARY_DIR}/Doxyfile ${interproc_public_headers}
                           ${PROJECT_BINARY_DIR}/include/interproc/version.hpp
                   WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                   COMMENT "Doxygen: the API reference in ${INTERPROC_DOCS_OUTPUT}/html"
                   VERBATIM)
add_custom_target(docs DEPENDS ${INTERPROC_DOCS_OUTPUT}/html/index.html)
if(INTERPROC_INSTALL)
  install(DIRECTORY ${INTERPROC_DOCS_OUTPUT}/html/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/html OPTIONAL)
endif()
