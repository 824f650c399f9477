# SPDX-License-Identifier: Apache-2.0
# cmake -DNM=<nm> -DBINARY=<executable> -P one_copy.cmake
#
# The executable of the shared-library consumer links only libconsumer_shared.so, which
# holds smarm. It must define nothing of smarm's — no runtime symbol, no operator new —
# or the process would hold two runtimes (two sets of TLS, two allocator hooks).
if(NOT NM OR NOT BINARY)
  message(FATAL_ERROR "usage: cmake -DNM=<nm> -DBINARY=<executable> -P one_copy.cmake")
endif()
execute_process(COMMAND "${NM}" -C --defined-only "${BINARY}"
  OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} ${BINARY} failed (${rc})")
endif()
string(REGEX MATCHALL "[^\n]*(smarm::|smarm_tls_|operator new)[^\n]*" found "${symbols}")
if(found)
  list(JOIN found "\n  " found)
  message(FATAL_ERROR "${BINARY} defines symbols of smarm's own; it should reach the "
                      "runtime only through libconsumer_shared.so:\n  ${found}")
endif()
message(STATUS "${BINARY}: no smarm symbol of its own")
