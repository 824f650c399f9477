// SPDX-License-Identifier: Apache-2.0
// context_test.cpp — the context switch: registers, stack alignment, FP control state and
// C++ exception state survive a switch, both for bare contexts made with make_context (on
// stacks this file maps itself) and for actors switched by the scheduler.
//
// Bare contexts are switched by this file, so it annotates them for ASan and TSan itself
// (RawFiber). Callee-saved registers are checked with inline asm that loads known values
// into rbx and r12-r15, calls the switch (or yield_now) from asm, and stores what the
// registers hold afterwards: compiled code could not hold values there reliably. rbp is not
// checked: it is the frame pointer in Debug builds and cannot be clobbered from asm.
#include "core/context.hpp"

#include <sys/mman.h>
#include <unistd.h>
#include <xmmintrin.h>

#include <cfenv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/sanitizers.hpp"
#include "support/scale.hpp"

#if SMARM_TEST_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if SMARM_TEST_TSAN
#include <sanitizer/tsan_interface.h>
#endif

// smarm_test_rsp_at_call() returns the caller's rsp just before its `call` instruction,
// which the ABI requires to be 16-byte aligned.
asm(R"(
    .text
    .globl smarm_test_rsp_at_call
    .type smarm_test_rsp_at_call, @function
    .p2align 4
smarm_test_rsp_at_call:
    leaq 8(%rsp), %rax
    ret
    .size smarm_test_rsp_at_call, .-smarm_test_rsp_at_call
)");
extern "C" std::uintptr_t smarm_test_rsp_at_call();

namespace {

using smarm::detail::make_context;
using smarm::detail::smarm_context_switch;
using smarm::test::is_ok;

// --- a bare fiber on an mmap'd stack ------------------------------------------------

class RawFiber {
 public:
  using Body = void (*)(RawFiber&);

  RawFiber(std::size_t size, Body body, void* user_data = nullptr) : user(user_data), body_(body) {
    page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    size_ = size;
    map_ = mmap(nullptr, size_ + page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map_ == MAP_FAILED) std::abort();
    if (mprotect(map_, page_, PROT_NONE) != 0) std::abort();  // guard below the stack
    stack_lo_ = static_cast<char*>(map_) + page_;
    fiber_sp_ = make_context(stack_lo_ + size_, &RawFiber::entry, this);
#if SMARM_TEST_TSAN
    tsan_fiber_ = __tsan_create_fiber(0);
#endif
  }
  RawFiber(const RawFiber&) = delete;
  RawFiber& operator=(const RawFiber&) = delete;
  ~RawFiber() {
#if SMARM_TEST_TSAN
    __tsan_destroy_fiber(tsan_fiber_);
#endif
    munmap(map_, size_ + page_);
  }

  // resume() runs the fiber until it suspends or finishes. Only from the main context.
  void resume() {
    before_resume();
    smarm_context_switch(&main_sp_, fiber_sp_);
    after_resume();
  }
  // suspend() goes back to the context that resumed the fiber. Only from the fiber.
  void suspend() {
    before_suspend(false);
    smarm_context_switch(&fiber_sp_, main_sp_);
    after_suspend();
  }
  bool finished() const { return finished_; }
  char* stack_lo() const { return stack_lo_; }
  char* stack_hi() const { return stack_lo_ + size_; }

  // For a switch made by hand (from asm): the two arguments of smarm_context_switch and
  // the annotations that must surround it.
  void** main_sp_slot() { return &main_sp_; }
  void* fiber_sp() const { return fiber_sp_; }
  void before_resume() {
#if SMARM_TEST_ASAN
    __sanitizer_start_switch_fiber(&main_fake_, stack_lo_, size_);
#endif
#if SMARM_TEST_TSAN
    main_tsan_ = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(tsan_fiber_, 0);
#endif
  }
  void after_resume() {
#if SMARM_TEST_ASAN
    __sanitizer_finish_switch_fiber(main_fake_, nullptr, nullptr);
#endif
  }

  void* user;

