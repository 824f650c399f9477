// SPDX-License-Identifier: Apache-2.0
// sanitizers.hpp — which sanitizer this test binary is built with (GCC and Clang spellings).
//
// SMARM_TEST_ASAN / SMARM_TEST_TSAN are 1 or 0. Tests use them to skip what a sanitizer
// cannot run (death tests under TSan) and to annotate the few hand-made context switches.
#pragma once

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMARM_TEST_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define SMARM_TEST_TSAN 1
#endif
#endif
#if !defined(SMARM_TEST_ASAN) && defined(__SANITIZE_ADDRESS__)
#define SMARM_TEST_ASAN 1
#endif
#if !defined(SMARM_TEST_TSAN) && defined(__SANITIZE_THREAD__)
#define SMARM_TEST_TSAN 1
#endif
#ifndef SMARM_TEST_ASAN
#define SMARM_TEST_ASAN 0
#endif
#ifndef SMARM_TEST_TSAN
#define SMARM_TEST_TSAN 0
#endif
