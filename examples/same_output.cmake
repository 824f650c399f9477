# SPDX-License-Identifier: Apache-2.0
# same_output.cmake — runs two example programs and fails unless both succeed and print
# exactly the same standard output (used for an Asio example and its smarm translation).
#   cmake -DFIRST=<program> -DSECOND=<program> -P same_output.cmake
foreach(var FIRST SECOND)
  if(NOT ${var})
    message(FATAL_ERROR "same_output.cmake: -D${var}=<program> is required")
  endif()
  execute_process(COMMAND "${${var}}" RESULT_VARIABLE rc OUTPUT_VARIABLE out_${var})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${${var}} failed (exit ${rc})")
  endif()
endforeach()
if(NOT out_FIRST STREQUAL out_SECOND)
  message(FATAL_ERROR "outputs differ:\n${FIRST}:\n${out_FIRST}\n${SECOND}:\n${out_SECOND}")
endif()
if(out_FIRST STREQUAL "")
  message(FATAL_ERROR "both programs printed nothing")
endif()
message(STATUS "same output: ${out_FIRST}")
