# SPDX-License-Identifier: Apache-2.0
# smarm_install_pkg_config(<target> <description>): generate and install <target>.pc for
# programs built without CMake (`g++ -std=c++20 x.cpp $(pkg-config --cflags --libs smarm)`).
#
# Generated from the target's INTERFACE properties at generate time, so it cannot drift
# from what smarm-config.cmake gives CMake users: its compile definitions (SMARM_TRACING),
# its stack-clash protection flag (SMARM_STACK_CLASH_PROTECTION),
# and its link dependencies — Threads (-pthread) and, with the io_uring backend, liburing
# (a `Requires:`, not `Requires.private:`: libsmarm.a is static, so every program links
# it). range-v3 is header-only and, on Debian, in the default include path. C++20 is
# required but not forced into Cflags: a -std there would override a newer one of the
# user's.
include_guard(GLOBAL)

function(smarm_install_pkg_config target description)
  set(requires "")
  get_target_property(deps ${target} INTERFACE_LINK_LIBRARIES)
  if("PkgConfig::LIBURING" IN_LIST deps)
    set(requires "liburing")
  endif()
  set(defs "$<TARGET_PROPERTY:${target},INTERFACE_COMPILE_DEFINITIONS>")
  # The one compile option the interface carries (SMARM_STACK_CLASH_PROTECTION): pkg-config
  # users' actor code needs it as much as CMake users'.
  set(options "")
  get_target_property(iface_options ${target} INTERFACE_COMPILE_OPTIONS)
  if(iface_options MATCHES "-fstack-clash-protection")
    set(options " -fstack-clash-protection")
  endif()
  set(pc "${PROJECT_BINARY_DIR}/pkgconfig/${target}.pc")
  # Relocatable: the prefix is found from where the .pc file is, so `cmake --install
  # --prefix <dir>` and a copied tree both work.
  file(RELATIVE_PATH up "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  file(GENERATE OUTPUT "${pc}" CONTENT
"prefix=\${pcfiledir}/${up}
includedir=\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}
libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}

Name: ${target}
Description: ${description} (C++20, Linux x86-64)
Version: ${PROJECT_VERSION}
Requires: ${requires}
Cflags: -I\${includedir} -pthread${options}$<$<BOOL:${defs}>: -D$<JOIN:${defs}, -D>>
Libs: -L\${libdir} -l${target} -pthread
")
  install(FILES "${pc}" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endfunction()
