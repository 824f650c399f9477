# SPDX-License-Identifier: Apache-2.0
# gtest_filter_of_unit.cmake — prints the --gtest_filter that selects exactly the tests of
# one source file of a merged test executable (scripts/valgrind-subset.sh uses it):
#   cmake -DEXECUTABLE=build/dev/tests/core_tests -DUNIT=channel -P gtest_filter_of_unit.cmake
# prints "ChannelTest.*:Workers/ChannelWorkersTest.*" (every suite defined in
# tests/<dir>/channel_test.cpp). Exits with an error if the unit has no tests there.
cmake_policy(VERSION 3.25)
if(NOT EXECUTABLE OR NOT UNIT)
  message(FATAL_ERROR "usage: cmake -DEXECUTABLE=<test binary> -DUNIT=<unit> -P ${CMAKE_CURRENT_LIST_FILE}")
endif()
string(RANDOM LENGTH 8 _tag)
set(_json "${CMAKE_CURRENT_BINARY_DIR}/gtest_filter_of_unit_${_tag}.json")
execute_process(COMMAND "${EXECUTABLE}" --gtest_list_tests "--gtest_output=json:${_json}"
                OUTPUT_QUIET RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0 OR NOT EXISTS "${_json}")
  message(FATAL_ERROR "${EXECUTABLE} --gtest_list_tests failed (${_rc})")
endif()
file(READ "${_json}" _list)
file(REMOVE "${_json}")
set(_suites "")
string(JSON _n LENGTH "${_list}" testsuites)
math(EXPR _last "${_n} - 1")
foreach(_i RANGE ${_last})
  string(JSON _name GET "${_list}" testsuites ${_i} name)
  string(JSON _file GET "${_list}" testsuites ${_i} testsuite 0 file)
  if(_file MATCHES "/${UNIT}_test\\.cpp$")
    list(APPEND _suites "${_name}.*")
  endif()
endforeach()
if(NOT _suites)
  message(FATAL_ERROR "${EXECUTABLE} has no tests from ${UNIT}_test.cpp")
endif()
list(JOIN _suites ":" _filter)
execute_process(COMMAND "${CMAKE_COMMAND}" -E echo "${_filter}")
