// SPDX-License-Identifier: Apache-2.0
// error_test.cpp — Result<T, E>, Error, Errc, BadResultAccess and the panic message format.
//
// Pure value semantics first (no runtime needed), then the one place a runtime is needed:
// an actor's exception becomes Errc::Panicked with the message "<type>: <what()>".
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"

namespace {

using smarm::BadResultAccess;
using smarm::Errc;
using smarm::Error;
using smarm::Result;

TEST(ErrorTest, ErrorWithoutMessageUsesTheCodeName) {
  Error e(Errc::TimedOut);
  EXPECT_EQ(e.code(), Errc::TimedOut);
  EXPECT_EQ(e.message(), "TimedOut");
  EXPECT_TRUE(e == Errc::TimedOut);
  EXPECT_FALSE(e == Errc::Closed);
}

TEST(ErrorTest, ErrorKeepsItsSpecificMessage) {
  Error e(Errc::InvalidConfig, "workers must be at least 1");
  EXPECT_EQ(e.code(), Errc::InvalidConfig);
  EXPECT_EQ(e.message(), "workers must be at least 1");
}

TEST(ErrorTest, ErrcNamesEveryEnumerator) {
  const std::vector<std::pair<Errc, std::string>> names = {
      {Errc::Closed, "Closed"},
      {Errc::Full, "Full"},
      {Errc::WouldBlock, "WouldBlock"},
      {Errc::TimedOut, "TimedOut"},
      {Errc::Cancelled, "Cancelled"},
      {Errc::StalePid, "StalePid"},
      {Errc::Panicked, "Panicked"},
      {Errc::InvalidConfig, "InvalidConfig"},
      {Errc::InvalidArgument, "InvalidArgument"},
      {Errc::NotInActor, "NotInActor"},
      {Errc::ResourceExhausted, "ResourceExhausted"},
      {Errc::AlreadyJoined, "AlreadyJoined"},
      {Errc::RestartIntensity, "RestartIntensity"},
      {Errc::BackendUnavailable, "BackendUnavailable"},
      {Errc::Eof, "Eof"},
      {Errc::ConnectionReset, "ConnectionReset"},
      {Errc::BadDescriptor, "BadDescriptor"},
      {Errc::Io, "Io"},
  };
  for (const auto& [code, name] : names) EXPECT_EQ(smarm::errc_name(code), name);
  EXPECT_EQ(std::string(smarm::errc_name(static_cast<Errc>(250))), "Unknown");
}

TEST(ErrorTest, ErrcEnumeratorsKeepTheirDocumentedOrder) {
  // "Append only": the first twelve values are fixed.
  EXPECT_EQ(static_cast<int>(Errc::Closed), 1);
  EXPECT_EQ(static_cast<int>(Errc::AlreadyJoined), 12);
  EXPECT_EQ(static_cast<int>(Errc::RestartIntensity), 13);
}

TEST(ErrorTest, ErrcConvertsToErrorCodeInSmarmCategory) {
  std::error_code ec = Errc::Cancelled;  // via is_error_code_enum + make_error_code
  EXPECT_EQ(&ec.category(), &smarm::error_category());
  EXPECT_EQ(ec.value(), static_cast<int>(Errc::Cancelled));
  EXPECT_NE(std::string(smarm::error_category().name()), "");
  EXPECT_FALSE(ec.message().empty());
}

TEST(ResultTest, ValueAccessors) {
  Result<int> r = 42;
  EXPECT_TRUE(r.has_value());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(r.value_or(7), 42);

  Result<std::string> s = std::string("hello");
  EXPECT_EQ(s->size(), 5u);
  s->append("!");
  EXPECT_EQ(*s, "hello!");
}

TEST(ResultTest, ErrorAccessors) {
  Result<int> r = Errc::WouldBlock;
  EXPECT_FALSE(r.has_value());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error().code(), Errc::WouldBlock);
  EXPECT_EQ(r.value_or(7), 7);

  Result<int> m = Error(Errc::Closed, "gone");
  EXPECT_EQ(m.error().code(), Errc::Closed);
  EXPECT_EQ(m.error().message(), "gone");
}

TEST(ResultTest, ValueOnErrorThrowsBadResultAccess) {
  Result<int> r = Error(Errc::StalePid, "old pid");
  try {
    (void)r.value();
    FAIL() << "value() on an error did not throw";
  } catch (const BadResultAccess& e) {
    EXPECT_EQ(e.errc(), Errc::StalePid);
    EXPECT_EQ(e.code(), smarm::make_error_code(Errc::StalePid));
    EXPECT_NE(std::string(e.what()).find("old pid"), std::string::npos) << e.what();
  }
  static_assert(std::is_base_of_v<std::system_error, BadResultAccess>);
  EXPECT_THROW((void)std::move(r).value(), std::system_error);
}

