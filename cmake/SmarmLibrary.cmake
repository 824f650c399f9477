# SPDX-License-Identifier: Apache-2.0
# smarm_add_library(<name> BACKEND <epoll|io_uring> [NO_ALLOC_HOOK] [NO_IPO])
#
# Builds one copy of the runtime as a static library. The copies differ in three ways
# only, so everything else is compiled once, into an object library, and shared:
#   BACKEND        which src/io/<backend>_backend.cpp is linked in (the installed
#                  library has SMARM_IO_BACKEND's; the asan preset's tests also build an
#                  io_uring copy);
#   NO_ALLOC_HOOK  src/core/preempt.cpp compiled without the replaced global operator
#                  new/delete (smarm_no_alloc_hook, for users with their own allocator);
#   NO_IPO         compiled without -flto even in an IPO build: the tests that do not
#                  check LTO behaviour link it (Clang's ThinLTO objects hold bitcode
#                  only; GCC's are fat, so there the shared objects serve both).
#
# The replaced operator new stays in preempt.cpp, an object every program that starts a
# runtime pulls in (Worker calls into it), so whether the hook is linked never depends on
# link order.
include_guard(GLOBAL)

file(GLOB _smarm_all_sources CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/src/core/*.cpp"
  "${PROJECT_SOURCE_DIR}/src/core/*.S"
  "${PROJECT_SOURCE_DIR}/src/io/*.cpp"
  "${PROJECT_SOURCE_DIR}/src/facade/*.cpp")
if(NOT _smarm_all_sources)
  message(FATAL_ERROR "smarm: no sources found under src/core, src/io or src/facade")
endif()
set(SMARM_SHARED_SOURCES ${_smarm_all_sources})
list(FILTER SMARM_SHARED_SOURCES EXCLUDE REGEX "/src/io/[a-z_]+_backend\\.cpp$")
list(FILTER SMARM_SHARED_SOURCES EXCLUDE REGEX "/src/core/preempt\\.cpp$")
set(SMARM_PREEMPT_SOURCE "${PROJECT_SOURCE_DIR}/src/core/preempt.cpp")
# .S (capital S) goes through the C preprocessor; make the language explicit.
file(GLOB _smarm_asm_sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/core/*.S")
if(_smarm_asm_sources)
  set_source_files_properties(${_smarm_asm_sources} PROPERTIES LANGUAGE ASM)
endif()
unset(_smarm_all_sources)
unset(_smarm_asm_sources)

include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-fstack-clash-protection SMARM_HAVE_STACK_CLASH_PROTECTION)

# How every object of the runtime is compiled, whichever copy it goes into.
function(_smarm_library_settings target backend)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_include_directories(${target}
    PUBLIC
      "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>"
      "$<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>"   # generated <smarm/version.hpp>
      "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>"
    PRIVATE
      "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(${target} PUBLIC Threads::Threads range-v3::range-v3)
  if(backend STREQUAL "io_uring")
    target_link_libraries(${target} PUBLIC PkgConfig::LIBURING)
  endif()
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  smarm_target_defaults(${target})
  # PUBLIC: SMARM_TRACING changes what SMARM_TRACE() expands to in users' code, so it must
  # reach every target that links smarm, consumers of the installed package included.
  if(SMARM_TRACING)
    target_compile_definitions(${target} PUBLIC SMARM_TRACING=1)
  endif()
  # Stack-clash protection (both GCC 12 and Clang 14 have it): for the library always, and
  # for its users' code too unless SMARM_STACK_CLASH_PROTECTION is OFF (SmarmOptions.cmake:
  # actor frames are where a large alloca would jump the guard).
  if(SMARM_HAVE_STACK_CLASH_PROTECTION)
    if(SMARM_STACK_CLASH_PROTECTION)
      target_compile_options(${target} PUBLIC
        "$<$<COMPILE_LANG_AND_ID:CXX,GNU,Clang>:-fstack-clash-protection>"
        "$<$<COMPILE_LANG_AND_ID:C,GNU,Clang>:-fstack-clash-protection>")
    else()
      target_compile_options(${target} PRIVATE
        "$<BUILD_INTERFACE:$<$<COMPILE_LANGUAGE:CXX>:-fstack-clash-protection>>")
    endif()
  endif()
  # CMake's GCC IPO uses -fno-fat-lto-objects, which would install an archive of GIMPLE
  # only, usable only by an LTO link with the same GCC. Fat objects keep libsmarm.a
  # linkable by any consumer and by the non-LTO tests; LTO links still use the IR.
  if(CMAKE_INTERPROCEDURAL_OPTIMIZATION AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:-ffat-lto-objects>")
  endif()
endfunction()

# The shared objects: smarm_objects (IPO as the build says) and, in a Clang IPO build,
# smarm_objects_no_ipo. Created on first use.
function(_smarm_objects out no_ipo)
  set(name smarm_objects)
  if(no_ipo AND CMAKE_INTERPROCEDURAL_OPTIMIZATION AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    set(name smarm_objects_no_ipo)
  endif()
  if(NOT TARGET ${name})
    add_library(${name} OBJECT ${SMARM_SHARED_SOURCES})
    _smarm_library_settings(${name} epoll)
    if(name STREQUAL "smarm_objects_no_ipo")
      set_target_properties(${name} PROPERTIES INTERPROCEDURAL_OPTIMIZATION OFF)
    endif()
  endif()
  set(${out} ${name} PARENT_SCOPE)
endfunction()

function(smarm_add_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "NO_ALLOC_HOOK;NO_IPO" "BACKEND" "")
  if(arg_UNPARSED_ARGUMENTS OR NOT arg_BACKEND MATCHES "^(epoll|io_uring)$")
    message(FATAL_ERROR "smarm_add_library(${name} BACKEND <epoll|io_uring> [NO_ALLOC_HOOK] [NO_IPO])")
  endif()
  if(arg_BACKEND STREQUAL "io_uring" AND NOT TARGET PkgConfig::LIBURING)
    # liburing from Debian's liburing-dev. PUBLIC: smarm is a static library, so its users
    # link liburing too (the installed package's config finds it the same way).
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(LIBURING REQUIRED IMPORTED_TARGET GLOBAL liburing)
  endif()
  _smarm_objects(objects "${arg_NO_IPO}")

  add_library(${name} STATIC
    $<TARGET_OBJECTS:${objects}>
    "${SMARM_PREEMPT_SOURCE}"
    "${PROJECT_SOURCE_DIR}/src/io/${arg_BACKEND}_backend.cpp")
  _smarm_library_settings(${name} ${arg_BACKEND})
  if(arg_NO_ALLOC_HOOK)
    target_compile_definitions(${name} PRIVATE SMARM_NO_ALLOC_HOOK=1)
  endif()
  if(objects STREQUAL "smarm_objects_no_ipo")
    set_target_properties(${name} PROPERTIES INTERPROCEDURAL_OPTIMIZATION OFF)
  endif()
endfunction()
