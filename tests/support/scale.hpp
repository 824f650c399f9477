// SPDX-License-Identifier: Apache-2.0
// scale.hpp — the one test-size knob: full in release, reduced in Debug/ASan, tsan under TSan.
//
// tests/CMakeLists.txt defines exactly one of SMARM_TEST_PROFILE_FULL, _REDUCED or _TSAN.
// A file compiled without any of them (a bare -fsyntax-only check) gets the reduced
// profile. Tests size their loops and actor counts only through scaled(), never with
// their own #ifs, so that one knob moves the whole suite. Under the tsan profile at most
// ~4,000 actors may be alive at once (TSan's per-fiber cost).
#pragma once

#include <cstddef>

namespace smarm::test {

#if defined(SMARM_TEST_PROFILE_FULL) + defined(SMARM_TEST_PROFILE_REDUCED) + \
        defined(SMARM_TEST_PROFILE_TSAN) >                                   \
    1
#error "at most one SMARM_TEST_PROFILE_* may be defined"
#endif

#if defined(SMARM_TEST_PROFILE_FULL)
inline constexpr bool kFullProfile = true;
inline constexpr bool kReducedProfile = false;
inline constexpr bool kTsanProfile = false;
inline constexpr const char* kProfileName = "full";
#elif defined(SMARM_TEST_PROFILE_TSAN)
inline constexpr bool kFullProfile = false;
inline constexpr bool kReducedProfile = false;
inline constexpr bool kTsanProfile = true;
inline constexpr const char* kProfileName = "tsan";
#else
inline constexpr bool kFullProfile = false;
inline constexpr bool kReducedProfile = true;
inline constexpr bool kTsanProfile = false;
inline constexpr const char* kProfileName = "reduced";
#endif

// kMaxLiveActors bounds how many actors a test keeps alive at once in this profile.
inline constexpr std::size_t kMaxLiveActors = kTsanProfile ? 4000 : 1'000'000;

// scaled(full, reduced, tsan) picks the size for the current profile.
template <class T>
constexpr T scaled(T full, T reduced, T tsan) noexcept {
  if constexpr (kFullProfile) {
    return full;
  } else if constexpr (kTsanProfile) {
    return tsan;
  } else {
    return reduced;
  }
}

}  // namespace smarm::test