TEST(ResultTest, VoidResult) {
  Result<void> ok;
  EXPECT_TRUE(ok.has_value());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_NO_THROW(ok.value());
  *ok;

  Result<void> bad = Errc::Cancelled;
  EXPECT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), Errc::Cancelled);
  EXPECT_THROW(bad.value(), BadResultAccess);

  Result<void> copy = bad;  // copyable, keeps the error
  EXPECT_EQ(copy.error().code(), Errc::Cancelled);
  copy = ok;
  EXPECT_TRUE(copy.has_value());
  copy = Result<void>(Error(Errc::Closed, "x"));
  EXPECT_EQ(copy.error().message(), "x");
}

TEST(ResultTest, VoidResultWithErrorTypeThatIsNotDefaultConstructible) {
  struct Custom {
    explicit Custom(int v) : v_(v) {}
    Errc code() const { return Errc::Full; }
    std::string message() const { return "custom " + std::to_string(v_); }
    int v_;
  };
  Result<void, Custom> ok;
  EXPECT_TRUE(ok.has_value());
  Result<void, Custom> bad = Custom(3);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().v_, 3);
  try {
    bad.value();
    FAIL() << "value() on an error did not throw";
  } catch (const BadResultAccess& e) {
    EXPECT_EQ(e.errc(), Errc::Full);
    EXPECT_NE(std::string(e.what()).find("custom 3"), std::string::npos);
  }
}

TEST(ResultTest, MoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(**r, 5);
  int* raw = r->get();
  Result<std::unique_ptr<int>> moved = std::move(r);
  ASSERT_TRUE(moved.has_value());
  std::unique_ptr<int> out = std::move(moved).value();
  EXPECT_EQ(out.get(), raw);
  static_assert(!std::is_copy_constructible_v<Result<std::unique_ptr<int>>>);

  Result<std::unique_ptr<int>> e = Errc::Closed;
  EXPECT_EQ(e.error().code(), Errc::Closed);
  e = std::make_unique<int>(9);  // error -> value by assignment
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(**e, 9);
}

TEST(ResultTest, CopyAndAssignAcrossStates) {
  Result<std::string> a = std::string("a");
  Result<std::string> b = Errc::Full;
  Result<std::string> c = a;
  EXPECT_EQ(*c, "a");
  c = b;
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), Errc::Full);
  c = a;
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, "a");
  EXPECT_EQ(*a, "a");  // copying did not move from the source
}

TEST(ResultTest, UnexpectedBuildsTheError) {
  Result<std::string> r = smarm::unexpected(Error(Errc::Closed, "closed"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Errc::Closed);
  EXPECT_EQ(r.error().message(), "closed");
  Result<void> v = smarm::unexpected(Error(Errc::Full));
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code(), Errc::Full);
}

TEST(ResultTest, ErrorCanBeMovedOut) {
  Result<int> r = Error(Errc::Panicked, "std::runtime_error: boom");
  Error e = std::move(r).error();
  EXPECT_EQ(e.code(), Errc::Panicked);
  EXPECT_EQ(e.message(), "std::runtime_error: boom");
}

// --- panic messages -----------------------------------------------------------------

struct CustomFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(PanicMessageTest, StdExceptionIsTypeColonWhat) {
  auto r = smarm::test::run_on(1, []() -> int { throw std::runtime_error("boom"); });
  ASSERT_TRUE(smarm::test::has_errc(r, Errc::Panicked));
  EXPECT_EQ(r.error().message(), "std::runtime_error: boom");
}

TEST(PanicMessageTest, DerivedStdExceptionNamesTheDynamicType) {
  auto r = smarm::test::run_on(1, [] { throw std::out_of_range("index 7"); });
  ASSERT_TRUE(smarm::test::has_errc(r, Errc::Panicked));
  EXPECT_EQ(r.error().message(), "std::out_of_range: index 7");
}

TEST(PanicMessageTest, UserExceptionTypeIsDemangled) {
  auto r = smarm::test::run_on(1, [] { throw CustomFailure("it broke"); });
  ASSERT_TRUE(smarm::test::has_errc(r, Errc::Panicked));
  // The anonymous namespace is spelled differently by different demanglers; the class
  // name and the what() text are what matter.
  const std::string m = r.error().message();
  EXPECT_NE(m.find("CustomFailure: it broke"), std::string::npos) << m;
}

TEST(PanicMessageTest, NonStdExceptionStillPanicsWithItsTypeName) {
  // Not documented beyond "<type>": a non-std exception has no what(); the type must show.
  auto r = smarm::test::run_on(1, [] { throw 42; });
  ASSERT_TRUE(smarm::test::has_errc(r, Errc::Panicked));
  EXPECT_NE(r.error().message().find("int"), std::string::npos) << r.error().message();
}

}  // namespace
