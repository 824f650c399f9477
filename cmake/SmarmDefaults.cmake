# SPDX-License-Identifier: Apache-2.0
# smarm_target_defaults(<target>)
#
# The one place that decides how smarm's own targets are compiled: warnings,
# SMARM_WERROR, SMARM_SANITIZE and (Clang) -Wthread-safety. Apply it to the
# library AND to every in-tree executable (tests, benchmarks, examples).
#
# Everything is PRIVATE and wrapped in $<BUILD_INTERFACE:...>, so nothing here
# reaches the exported smarm::smarm target or a consumer of the installed
# package. The price: libsmarm.a is a static library, which has no link step,
# so a sanitizer's *link* flags (its runtime) only reach an executable through
# that executable's own smarm_target_defaults() call. Hence "every in-tree
# executable", not just the library.
#
# Compile flags are limited to C++ sources; the .S context switch gets none.
include_guard(GLOBAL)
include(CheckCXXCompilerFlag)
include(CheckCXXSourceCompiles)

set(SMARM_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow)

# Paths in __FILE__ and in debug info relative to the source root, so that an object file
# does not depend on where the clone lives (ccache hits across clones: SmarmCcache.cmake).
check_cxx_compiler_flag("-ffile-prefix-map=${PROJECT_SOURCE_DIR}=." SMARM_HAVE_FILE_PREFIX_MAP)
set(SMARM_PATH_FLAGS "")
if(SMARM_HAVE_FILE_PREFIX_MAP)
  set(SMARM_PATH_FLAGS "-ffile-prefix-map=${PROJECT_SOURCE_DIR}=.")
endif()

# Clang thread-safety analysis (SMARM_GUARDED_BY etc.), only if the probe passes.
set(SMARM_HAVE_WTHREAD_SAFETY OFF)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  check_cxx_compiler_flag(-Wthread-safety _SMARM_PROBE_WTHREAD_SAFETY)
  if(_SMARM_PROBE_WTHREAD_SAFETY)
    set(SMARM_HAVE_WTHREAD_SAFETY ON)
    list(APPEND SMARM_WARNING_FLAGS -Wthread-safety)
  endif()
endif()

# Sanitizer flags, used for both compiling and linking.
set(SMARM_SANITIZER_FLAGS "")
if(SMARM_SANITIZE)
  list(JOIN SMARM_SANITIZE "," _smarm_san_joined)
  set(SMARM_SANITIZER_FLAGS "-fsanitize=${_smarm_san_joined}" -fno-omit-frame-pointer)
  if("undefined" IN_LIST SMARM_SANITIZE)
    list(APPEND SMARM_SANITIZER_FLAGS -fno-sanitize-recover=undefined)
  endif()
  unset(_smarm_san_joined)

  # Fail at configure time, with the fix, rather than at the first link.
  set(CMAKE_REQUIRED_FLAGS "${SMARM_SANITIZER_FLAGS}")
  string(REPLACE ";" " " CMAKE_REQUIRED_FLAGS "${CMAKE_REQUIRED_FLAGS}")
  set(CMAKE_REQUIRED_LINK_OPTIONS ${SMARM_SANITIZER_FLAGS})
  string(MAKE_C_IDENTIFIER "_SMARM_PROBE_SANITIZE_${SMARM_SANITIZE}" _smarm_probe_var)
  check_cxx_source_compiles("int main() { return 0; }" ${_smarm_probe_var})
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  if(NOT ${_smarm_probe_var})
    message(FATAL_ERROR
      "SMARM_SANITIZE=\"${SMARM_SANITIZE}\": ${CMAKE_CXX_COMPILER} cannot link "
      "'${SMARM_SANITIZER_FLAGS}'. On Debian: libclang-rt-14-dev for clang-14, "
      "libasan8/libubsan1/libtsan2 (pulled in by g++-12) for GCC. See scripts/install-deps.sh.")
  endif()
  unset(_smarm_probe_var)
endif()

function(smarm_target_defaults target)
  if(NOT TARGET ${target})
    message(FATAL_ERROR "smarm_target_defaults: '${target}' is not a target")
  endif()

  set(compile_flags ${SMARM_WARNING_FLAGS})
  if(SMARM_WERROR)
    list(APPEND compile_flags -Werror)
  endif()
  list(APPEND compile_flags ${SMARM_SANITIZER_FLAGS})

  target_compile_options(${target} PRIVATE
    "$<BUILD_INTERFACE:$<$<COMPILE_LANGUAGE:CXX>:${compile_flags}>>"
    "$<BUILD_INTERFACE:${SMARM_PATH_FLAGS}>")

  # Ignored for static libraries (no link step); that is what keeps the
  # sanitizer runtime out of smarm::smarm's interface.
  if(SMARM_SANITIZER_FLAGS)
    target_link_options(${target} PRIVATE "$<BUILD_INTERFACE:${SMARM_SANITIZER_FLAGS}>")
  endif()
endfunction()
