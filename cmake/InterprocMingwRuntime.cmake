# SPDX-License-Identifier: MIT
# A MinGW shared build links the C++ runtime dynamically (see cmake/mingw-w64.cmake); Windows
# finds DLLs beside the program, so the runtime's DLLs are copied into the output folder.
foreach(dll IN ITEMS libstdc++-6.dll libgcc_s_seh-1.dll libwinpthread-1.dll)
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${dll}
                  OUTPUT_VARIABLE dll_path OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(IS_ABSOLUTE "${dll_path}" AND EXISTS "${dll_path}")
    file(COPY "${dll_path}" DESTINATION "${CMAKE_RUNTIME_OUTPUT_DIRECTORY}")
  else()
    message(WARNING "interproc: ${dll} not found; programs of this shared build may not start")
  endif()
endforeach()
