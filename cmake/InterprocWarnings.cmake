# SPDX-License-Identifier: MIT
# Warnings as errors for the project's own targets only; dependencies build as they are.
function(interproc_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX /permissive- /utf-8)
    # std::getenv and friends are standard C++; MSVC's "unsafe" deprecation does not apply.
    target_compile_definitions(${target} PRIVATE _CRT_SECURE_NO_WARNINGS)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                             -Wsign-conversion -Wnon-virtual-dtor -Werror)
  endif()
endfunction()
