# SPDX-License-Identifier: Apache-2.0
# Every SMARM_* option and cache STRING lives here; the top-level
# CMakeLists.txt prints them all in one STATUS line.
#
# Included after project(smarm), so PROJECT_IS_TOP_LEVEL refers to smarm:
# tests and examples default OFF when smarm is pulled in by another project.

option(SMARM_BUILD_TESTS "Build the GoogleTest suites (tests/)" ${PROJECT_IS_TOP_LEVEL})
option(SMARM_BUILD_BENCHMARKS "Build smarm-micro, smarm-bench and asio-bench (benchmarks/)" OFF)
option(SMARM_BUILD_EXAMPLES "Build the example programs (examples/)" ${PROJECT_IS_TOP_LEVEL})
# SMARM_INSTALL: install rules for the library, headers, CMake package and pkg-config
# files. Default ON only at the top level: a project that pulls smarm in with
# add_subdirectory or FetchContent does not install smarm's files by its own install
# unless it sets SMARM_INSTALL=ON.
option(SMARM_INSTALL "Generate smarm's install rules" ${PROJECT_IS_TOP_LEVEL})
# SMARM_STACK_CLASH_PROTECTION: smarm::smarm passes -fstack-clash-protection to the code
# of every target that links it (GCC and Clang), so a large frame or alloca in an actor
# probes its stack page by page and meets the guard below it, instead of jumping over it
# into the neighbouring actor's stack. Debian's GCC 12 does not enable it by default.
# OFF removes it from the interface (the library itself is still built with it): frames
# larger than the guard (64 KiB) in actor code may then corrupt another actor silently.
option(SMARM_STACK_CLASH_PROTECTION "Pass -fstack-clash-protection to smarm's users (actor code)" ON)
option(SMARM_WERROR "Treat compiler warnings as errors (smarm's own targets only)" OFF)
# SMARM_TRACING compiles the timeline tracer in (include/smarm/trace.hpp, LOOM.md
# "Tracing"). It becomes a PUBLIC compile definition of smarm::smarm (CMakeLists.txt), so
# the library, its tests and every consumer of the installed package agree on it: with it
# OFF, SMARM_TRACE() expands to nothing and the runtime contains no tracing code at all.
option(SMARM_TRACING "Record scheduler events in per-worker rings; SMARM_TRACE_FILE=path writes Chrome trace JSON" OFF)

# SMARM_IO_BACKEND picks the file src/io/<backend>_backend.cpp compiled into the library
# (io::backend_name() says which at run time). io_uring needs liburing (liburing-dev).
set(SMARM_IO_BACKEND "epoll" CACHE STRING "I/O backend: epoll or io_uring")
set_property(CACHE SMARM_IO_BACKEND PROPERTY STRINGS epoll io_uring)
if(NOT SMARM_IO_BACKEND MATCHES "^(epoll|io_uring)$")
  message(FATAL_ERROR "SMARM_IO_BACKEND: unknown backend '${SMARM_IO_BACKEND}' (use epoll or io_uring)")
endif()

# SMARM_SANITIZE: "" (none), "address;undefined" or "thread". Applied to
# smarm's own targets only, never to consumers of the installed package.
set(SMARM_SANITIZE "" CACHE STRING
    "Sanitizers for smarm's own targets: \"\", \"address;undefined\" or \"thread\"")
set_property(CACHE SMARM_SANITIZE PROPERTY STRINGS "" "address;undefined" "thread")

foreach(_smarm_san IN LISTS SMARM_SANITIZE)
  if(NOT _smarm_san MATCHES "^(address|undefined|thread)$")
    message(FATAL_ERROR "SMARM_SANITIZE: unknown sanitizer '${_smarm_san}' "
                        "(use \"\", \"address;undefined\" or \"thread\")")
  endif()
endforeach()
if("thread" IN_LIST SMARM_SANITIZE AND "address" IN_LIST SMARM_SANITIZE)
  message(FATAL_ERROR "SMARM_SANITIZE: thread and address sanitizers cannot be combined")
endif()

# SMARM_TEST_PROFILE sizes the tests (iteration counts, actor counts). It
# reaches every test as the compile definition SMARM_TEST_PROFILE_<FULL|REDUCED|TSAN>=1.
# Default: tsan under TSan, reduced under ASan or in Debug builds, else full.
if("thread" IN_LIST SMARM_SANITIZE)
  set(_smarm_profile_default "tsan")
elseif("address" IN_LIST SMARM_SANITIZE OR CMAKE_BUILD_TYPE STREQUAL "Debug")
  set(_smarm_profile_default "reduced")
else()
  set(_smarm_profile_default "full")
endif()
set(SMARM_TEST_PROFILE "${_smarm_profile_default}" CACHE STRING
    "Test sizing profile: full, reduced or tsan (default derived from SMARM_SANITIZE/CMAKE_BUILD_TYPE)")
set_property(CACHE SMARM_TEST_PROFILE PROPERTY STRINGS full reduced tsan)
if(NOT SMARM_TEST_PROFILE MATCHES "^(full|reduced|tsan)$")
  message(FATAL_ERROR "SMARM_TEST_PROFILE must be full, reduced or tsan (got '${SMARM_TEST_PROFILE}')")
endif()
unset(_smarm_profile_default)
unset(_smarm_san)

# SMARM_CCACHE: ccache as the compiler launcher, when installed (cmake/SmarmCcache.cmake).
option(SMARM_CCACHE "Use ccache as the compiler launcher when it is installed" ${PROJECT_IS_TOP_LEVEL})

# How the tests are built (tests/CMakeLists.txt says more):
#   SMARM_TEST_URING_COPY  also link the I/O tests and the random mix against an io_uring
#                          copy of the library (the asan preset: io_uring under ASan)
#   SMARM_TEST_PCH         precompile GoogleTest and <smarm/smarm.hpp> for the merged
#                          test executables
#   SMARM_TEST_ODR_CHECK   GCC: LTO-link the merged test executables with -Wodr (the
#                          uring preset)
option(SMARM_TEST_URING_COPY
  "Also link the I/O tests and the random mix against an io_uring copy of the library" OFF)
option(SMARM_TEST_PCH "Precompile GoogleTest and <smarm/smarm.hpp> for the merged test executables" ON)
option(SMARM_TEST_ODR_CHECK
  "GCC: LTO-link the merged test executables, so that -Wodr sees every file at once" OFF)
# SMARM_TEST_DEBUG_FLAGS: debug-info flags for the test objects only, after the build
# type's own (-g1 in the release, asan and tsan presets: line tables, a third less
# compile time than -g). Empty: as the build type says.
set(SMARM_TEST_DEBUG_FLAGS "" CACHE STRING "Debug-info flags for test objects (e.g. -g1); empty: the build type's")
