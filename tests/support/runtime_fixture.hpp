// SPDX-License-Identifier: Apache-2.0
// runtime_fixture.hpp — running a test body inside a runtime, with a leak check after.
//
//   auto r = smarm::test::run_checked(smarm::Config::exact(2), [] { ... return 42; });
//
//   class ChannelWorkersTest : public smarm::test::WorkersTest {};
//   TEST_P(ChannelWorkersTest, OrderIsFifo) { auto r = run([] { ... }); }
//   SMARM_INSTANTIATE_WORKERS(ChannelWorkersTest);   // workers = 1, 2, 4
//
// Leak check: once run() has returned, Runtime::last_stats() must show no actor alive, no
// stack in use (every actor ended and gave its stack back), no timer pending and no
// supervision record left (every deadline and monitor went with its actor). The check is an EXPECT,
// so the test continues and reports every problem. Assertion helpers for Result values (is_ok,
// has_errc) live here too: they print the error's message when they fail.
//
// Not here: timing of any kind. Tests check order, counts and results only (the one
// clock read, timers_armed_before, only tells whether an order test can be judged).
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/scale.hpp"

namespace smarm {
// PrintTo lets GoogleTest print an Errc by name in failure messages (found by ADL).
inline void PrintTo(Errc code, std::ostream* os) { *os << errc_name(code); }
}  // namespace smarm

namespace smarm::test {

// expect_no_leaks checks the counters a finished runtime left behind.
inline void expect_no_leaks(const Stats& last, const char* where = "runtime") {
  EXPECT_EQ(last.actors_alive, 0u) << where << ": actors still alive after run()";
  EXPECT_EQ(last.stacks_in_use, 0u) << where << ": stacks still in use after run()";
  EXPECT_EQ(last.actors_parked, 0u) << where << ": actors still parked after run()";
  EXPECT_EQ(last.io_waits, 0u) << where << ": I/O waits still registered after run()";
  EXPECT_EQ(last.timers_pending, 0u) << where << ": timers still pending after run()";
  EXPECT_EQ(last.supervision_records, 0u)
      << where << ": supervision records still alive after run()";
}

// run_checked runs f as the root actor of a fresh runtime with config, checks for leaks
// and returns run()'s result.
template <class F>
auto run_checked(Config config, F&& f) {
  auto rt = runtime::init(std::move(config));
  auto r = rt.run(std::forward<F>(f));
  expect_no_leaks(rt.last_stats());
  return r;
}

// run_on(n, f) is run_checked(Config::exact(n), f).
template <class F>
auto run_on(std::size_t workers, F&& f) {
  return run_checked(Config::exact(workers), std::forward<F>(f));
}

// timers_armed_before(n, first_deadline), called from an actor of the runtime, yields
// until stats() counts n pending timers or first_deadline comes, and says whether all n
// were armed before it. Order tests need that: a sleep whose deadline passed before it
// looked returns at once, ahead of due timers not yet fired (seen under TSan and
// valgrind on a loaded machine). The count is read before the clock: every timer it
// counts was armed before then.
inline bool timers_armed_before(std::uint64_t n, Clock::time_point first_deadline) {
  while (stats().timers_pending < n && Clock::now() < first_deadline) (void)yield_now();
  return stats().timers_pending >= n && Clock::now() < first_deadline;
}

// describe(r) is the error's code name and message, or "ok".
template <class T, class E>
std::string describe(const Result<T, E>& r) {
  if (r.has_value()) return "ok";
  return std::string(errc_name(r.error().code())) + " (" + r.error().message() + ")";
}

// is_ok(r): EXPECT_TRUE(is_ok(r)) prints the error when r holds one.
template <class T, class E>
::testing::AssertionResult is_ok(const Result<T, E>& r) {
  if (r.has_value()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected a value, got " << describe(r);
}

// has_errc(r, code): EXPECT_TRUE(has_errc(r, Errc::Closed)).
template <class T, class E>
::testing::AssertionResult has_errc(const Result<T, E>& r, Errc code) {
  if (r.has_value())
    return ::testing::AssertionFailure() << "expected " << errc_name(code) << ", got a value";
  if (r.error().code() != code)
    return ::testing::AssertionFailure()
           << "expected " << errc_name(code) << ", got " << describe(r);
  return ::testing::AssertionSuccess();
}

// errc_or_ok(r) is r's error code, or nullopt-like "no error" as Errc{} (0 is no
// enumerator), handy for returning an outcome out of an actor.
template <class T, class E>
Errc errc_or_ok(const Result<T, E>& r) {
  return r.has_value() ? Errc{} : r.error().code();
}

// WorkersTest is a fixture parameterized over the worker count; run(f) runs f in a
// runtime with GetParam() workers and checks for leaks afterwards.
class WorkersTest : public ::testing::TestWithParam<std::size_t> {
 protected:
  std::size_t workers() const { return GetParam(); }
  template <class F>
  auto run(F&& f) {
    return run_checked(Config::exact(GetParam()), std::forward<F>(f));
  }
};

// numbered("W", 2) is "W2". Appended, not `"W" + std::to_string(n)`: once that operator+
// is inlined into a test at -O3, GCC 12 warns falsely (-Wrestrict, -Wstringop-overflow)
// and -Werror stops the release build.
inline std::string numbered(const char* prefix, std::size_t n) {
  std::string name = prefix;
  name += std::to_string(n);
  return name;
}

inline std::string workers_param_name(const ::testing::TestParamInfo<std::size_t>& info) {
  return numbered("W", info.param);
}

}  // namespace smarm::test

// SMARM_INSTANTIATE_WORKERS(Suite) runs every TEST_P of Suite with 1, 2 and 4 workers.
#define SMARM_INSTANTIATE_WORKERS(Suite)                                            \
  INSTANTIATE_TEST_SUITE_P(Workers, Suite, ::testing::Values<std::size_t>(1, 2, 4), \
                           ::smarm::test::workers_param_name)