 private:
  void before_suspend(bool exiting) {
#if SMARM_TEST_ASAN
    __sanitizer_start_switch_fiber(exiting ? nullptr : &fiber_fake_, main_lo_, main_size_);
#else
    (void)exiting;
#endif
#if SMARM_TEST_TSAN
    __tsan_switch_to_fiber(main_tsan_, 0);
#endif
  }
  void after_suspend() {
#if SMARM_TEST_ASAN
    __sanitizer_finish_switch_fiber(fiber_fake_, &main_lo_, &main_size_);
#endif
  }

  static void entry(void* arg) {
    auto* self = static_cast<RawFiber*>(arg);
#if SMARM_TEST_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &self->main_lo_, &self->main_size_);
#endif
    self->body_(*self);
    self->finished_ = true;
    self->before_suspend(true);
    smarm_context_switch(&self->fiber_sp_, self->main_sp_);
    std::abort();  // a finished fiber is never resumed
  }

  Body body_;
  std::size_t page_ = 0;
  std::size_t size_ = 0;
  void* map_ = nullptr;
  char* stack_lo_ = nullptr;
  void* fiber_sp_ = nullptr;
  void* main_sp_ = nullptr;
  bool finished_ = false;
  [[maybe_unused]] void* main_fake_ = nullptr;
  [[maybe_unused]] void* fiber_fake_ = nullptr;
  [[maybe_unused]] const void* main_lo_ = nullptr;
  [[maybe_unused]] std::size_t main_size_ = 0;
  [[maybe_unused]] void* tsan_fiber_ = nullptr;
  [[maybe_unused]] void* main_tsan_ = nullptr;
};

// Sanitizer runtimes need deep stacks in their own hooks; 256 KiB fits them all.
// Hand-made fibers (RawFiber) switch outside the runtime with the test's own TSan fiber
// annotations, which TSan's shadow stacks do not survive in every case; the runtime's
// own switches are covered under TSan by the actor tests below.
#if SMARM_TEST_TSAN
#define SMARM_SKIP_RAW_FIBER_UNDER_TSAN() GTEST_SKIP() << "raw fibers are not run under TSan"
#else
#define SMARM_SKIP_RAW_FIBER_UNDER_TSAN() (void)0
#endif

constexpr std::size_t kRawStack = 256 * 1024;

TEST(ContextTest, FirstSwitchRunsEntryAndSwitchesAlternate) {
  SMARM_SKIP_RAW_FIBER_UNDER_TSAN();
  std::vector<std::string> log;
  RawFiber f(
      kRawStack,
      [](RawFiber& self) {
        auto& l = *static_cast<std::vector<std::string>*>(self.user);
        for (int i = 0; i < 3; ++i) {
          l.push_back("fiber " + std::to_string(i));
          self.suspend();
        }
        l.push_back("fiber done");
      },
      &log);
  for (int i = 0; i < 3; ++i) {
    f.resume();
    log.push_back("main " + std::to_string(i));
  }
  EXPECT_FALSE(f.finished());
  f.resume();
  EXPECT_TRUE(f.finished());
  EXPECT_EQ(log, (std::vector<std::string>{"fiber 0", "main 0", "fiber 1", "main 1", "fiber 2",
                                           "main 2", "fiber done"}));
}

TEST(ContextTest, ManySwitchesBetweenTwoFibers) {
  SMARM_SKIP_RAW_FIBER_UNDER_TSAN();
  struct Shared {
    std::vector<int> order;
    int rounds = 0;
  } shared;
  shared.rounds = smarm::test::scaled(100'000, 20'000, 5'000);
  auto body = [](RawFiber& self) {
    auto& s = *static_cast<Shared*>(self.user);
    for (int i = 0; i < s.rounds; ++i) {
      s.order.push_back(1);
      self.suspend();
    }
  };
  RawFiber a(kRawStack, body, &shared);
  RawFiber b(kRawStack, body, &shared);
  int switches = 0;
  while (!a.finished() || !b.finished()) {
    if (!a.finished()) a.resume(), ++switches;
    if (!b.finished()) b.resume(), ++switches;
  }
  EXPECT_EQ(shared.order.size(), 2u * static_cast<std::size_t>(shared.rounds));
  EXPECT_EQ(switches, 2 * (shared.rounds + 1));
}

TEST(ContextTest, FreshContextRunsOnItsOwnAlignedStack) {
  SMARM_SKIP_RAW_FIBER_UNDER_TSAN();
  struct Probe {
    std::uintptr_t rsp_at_call = 1;
    std::uintptr_t local = 0;
  } probe;
  RawFiber f(
      kRawStack,
      [](RawFiber& self) {
        auto& p = *static_cast<Probe*>(self.user);
        volatile int marker = 1;
        p.local = reinterpret_cast<std::uintptr_t>(&marker);
        p.rsp_at_call = smarm_test_rsp_at_call();
      },
      &probe);
  f.resume();
  ASSERT_TRUE(f.finished());
  EXPECT_EQ(probe.rsp_at_call % 16, 0u) << "stack misaligned at a call on a fresh context";
#if !SMARM_TEST_ASAN  // ASan may move locals to a fake stack
  EXPECT_GE(probe.local, reinterpret_cast<std::uintptr_t>(f.stack_lo()));
  EXPECT_LT(probe.local, reinterpret_cast<std::uintptr_t>(f.stack_hi()));
#endif
  EXPECT_GE(probe.rsp_at_call, reinterpret_cast<std::uintptr_t>(f.stack_lo()));
  EXPECT_LT(probe.rsp_at_call, reinterpret_cast<std::uintptr_t>(f.stack_hi()));
}

// --- callee-saved registers -----------------------------------------------------------

// RegFrame is everything the asm below needs, reached through one register (rax), since
// every other general register is either an argument or under test.
struct RegFrame {
  std::uint64_t in[5];   // rbx, r12, r13, r14, r15 before the call
  std::uint64_t out[5];  // the same registers after it
  std::uint64_t fn;      // void fn(a, b)
  std::uint64_t a;
  std::uint64_t b;
};
static_assert(offsetof(RegFrame, out) == 40 && offsetof(RegFrame, fn) == 80 &&
              offsetof(RegFrame, a) == 88 && offsetof(RegFrame, b) == 96);

// call_with_known_registers loads frame.in into rbx and r12-r15, calls frame.fn(a, b) from
// asm and stores the five registers into frame.out when the call returns.
[[gnu::noinline]] void call_with_known_registers(RegFrame& frame) {
  RegFrame* p = &frame;
  asm volatile(
      "movq %%rsp, %%rcx\n\t"
      "subq $128, %%rsp\n\t"  // step over the red zone
      "andq $-16, %%rsp\n\t"
      "pushq %%rcx\n\t"  // the original rsp
      "pushq %%rax\n\t"  // the frame; rsp is 16-byte aligned again
      "movq 0(%%rax), %%rbx\n\t"
      "movq 8(%%rax), %%r12\n\t"
      "movq 16(%%rax), %%r13\n\t"
      "movq 24(%%rax), %%r14\n\t"
      "movq 32(%%rax), %%r15\n\t"
      "movq 88(%%rax), %%rdi\n\t"
      "movq 96(%%rax), %%rsi\n\t"
      "callq *80(%%rax)\n\t"
      "popq %%rax\n\t"
      "movq %%rbx, 40(%%rax)\n\t"
      "movq %%r12, 48(%%rax)\n\t"
      "movq %%r13, 56(%%rax)\n\t"
      "movq %%r14, 64(%%rax)\n\t"
      "movq %%r15, 72(%%rax)\n\t"
      "popq %%rsp\n\t"
      : "+a"(p)
      :
      : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "rbx", "r12", "r13", "r14", "r15",
        "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
}

// scramble_callee_saved leaves other values in rbx and r12-r15 (the compiler restores
// them on return, which is after the switch we care about).
[[gnu::noinline]] void scramble_then_suspend(RawFiber& self) {
  asm volatile(
      "movq $-1, %%rbx\n\t"
      "movq $-2, %%r12\n\t"
      "movq $-3, %%r13\n\t"
      "movq $-4, %%r14\n\t"
      "movq $-5, %%r15\n\t" ::
          : "rbx", "r12", "r13", "r14", "r15");
  self.suspend();
}

TEST(ContextTest, CalleeSavedRegistersSurviveABareSwitch) {
  SMARM_SKIP_RAW_FIBER_UNDER_TSAN();
  RawFiber f(kRawStack, [](RawFiber& self) {
    for (int i = 0; i < 4; ++i) scramble_then_suspend(self);
  });
  for (std::uint64_t round = 0; round < 4; ++round) {
    RegFrame frame{};
    for (std::uint64_t i = 0; i < 5; ++i) frame.in[i] = 0x5a5a000000000000ull | (round << 8) | i;
    frame.fn = reinterpret_cast<std::uint64_t>(&smarm_context_switch);
    frame.a = reinterpret_cast<std::uint64_t>(f.main_sp_slot());
    frame.b = reinterpret_cast<std::uint64_t>(f.fiber_sp());
    f.before_resume();
    call_with_known_registers(frame);
    f.after_resume();
    for (int i = 0; i < 5; ++i) EXPECT_EQ(frame.out[i], frame.in[i]) << "register #" << i;
  }
  f.resume();
  EXPECT_TRUE(f.finished());
}

void yield_fn(std::uint64_t, std::uint64_t) { (void)smarm::yield_now(); }

TEST(ContextTest, CalleeSavedRegistersSurviveYieldAcrossActors) {
  int actors = 6;
  int rounds = smarm::test::scaled(2'000, 500, 200);
  auto r = smarm::test::run_on(2, [actors, rounds] {
    std::vector<smarm::JoinHandle<int>> hs;
    for (int a = 0; a < actors; ++a)
      hs.push_back(smarm::spawn([a, rounds] {
        int bad = 0;
        for (int round = 0; round < rounds; ++round) {
          RegFrame frame{};
          for (std::uint64_t i = 0; i < 5; ++i)
            frame.in[i] = (std::uint64_t(a + 1) << 48) | (std::uint64_t(round) << 8) | i;
          void (*fn)(std::uint64_t, std::uint64_t) = &yield_fn;
          frame.fn = reinterpret_cast<std::uint64_t>(fn);
          call_with_known_registers(frame);
          for (int i = 0; i < 5; ++i) bad += frame.out[i] != frame.in[i];
        }
        return bad;
      }));
    int bad = 0;
    for (auto& h : hs) bad += h.join().value_or(1000000);
    return bad;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 0) << "callee-saved registers changed across yield_now()";
}

// --- FP control state ---------------------------------------------------------------

constexpr unsigned kMxcsrRoundingMask = 0x6000;
constexpr unsigned kMxcsrRoundDown = 0x2000;
constexpr unsigned kMxcsrRoundUp = 0x4000;
constexpr unsigned kMxcsrRoundZero = 0x6000;
constexpr unsigned kMxcsrFlushToZero = 0x8000;

std::uint16_t x87_control_word() {
  std::uint16_t cw = 0;
  asm volatile("fnstcw %0" : "=m"(cw));
  return cw;
}
void set_x87_control_word(std::uint16_t cw) { asm volatile("fldcw %0" : : "m"(cw)); }

TEST(ContextTest, FpControlStateIsPerContext) {
  SMARM_SKIP_RAW_FIBER_UNDER_TSAN();
  struct State {
    unsigned fresh_mxcsr = 0;
    std::uint16_t fresh_fcw = 0;
    unsigned later_mxcsr = 0;
    std::uint16_t later_fcw = 0;
  } st;
  const unsigned main_mxcsr_saved = _mm_getcsr();
  const std::uint16_t main_fcw_saved = x87_control_word();

  RawFiber f(
      kRawStack,
      [](RawFiber& self) {
        auto& s = *static_cast<State*>(self.user);
        s.fresh_mxcsr = _mm_getcsr();
        s.fresh_fcw = x87_control_word();
        _mm_setcsr((_mm_getcsr() & ~kMxcsrRoundingMask) | kMxcsrRoundDown | kMxcsrFlushToZero);
        set_x87_control_word(static_cast<std::uint16_t>((x87_control_word() & ~0x0C00u) | 0x0800u));
        self.suspend();
        s.later_mxcsr = _mm_getcsr();
        s.later_fcw = x87_control_word();
      },
      &st);

  // main: round toward zero, x87 round down.
  _mm_setcsr((main_mxcsr_saved & ~kMxcsrRoundingMask) | kMxcsrRoundZero);
  set_x87_control_word(static_cast<std::uint16_t>((main_fcw_saved & ~0x0C00u) | 0x0400u));
  f.resume();
  const unsigned main_after = _mm_getcsr();
  const std::uint16_t main_fcw_after = x87_control_word();
  f.resume();
  _mm_setcsr(main_mxcsr_saved);
  set_x87_control_word(main_fcw_saved);
  ASSERT_TRUE(f.finished());

  // A fresh context starts from the ABI defaults, not from whatever its creator had.
  EXPECT_EQ(st.fresh_mxcsr & kMxcsrRoundingMask, 0u);
  EXPECT_EQ(st.fresh_fcw & 0x0C00u, 0u);
  EXPECT_EQ(main_after & kMxcsrRoundingMask, kMxcsrRoundZero);
  EXPECT_EQ(main_after & kMxcsrFlushToZero, 0u);
  EXPECT_EQ(main_fcw_after & 0x0C00u, 0x0400u);
  EXPECT_EQ(st.later_mxcsr & kMxcsrRoundingMask, kMxcsrRoundDown);
  EXPECT_EQ(st.later_mxcsr & kMxcsrFlushToZero, kMxcsrFlushToZero);
  EXPECT_EQ(st.later_fcw & 0x0C00u, 0x0800u);
}

// divide() is computed at run time in the current SSE rounding mode.
float divide(float x, float y) {
  volatile float a = x;
  volatile float b = y;
  return a / b;
}

TEST(ContextTest, RoundingModeStaysWithItsActor) {
  int rounds = smarm::test::scaled(1000, 200, 100);
  auto r = smarm::test::run_on(1, [rounds] {
    struct Seen {
      int wrong_x87 = 0;
      int wrong_sse = 0;
      int wrong_result = 0;
      float result = 0;
    };
    auto actor = [rounds](int mode, unsigned sse_bits) {
      return smarm::spawn([=] {
        Seen s;
        std::fesetround(mode);
        _mm_setcsr((_mm_getcsr() & ~kMxcsrRoundingMask) | sse_bits);
        s.result = divide(1.0f, 3.0f);
        for (int i = 0; i < rounds; ++i) {
          (void)smarm::yield_now();
          s.wrong_x87 += std::fegetround() != mode;
          s.wrong_sse += (_mm_getcsr() & kMxcsrRoundingMask) != sse_bits;
          s.wrong_result += divide(1.0f, 3.0f) != s.result;
        }
        return s;  // deliberately does not restore the mode
      });
    };
    auto down = actor(FE_DOWNWARD, kMxcsrRoundDown);
    auto up = actor(FE_UPWARD, kMxcsrRoundUp);
    int root_wrong = 0;
    for (int i = 0; i < rounds; ++i) {
      (void)smarm::yield_now();
      root_wrong += std::fegetround() != FE_TONEAREST;
      root_wrong += (_mm_getcsr() & kMxcsrRoundingMask) != 0;
    }
    auto d = down.join().value_or(Seen{1, 1, 1, 0});
    auto u = up.join().value_or(Seen{1, 1, 1, 0});
    EXPECT_EQ(d.wrong_x87 + d.wrong_sse + d.wrong_result, 0);
    EXPECT_EQ(u.wrong_x87 + u.wrong_sse + u.wrong_result, 0);
    EXPECT_LT(d.result, u.result) << "the two modes did not round differently";
    return root_wrong;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 0) << "the root saw another actor's rounding mode";
  // The thread that ran the runtime got its own FP state back.
  EXPECT_EQ(std::fegetround(), FE_TONEAREST);
  EXPECT_EQ(_mm_getcsr() & kMxcsrRoundingMask, 0u);
}

// --- exception state ----------------------------------------------------------------

// rethrown_what() rethrows the exception being handled and returns its what().
std::string rethrown_what() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "<not a std::exception>";
  }
}

TEST(ContextTest, EachActorParkedInACatchRethrowsItsOwnException) {
  auto r = smarm::test::run_on(1, [] {
    auto [to_a, a_rx] = smarm::channel<int>();
    auto [to_b, b_rx] = smarm::channel<int>();
    auto a = smarm::spawn([a_rx = std::move(a_rx)]() mutable {
      try {
        throw std::runtime_error("A");
      } catch (...) {
        (void)a_rx.recv();  // parked inside the handler
        return rethrown_what();
      }
    });
    auto b = smarm::spawn([b_rx = std::move(b_rx), to_a = std::move(to_a)]() mutable {
      try {
        throw std::logic_error("B");
      } catch (...) {
        (void)to_a.send(1);  // A is runnable now, while B is inside its handler
        (void)b_rx.recv();
        return rethrown_what();
      }
    });
    // Both are parked inside catch blocks now; the root has no exception of its own.
    EXPECT_EQ(std::current_exception(), nullptr);
    auto wa = a.join();
    EXPECT_TRUE(is_ok(to_b.send(1)));
    auto wb = b.join();
    return std::make_pair(wa.value_or("join failed"), wb.value_or("join failed"));
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(r->first, "A");
  EXPECT_EQ(r->second, "B");
}

TEST(ContextTest, YieldingInsideCatchBlocksKeepsEachActorsException) {
  int rounds = smarm::test::scaled(200, 100, 50);
  auto r = smarm::test::run_on(1, [rounds] {
    auto actor = [rounds](std::string name) {
      return smarm::spawn([name, rounds] {
        int wrong = 0;
        try {
          throw std::runtime_error(name);
        } catch (...) {
          for (int i = 0; i < rounds; ++i) {
            (void)smarm::yield_now();
            wrong += rethrown_what() != name;
            wrong += std::uncaught_exceptions() != 0;
          }
        }
        wrong += std::current_exception() != nullptr;  // handled: nothing left
        return wrong;
      });
    };
    auto a = actor("first");
    auto b = actor("second");
    auto c = actor("third");
    return a.join().value_or(1) + b.join().value_or(1) + c.join().value_or(1);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 0);
}

TEST(ContextTest, UncaughtExceptionsStaysPerActorWhileUnwinding) {
  int rounds = smarm::test::scaled(100, 50, 20);
  struct Counts {
    int in_dtor_before = -1;
    int in_dtor_after = -1;
    std::string caught;
    int other_nonzero = 0;
  };
  auto r = smarm::test::run_on(1, [rounds] {
    Counts c;
    // A yields inside a destructor that runs during unwinding; B runs meanwhile.
    auto a = smarm::spawn([&c, rounds] {
      struct YieldInDtor {
        Counts& c;
        int rounds;
        ~YieldInDtor() {
          c.in_dtor_before = std::uncaught_exceptions();
          for (int i = 0; i < rounds; ++i) (void)smarm::yield_now();
          c.in_dtor_after = std::uncaught_exceptions();
        }
      };
      try {
        YieldInDtor guard{c, rounds};
        throw std::runtime_error("unwinding");
      } catch (const std::exception& e) {
        c.caught = e.what();
      }
    });
    auto b = smarm::spawn([&c, rounds] {
      for (int i = 0; i < rounds; ++i) {
        (void)smarm::yield_now();
        c.other_nonzero += std::uncaught_exceptions() != 0;
        c.other_nonzero += std::current_exception() != nullptr;
      }
    });
    EXPECT_TRUE(is_ok(a.join()));
    EXPECT_TRUE(is_ok(b.join()));
    c.other_nonzero += std::uncaught_exceptions() != 0;
    return c;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(r->in_dtor_before, 1);
  EXPECT_EQ(r->in_dtor_after, 1);
  EXPECT_EQ(r->caught, "unwinding");
  EXPECT_EQ(r->other_nonzero, 0);
}

}  // namespace
