// SPDX-License-Identifier: Apache-2.0
// mutex_death_test.cpp — destroying a locked Mutex is a precondition violation that debug
// builds catch (an assertion in MutexCore's destructor). Skipped where NDEBUG removes it.
#include <utility>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

namespace {

class MutexDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

void destroy_while_locked() {
  // The guard is leaked on purpose: it must never touch the dead mutex, even if the
  // check failed to fire (the child process then exits and the test reports it).
  auto* guard = new smarm::MutexGuard<int>();
  {
    smarm::Mutex<int> m(1);
    *guard = std::move(m.try_lock().value());
  }  // m dies here, still locked by *guard
}

TEST_F(MutexDeathTest, DestroyingALockedMutexAsserts) {
#ifdef NDEBUG
  GTEST_SKIP() << "the destructor's check is an assert; NDEBUG removes it";
#endif
  EXPECT_DEATH(destroy_while_locked(), "destroyed while locked");
}

TEST_F(MutexDeathTest, DestroyingAnUnlockedMutexIsFine) {
  { smarm::Mutex<int> m(1); }
  {
    smarm::Mutex<int> m(2);
    auto g = m.try_lock();
    EXPECT_TRUE(g.has_value());
  }  // the guard (declared later) dies first: fine
  SUCCEED();
}

}  // namespace
