# SPDX-License-Identifier: Apache-2.0
# label_tests.cmake — run by ctest (a TEST_INCLUDE_FILES script, right after
# gtest_discover_tests' own), once per test executable: gives every discovered test the
# labels and timeout of the source file that defines it (tests/CMakeLists.txt lists them).
#
# Input variables (set by the executable's <name>_labels.cmake):
#   SMARM_LABEL_EXECUTABLE  the test executable
#   SMARM_LABEL_TESTS       the ctest names gtest_discover_tests gave its tests
#   SMARM_LABEL_PREFIX      their common prefix ("core.")
#   SMARM_LABEL_DIR         the tests/<dir> the sources are in
#   SMARM_LABEL_EXTRA       labels every test of this executable gets as well
#
# The file of each test comes from GoogleTest itself (--gtest_list_tests with JSON output
# names the file and line of every test), not from parsing the sources. A test whose
# file cannot be told is an error, never a test left without labels: the presets select
# by label (the dev preset excludes "stress"), so a lost label would silently run or skip
# tests.
cmake_policy(PUSH)
cmake_policy(VERSION 3.25)  # ctest runs this with no policies set (IN_LIST needs 3.3)
if(NOT SMARM_LABEL_TESTS)
  message(FATAL_ERROR "label_tests: no tests were discovered in ${SMARM_LABEL_EXECUTABLE}")
endif()
get_filename_component(_smarm_exe_name "${SMARM_LABEL_EXECUTABLE}" NAME)
get_filename_component(_smarm_exe_dir "${SMARM_LABEL_EXECUTABLE}" DIRECTORY)
set(_smarm_json "${_smarm_exe_dir}/${_smarm_exe_name}_list.json")
execute_process(
  COMMAND "${SMARM_LABEL_EXECUTABLE}" --gtest_list_tests "--gtest_output=json:${_smarm_json}"
  OUTPUT_QUIET ERROR_VARIABLE _smarm_err RESULT_VARIABLE _smarm_rc TIMEOUT 60)
if(NOT _smarm_rc EQUAL 0 OR NOT EXISTS "${_smarm_json}")
  message(FATAL_ERROR "label_tests: ${SMARM_LABEL_EXECUTABLE} --gtest_list_tests failed "
                      "(${_smarm_rc}): ${_smarm_err}")
endif()
file(READ "${_smarm_json}" _smarm_list)

# The file of every GoogleTest name ("Suite.Test", "Inst/Suite.Test/Param").
string(JSON _smarm_nsuites LENGTH "${_smarm_list}" testsuites)
math(EXPR _smarm_last_suite "${_smarm_nsuites} - 1")
foreach(_smarm_i RANGE ${_smarm_last_suite})
  string(JSON _smarm_suite GET "${_smarm_list}" testsuites ${_smarm_i})
  string(JSON _smarm_suite_name GET "${_smarm_suite}" name)
  string(JSON _smarm_ntests LENGTH "${_smarm_suite}" testsuite)
  math(EXPR _smarm_last_test "${_smarm_ntests} - 1")
  foreach(_smarm_j RANGE ${_smarm_last_test})
    string(JSON _smarm_test_name GET "${_smarm_suite}" testsuite ${_smarm_j} name)
    string(JSON _smarm_file GET "${_smarm_suite}" testsuite ${_smarm_j} file)
    if(NOT _smarm_file MATCHES "/([a-z0-9_]+)_test\\.cpp$")
      message(FATAL_ERROR "label_tests: ${_smarm_suite_name}.${_smarm_test_name} is defined "
                          "in '${_smarm_file}', not in a tests/<dir>/<unit>_test.cpp")
    endif()
    set("_smarm_unit_of_${_smarm_suite_name}.${_smarm_test_name}" "${CMAKE_MATCH_1}")
  endforeach()
endforeach()

# Group ctest's names by unit. gtest_discover_tests names a test
# "<prefix><Suite>.<Test>", with "  # GetParam() = ..." appended for parameterised ones.
set(_smarm_units "")
string(LENGTH "${SMARM_LABEL_PREFIX}" _smarm_prefix_length)
foreach(_smarm_t IN LISTS SMARM_LABEL_TESTS)
  string(SUBSTRING "${_smarm_t}" ${_smarm_prefix_length} -1 _smarm_gtest_name)
  string(REGEX REPLACE "  # .*$" "" _smarm_gtest_name "${_smarm_gtest_name}")
  set(_smarm_stem "${_smarm_unit_of_${_smarm_gtest_name}}")
  if(NOT _smarm_stem)
    message(FATAL_ERROR "label_tests: ${_smarm_exe_name}: '${_smarm_t}' is not in "
                        "GoogleTest's JSON listing, so its source file is unknown")
  endif()
  if(NOT _smarm_stem IN_LIST _smarm_units)
    list(APPEND _smarm_units "${_smarm_stem}")
    set(_smarm_tests_of_${_smarm_stem} "")
  endif()
  list(APPEND _smarm_tests_of_${_smarm_stem} "${_smarm_t}")
endforeach()

set(_smarm_labelled 0)
foreach(_smarm_stem IN LISTS _smarm_units)
  set(_smarm_labels "${SMARM_LABEL_DIR}" "${_smarm_stem}" ${SMARM_LABEL_EXTRA})
  set(_smarm_timeout 300)
  if(SMARM_LABEL_DIR STREQUAL "stress" OR _smarm_stem MATCHES "_stress$")
    list(APPEND _smarm_labels stress)
    set(_smarm_timeout 600)
  else()
    list(APPEND _smarm_labels unit)
  endif()
  if(_smarm_stem MATCHES "_death$")
    list(APPEND _smarm_labels death)
  endif()
  # set_tests_properties fails on a name ctest does not know: the two listings disagree.
  list(LENGTH _smarm_tests_of_${_smarm_stem} _smarm_n)
  math(EXPR _smarm_labelled "${_smarm_labelled} + ${_smarm_n}")
  set_tests_properties(${_smarm_tests_of_${_smarm_stem}} PROPERTIES
    LABELS "${_smarm_labels}" TIMEOUT ${_smarm_timeout})
endforeach()

list(LENGTH SMARM_LABEL_TESTS _smarm_total)
if(NOT _smarm_labelled EQUAL _smarm_total)
  message(FATAL_ERROR "label_tests: ${_smarm_exe_name}: ${_smarm_labelled} of ${_smarm_total} "
                      "discovered tests matched GoogleTest's JSON listing")
endif()
cmake_policy(POP)
