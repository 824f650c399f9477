# SPDX-License-Identifier: Apache-2.0
# ccache as the compiler launcher (SMARM_CCACHE, default ON when smarm is the top-level
# project and ccache is installed; scripts/install-deps.sh installs it).
#
# Set up so that a fresh clone in another directory hits the cache that an earlier build
# left (a developer's second clone, CI after a sitting):
#   - base_dir = the source root: ccache rewrites absolute paths below it to relative
#     ones before hashing, so /work/main/src/x.cpp and /tmp/ci/src/x.cpp hash alike;
#   - hash_dir = false: the build directory's absolute path is not hashed either;
#   - -ffile-prefix-map=<root>=. (smarm_target_defaults): __FILE__ and the debug info
#     name files relative to the root, so a cached object carries no clone's path.
# ccache 4.7 (Debian 12) takes its settings from the environment only, hence the
# `cmake -E env` in front of it. LTO links are not cached: budget them as cold.
#
# Not applied when the user set CMAKE_<LANG>_COMPILER_LAUNCHER, or when smarm is a
# subproject (the parent project decides how it compiles).
include_guard(GLOBAL)

# SMARM_CCACHE: cmake/SmarmOptions.cmake.
set(SMARM_CCACHE_PROGRAM "")
if(SMARM_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(SMARM_CCACHE_PROGRAM_PATH ccache)
  mark_as_advanced(SMARM_CCACHE_PROGRAM_PATH)
  if(SMARM_CCACHE_PROGRAM_PATH)
    set(SMARM_CCACHE_PROGRAM "${SMARM_CCACHE_PROGRAM_PATH}")
    set(_smarm_launcher
      "${CMAKE_COMMAND}" -E env
      "CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}"
      CCACHE_NOHASHDIR=1
      # Precompiled headers (tests/CMakeLists.txt): ccache may use them only with these.
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      "${SMARM_CCACHE_PROGRAM_PATH}")
    set(CMAKE_CXX_COMPILER_LAUNCHER ${_smarm_launcher})
    set(CMAKE_ASM_COMPILER_LAUNCHER ${_smarm_launcher})
    unset(_smarm_launcher)
  endif()
endif()
