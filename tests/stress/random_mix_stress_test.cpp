// SPDX-License-Identifier: Apache-2.0
// smarm-test: lto io_uring  (markers: tests/CMakeLists.txt)
// random_mix_stress_test.cpp — a seeded random mix of everything at once, on two workers
// with preemption on: spawn/join/detach/cancel, unbounded and bounded channels (capacity 0
// included), select with recv/send/after cases, a typed mailbox with ask, Mutex, timers,
// panics, CPU-bound actors that allocate, and I/O over socketpairs and loopback TCP; and,
// less often, the upper layers: supervisors, task<T> coroutines, smarm::pipe pipelines and
// io::block_on_io. The seed also picks the timeslice (1 ms, 100 us or 20 us), so
// preemption lands in more places.
//
// Reproducible by construction: every choice comes from a PRNG seeded per run, and each
// run is bounded by an operation count, never by time. Which interleaving the two workers
// produce still varies, so a failing seed is a lead, not a guarantee; replay it with
// SMARM_STRESS_SEED=<seed> (see README, "Stress suite").
//
// What is checked, at the end of each seed:
// - Every message (a Token, whose id the Ledger tracks) ends exactly one way: received
//   once, handed back to its sender (a failed send, a send case that did not fire), or
//   destroyed inside a channel whose receiver went away. A received or destroyed token
//   must have been sent; a handed-back one must not. Where no receiver was cancelled,
//   every token sent was received (per operation).
// - Each supervisor, task, pipe and block_on_io operation ends as computed from its plan
//   (its Result, run counts, the pipeline's items); see each op_* function.
// - No actor, stack, timer or I/O wait is left once run() returns (run_checked).
// - No hang: a watchdog thread (wall clock used only for this) asks a monitor actor to
//   print debug::dump_actors() and the seed, then aborts.
#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Errc;

// --- sizes --------------------------------------------------------------------------
// Drivers run concurrently; each performs kOpsPerDriver random operations.
constexpr int kDrivers = 3;
constexpr int kOpsPerDriver = smarm::test::scaled(500, 300, 600);
// kBurst bounds how many messages one producer sends in one operation.
constexpr std::uint64_t kBurst = smarm::test::scaled<std::uint64_t>(64, 32, 24);
// kCpuIters is the length of one CPU-bound (allocating) loop.
constexpr int kCpuIters = smarm::test::scaled(20'000, 4'000, 1'500);
constexpr std::size_t kLedgerCapacity = std::size_t{1} << 20;
constexpr auto kHangLimit = 120s;

// --- seeds ----------------------------------------------------------------------------
// seeds() is SMARM_STRESS_SEED alone when set, else a fixed list plus one from the clock.
std::vector<std::uint64_t> seeds() {
  if (const char* env = std::getenv("SMARM_STRESS_SEED"); env && *env)
    return {std::strtoull(env, nullptr, 0)};
  const auto now =
      static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  return {1, 0x5eed, 20261130, now % 1'000'000'007};
}

// Rng is splitmix64: tiny, and good enough to pick operations.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
  bool chance(int percent) { return below(100) < static_cast<std::uint64_t>(percent); }
  std::chrono::microseconds micros(std::uint64_t max) {
    return std::chrono::microseconds(below(max + 1));
  }

 private:
  std::uint64_t s_;
};

// --- bookkeeping ------------------------------------------------------------------------
// Problems collects failures seen inside actors (GoogleTest's SCOPED_TRACE is per thread,
// so actors report here and the test thread prints them with the seed).
class Problems {
 public:
  void add(std::string what) {
    smarm::NoPreemptScope no_preempt;  // a std::mutex shared by actors of one worker
    std::lock_guard<std::mutex> lock(m_);
    ++count_;
    if (list_.size() < 20) list_.push_back(std::move(what));
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(m_);
    return count_;
  }
  std::string summary() {
    std::lock_guard<std::mutex> lock(m_);
    std::string out;
    for (const auto& p : list_) out += "  " + p + "\n";
    return out;
  }

 private:
  std::mutex m_;
  std::size_t count_ = 0;
  std::vector<std::string> list_;
};

constexpr std::uint64_t kNoId = ~std::uint64_t{0};

// Ledger records what happened to each token id, one bit per event.
class Ledger {
 public:
  enum : std::uint8_t { kSent = 1, kReceived = 2, kHandedBack = 4, kDestroyed = 8 };

  explicit Ledger(Problems& problems) : flags_(kLedgerCapacity), problems_(problems) {}

  std::uint64_t issue() {
    const std::uint64_t id = next_.fetch_add(1, std::memory_order_relaxed);
    if (id >= flags_.size()) {
      problems_.add("ledger full: raise kLedgerCapacity");
      return kNoId;
    }
    return id;
  }
  void mark(std::uint64_t id, std::uint8_t bit) {
    if (id == kNoId) return;
    const std::uint8_t before = flags_[id].fetch_or(bit, std::memory_order_relaxed);
    if (before & bit) problems_.add("token " + std::to_string(id) + ": " + name(bit) + " twice");
  }
  std::uint64_t issued() const {
    return std::min<std::uint64_t>(next_.load(std::memory_order_relaxed), flags_.size());
  }
  // check() reports every token that did not end exactly one legal way.
  void check() {
    for (std::uint64_t id = 0; id < issued(); ++id) {
      const std::uint8_t f = flags_[id].load(std::memory_order_relaxed);
      const int ends =
          ((f & kReceived) ? 1 : 0) + ((f & kHandedBack) ? 1 : 0) + ((f & kDestroyed) ? 1 : 0);
      const bool sent = f & kSent;
      std::string bad;
      if (ends != 1)
        bad = ends == 0 ? "never received, handed back or destroyed (lost)"
                        : "ended more than one way";
      else if ((f & (kReceived | kDestroyed)) && !sent)
        bad = "received or destroyed in a channel but never sent";
      else if ((f & kHandedBack) && sent)
        bad = "handed back although its send succeeded";
      if (!bad.empty())
        problems_.add("token " + std::to_string(id) + " (flags " + std::to_string(f) + "): " + bad);
    }
  }

 private:
  static std::string name(std::uint8_t bit) {
    switch (bit) {
      case kSent:
        return "sent";
      case kReceived:
        return "received";
      case kHandedBack:
        return "handed back";
      default:
        return "destroyed";
    }
  }
  std::atomic<std::uint64_t> next_{0};
  std::vector<std::atomic<std::uint8_t>> flags_;
  Problems& problems_;
};

Ledger* g_ledger = nullptr;  // set before each run, read by Token's destructor

// Token is a message: move-only, and a token destroyed while it still holds its id was
// dropped by a channel (the receiver went away) — the destructor records that.
class Token {
 public:
  Token() = default;
  explicit Token(std::uint64_t id) : id_(id) {}
  Token(Token&& o) noexcept : id_(std::exchange(o.id_, kNoId)) {}
  Token& operator=(Token&& o) noexcept {
    if (this != &o) {
      destroy();
      id_ = std::exchange(o.id_, kNoId);
    }
    return *this;
  }
  ~Token() { destroy(); }
  std::uint64_t id() const { return id_; }
  std::uint64_t release() { return std::exchange(id_, kNoId); }

 private:
  void destroy() noexcept {
    if (id_ != kNoId) g_ledger->mark(std::exchange(id_, kNoId), Ledger::kDestroyed);
  }
  std::uint64_t id_ = kNoId;
};

// Counts are reported once per seed, so a run shows that every path was exercised.
struct Counts {
  std::atomic<std::uint64_t> ops{0}, sent{0}, received{0}, handed_back{0}, cancels{0}, panics{0},
      timeouts{0}, select_fired{0}, locks{0}, io_bytes{0}, tcp_ops{0}, spawned{0}, supervisors{0},
      restarts{0}, tasks{0}, pipes{0}, pipe_items{0}, pipe_failures{0}, blocking{0},
      blocking_cancelled{0};
};

// Ctx is what every operation reaches: the ledger, problems, counts, the seed.
struct Ctx {
  std::uint64_t seed;
  Ledger& ledger;
  Problems& problems;
  Counts& counts;

  void fail(const std::string& what) { problems.add("seed " + std::to_string(seed) + ": " + what); }
  Token make() { return Token(ledger.issue()); }
  void sent(std::uint64_t id) {
    ledger.mark(id, Ledger::kSent);
    counts.sent.fetch_add(1, std::memory_order_relaxed);
  }
  void received(Token t) {
    ledger.mark(t.release(), Ledger::kReceived);
    counts.received.fetch_add(1, std::memory_order_relaxed);
  }
  void handed_back(Token t) {
    if (t.id() == kNoId) return;  // a filler token (never-ready dummy case)
    ledger.mark(t.release(), Ledger::kHandedBack);
    counts.handed_back.fetch_add(1, std::memory_order_relaxed);
  }
};

std::string errc_str(Errc c) { return smarm::errc_name(c); }

// pause() is a random way to let others run: nothing, a yield, a short sleep, or a
// little allocating work. Returns false if the actor was cancelled.
bool pause(Rng& rng) {
  switch (rng.below(4)) {
    case 0:
      return !smarm::cancelled();
    case 1:
      return smarm::yield_now().has_value();
    case 2:
      return smarm::sleep_for(rng.micros(50)).has_value();
    default: {
      std::vector<std::vector<int>> v;
      for (int i = 0; i < 8; ++i) v.emplace_back(static_cast<std::size_t>(8 + i), i);
      return !smarm::cancelled();
    }
  }
}

// cpu_work is an allocating CPU-bound loop whose result depends only on its inputs; it
// polls cancellation (returns nullopt) and calls SMARM_CHECK() for builds whose
// allocator hook is off (TSan).
std::optional<std::uint64_t> cpu_work(std::uint64_t salt, int iters) {
  std::uint64_t h = salt;
  std::vector<std::string> keep;
  for (int i = 0; i < iters; ++i) {
    std::string s = std::to_string(h ^ static_cast<std::uint64_t>(i));
    for (char c : s) h = h * 1099511628211u + static_cast<unsigned char>(c);
    if (keep.size() < 16) keep.push_back(std::move(s));
    if (i % 64 == 0) {
      SMARM_CHECK();
      if (smarm::cancelled()) return std::nullopt;
      keep.clear();
    }
  }
  return h;
}

// --- operations -----------------------------------------------------------------------

// Outcome of one consumer: how many it received and whether it stopped early.
struct ConsumerEnd {
  std::uint64_t received = 0;
  bool stopped_early = false;
};

// pipeline: producers -> one channel (unbounded, or bounded with capacity 0..4) -> one
// consumer. Producers may panic midway or be cancelled; the consumer may be cancelled
// (its receiver then goes away with tokens inside, and later sends fail with Closed).
void op_pipeline(Ctx& ctx, Rng& rng, bool bounded) {
  const std::size_t capacity = rng.below(5);
  auto ch = bounded ? smarm::bounded_channel<Token>(capacity) : smarm::channel<Token>();
  smarm::Sender<Token> tx = std::move(ch.tx);
  const bool timed_recv = rng.chance(30);
  const std::uint64_t consumer_seed = rng.next();
  auto consumer = smarm::spawn(smarm::SpawnOptions{.name = "pipeline-consumer"},
                               [&ctx, rx = std::move(ch.rx), timed_recv, consumer_seed]() mutable {
                                 Rng r(consumer_seed);
                                 ConsumerEnd end;
                                 for (;;) {
                                   auto v = timed_recv ? rx.recv_for(r.micros(200)) : rx.recv();
                                   if (v) {
                                     ctx.received(std::move(*v));
                                     ++end.received;
                                     if (r.chance(10) && !pause(r)) {
                                       end.stopped_early = true;
                                       break;
                                     }
                                     continue;
                                   }
                                   const Errc c = v.error().code();
                                   if (c == Errc::TimedOut) {
                                     ctx.counts.timeouts.fetch_add(1, std::memory_order_relaxed);
                                     continue;
                                   }
                                   if (c == Errc::Closed) break;
                                   if (c != Errc::Cancelled)
                                     ctx.fail("consumer recv: " + errc_str(c));
                                   end.stopped_early = true;
                                   break;
                                 }
                                 return end;
                               });

  // Counted as they happen, so tokens a producer sent before it panicked count too.
  std::atomic<std::uint64_t> sent{0};
  const int producers = 1 + static_cast<int>(rng.below(4));
  std::vector<smarm::JoinHandle<void>> hs;
  std::vector<bool> will_panic;
  for (int p = 0; p < producers; ++p) {
    const std::uint64_t n = rng.below(kBurst + 1);
    const bool panic = rng.chance(10);
    will_panic.push_back(panic);
    const std::uint64_t pseed = rng.next();
    hs.push_back(smarm::spawn([&ctx, &sent, tx, n, panic, pseed, bounded]() mutable {
      Rng r(pseed);
      for (std::uint64_t i = 0; i < n; ++i) {
        if (panic && i == n / 2) throw std::runtime_error("planned panic");
        Token t = ctx.make();
        // A handed-back token is retried a few times, then kept as handed back.
        for (int attempt = 0;; ++attempt) {
          const std::uint64_t id = t.id();
          const auto how = r.below(bounded ? 3 : 2);
          auto res = how == 0   ? tx.send(std::move(t))
                     : how == 1 ? tx.try_send(std::move(t))
                                : tx.send_for(std::move(t), r.micros(100));
          if (res) {
            ctx.sent(id);
            sent.fetch_add(1, std::memory_order_relaxed);
            break;
          }
          const Errc c = res.error().code();
          t = std::move(res).error().into_value();
          if (t.id() != id)
            ctx.fail("send handed back token " + std::to_string(t.id()) + " instead of " +
                     std::to_string(id));
          if (c == Errc::TimedOut) ctx.counts.timeouts.fetch_add(1, std::memory_order_relaxed);
          if (c != Errc::Full && c != Errc::TimedOut && c != Errc::Closed && c != Errc::Cancelled)
            ctx.fail("send: " + errc_str(c));
          if (c == Errc::Closed || c == Errc::Cancelled || attempt == 3) {
            ctx.handed_back(std::move(t));
            if (c == Errc::Closed || c == Errc::Cancelled) return;
            break;
          }
        }
        if (r.chance(20) && !pause(r)) return;
      }
    }));
  }
  tx.close();  // the producers hold the only senders now

  const bool cancel_consumer = rng.chance(15);
  const int cancel_producer = rng.chance(15) ? static_cast<int>(rng.below(producers)) : -1;
  if (cancel_consumer || cancel_producer >= 0) {
    for (std::uint64_t k = rng.below(4); k > 0; --k) (void)smarm::yield_now();
    if (cancel_consumer) (void)consumer.cancel();
    if (cancel_producer >= 0) (void)hs[static_cast<std::size_t>(cancel_producer)].cancel();
    ctx.counts.cancels.fetch_add(1, std::memory_order_relaxed);
  }

  for (std::size_t p = 0; p < hs.size(); ++p) {
    auto r = hs[p].join();
    if (r) {
      continue;
    } else if (r.error().code() == Errc::Panicked && will_panic[p]) {
      ctx.counts.panics.fetch_add(1, std::memory_order_relaxed);
      if (r.error().message().find("planned panic") == std::string::npos)
        ctx.fail("panic message lost: " + r.error().message());
    } else {
      ctx.fail("producer join: " + r.error().message());
    }
  }
  auto c = consumer.join();
  if (!c) {
    ctx.fail("consumer join: " + c.error().message());
    return;
  }
  // A consumer that drained to Closed has received every token sent.
  if (!c->stopped_early && c->received != sent.load())
    ctx.fail("pipeline: consumer received " + std::to_string(c->received) + " of " +
             std::to_string(sent.load()) + " sent");
}

// op_select: one actor selects over recv(rx1) (unbounded, fed by a producer), recv(rx2)
// (bounded, capacity 0..2, fed by a producer), send(tx3) (bounded, capacity 0..2, drained
// by a consumer) and after(d). A closed input or a finished output is swapped for a
// channel that is never ready, so the case list stays the same.
void op_select(Ctx& ctx, Rng& rng) {
  auto c1 = smarm::channel<Token>();
  auto c2 = smarm::bounded_channel<Token>(rng.below(3));
  auto c3 = smarm::bounded_channel<Token>(rng.below(3));
  const std::uint64_t n1 = rng.below(kBurst + 1), n2 = rng.below(kBurst + 1),
                      n3 = rng.below(kBurst + 1);

  auto feed = [&ctx](smarm::Sender<Token> tx, std::uint64_t n, std::uint64_t seed) {
    Rng r(seed);
    std::uint64_t sent = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      Token t = ctx.make();
      const std::uint64_t id = t.id();
      auto res = tx.send(std::move(t));
      if (!res) {  // the selector was cancelled and dropped its receivers
        ctx.handed_back(std::move(res).error().into_value());
        break;
      }
      ctx.sent(id);
      ++sent;
      if (r.chance(10) && !pause(r)) break;
    }
    return sent;
  };
  auto p1 = smarm::spawn([feed, tx = std::move(c1.tx), n1, s = rng.next()]() mutable {
    return feed(std::move(tx), n1, s);
  });
  auto p2 = smarm::spawn([feed, tx = std::move(c2.tx), n2, s = rng.next()]() mutable {
    return feed(std::move(tx), n2, s);
  });
  auto drain = smarm::spawn([&ctx, rx = std::move(c3.rx)]() mutable {
    std::uint64_t got = 0;
    for (;;) {
      auto v = rx.recv();
      if (!v) {
        if (v.error().code() != Errc::Closed) ctx.fail("drain: " + v.error().message());
        return got;
      }
      ctx.received(std::move(*v));
      ++got;
    }
  });

  struct SelectorEnd {
    std::uint64_t received = 0, sent = 0;
    bool cancelled = false;
  };
  // The timeout: 0 (poll), up to 100 us, or up to 1 ms.
  const std::uint64_t timeouts[] = {0, 100, 1000};
  const std::uint64_t timeout_max = timeouts[rng.below(3)];
  auto selector = smarm::spawn(
      smarm::SpawnOptions{.name = "selector"},
      [&ctx, rx1 = std::move(c1.rx), rx2 = std::move(c2.rx), tx3 = std::move(c3.tx), n3,
       timeout_max, s = rng.next()]() mutable {
        Rng r(s);
        SelectorEnd end;
        // Never-ready stand-ins: a receiver whose sender we keep, a rendezvous sender whose
        // receiver never receives.
        auto idle_in = smarm::channel<Token>();
        auto idle_in2 = smarm::channel<Token>();
        auto idle_out = smarm::bounded_channel<Token>(0);
        bool in1 = true, in2 = true, out = n3 > 0;
        if (!out) tx3 = std::move(idle_out.tx);
        std::uint64_t to_send = n3;
        // The token offered by the send case: when another case fires it comes back by
        // take_back and is offered again, so it must be the very same token.
        Token offer;
        while (in1 || in2 || out) {
          if (out && offer.id() == kNoId) offer = ctx.make();
          const std::uint64_t id = offer.id();
          auto sel =
              smarm::select(smarm::recv(rx1), smarm::recv(rx2), smarm::send(tx3, std::move(offer)),
                            smarm::after(r.micros(timeout_max)));
          if (auto back = sel.take_back<2>()) {
            if (back->id() != id) ctx.fail("select take_back returned another token");
            offer = std::move(*back);
          } else if (sel.index() != 2) {
            ctx.fail("select: the send case did not fire but its value is gone");
          }
          switch (sel.index()) {
            case 0:
            case 1: {
              const bool first = sel.index() == 0;
              if (sel) {
                ctx.received(first ? std::move(sel).get<0>() : std::move(sel).get<1>());
                ++end.received;
              } else if (sel.error().code() == Errc::Closed) {
                (first ? rx1 : rx2) = std::move(first ? idle_in.rx : idle_in2.rx);
                (first ? in1 : in2) = false;
              } else {
                ctx.fail("select recv case: " + sel.error().message());
              }
              break;
            }
            case 2:
              if (sel) {
                if (offer.id() != kNoId) ctx.fail("select: sent, yet the value came back");
                ctx.sent(id);
                ++end.sent;
                if (--to_send == 0) {
                  tx3 = std::move(idle_out.tx);  // closes the drain's channel
                  out = false;
                }
              } else {
                ctx.fail("select send case: " + sel.error().message());
              }
              break;
            case 3:
              if (sel.error().code() != Errc::TimedOut)
                ctx.fail("select after case: " + sel.error().message());
              ctx.counts.timeouts.fetch_add(1, std::memory_order_relaxed);
              (void)smarm::yield_now();  // a zero timeout would otherwise spin on this worker
              break;
            default:
              if (sel.error().code() != Errc::Cancelled)
                ctx.fail("select failed: " + sel.error().message());
              end.cancelled = true;
              ctx.handed_back(std::move(offer));
              return end;
          }
          ctx.counts.select_fired.fetch_add(1, std::memory_order_relaxed);
        }
        ctx.handed_back(std::move(offer));
        return end;
      });

  if (rng.chance(15)) {
    for (std::uint64_t k = rng.below(4); k > 0; --k) (void)smarm::yield_now();
    (void)selector.cancel();
    ctx.counts.cancels.fetch_add(1, std::memory_order_relaxed);
  }
  auto se = selector.join();
  auto s1 = p1.join();
  auto s2 = p2.join();
  auto d = drain.join();
  if (!se || !s1 || !s2 || !d) {
    ctx.fail("select op: a join failed");
    return;
  }
  if (*d != se->sent)
    ctx.fail("select: drain got " + std::to_string(*d) + ", selector sent " +
             std::to_string(se->sent));
  if (!se->cancelled && se->received != *s1 + *s2)
    ctx.fail("select: received " + std::to_string(se->received) + " of " +
             std::to_string(*s1 + *s2));
}

// op_mailbox: a typed actor (spawn_actor) counts the tokens sent to its address by a few
// senders, answers Count requests (ask) on the way, and ends when every address is gone.
struct Count {
  smarm::ReplyTo<std::uint64_t> reply_to;
};
using MailMsg = std::variant<Token, Count>;

void op_mailbox(Ctx& ctx, Rng& rng) {
  const std::size_t capacities[] = {smarm::MailboxOptions::kUnbounded, 0, 2};
  smarm::MailboxOptions options;
  options.capacity = capacities[rng.below(3)];
  options.spawn.name = "mailbox-counter";
  auto actor = smarm::spawn_actor<MailMsg>(
      [&ctx](smarm::Mailbox<MailMsg>& mb) {
        std::uint64_t n = 0;
        for (;;) {
          auto r = mb.recv(smarm::overloaded{
              [&](Token&& t) {
                ctx.received(std::move(t));
                ++n;
              },
              [&](Count&& c) { (void)c.reply_to.send(n); },
          });
          if (!r) return r.error().code() == Errc::Closed ? n : ~std::uint64_t{0};
        }
      },
      std::move(options));
  std::atomic<std::uint64_t> sent{0};
  const int senders = 1 + static_cast<int>(rng.below(3));
  std::vector<smarm::JoinHandle<void>> hs;
  for (int i = 0; i < senders; ++i)
    hs.push_back(smarm::spawn(
        [&ctx, &sent, to = actor.address, n = rng.below(kBurst + 1), s = rng.next(), senders] {
          Rng r(s);
          for (std::uint64_t k = 0; k < n; ++k) {
            if (r.chance(10)) {
              auto c = smarm::ask(to, Count{}, 10ms);
              // Each sender may have one token counted but not yet added to `sent`.
              if (c && *c > sent.load() + static_cast<std::uint64_t>(senders))
                ctx.fail("mailbox: counted more than was sent");
              if (!c && c.error().code() != Errc::TimedOut) ctx.fail("ask: " + c.error().message());
            }
            Token t = ctx.make();
            const std::uint64_t id = t.id();
            auto res = to.send(MailMsg(std::move(t)));
            if (!res) {
              ctx.fail("mailbox send: " + errc_str(res.error().code()));
              ctx.handed_back(std::get<Token>(std::move(res).error().into_value()));
              return;
            }
            ctx.sent(id);
            sent.fetch_add(1, std::memory_order_relaxed);
          }
        }));
  { auto drop = std::move(actor.address); }  // the senders hold the only addresses now
  for (auto& h : hs)
    if (auto r = h.join(); !r) ctx.fail("mailbox sender join: " + r.error().message());
  auto n = actor.handle.join();
  if (!n || *n != sent.load())
    ctx.fail("mailbox: actor counted " + (n ? std::to_string(*n) : n.error().message()) +
             ", sent " + std::to_string(sent.load()));
}

// op_mutex: actors increment a shared cell under Mutex with random timeouts; some are
// cancelled. The cell must count exactly the successful locks, and no two owners overlap.
void op_mutex(Ctx& ctx, Rng& rng) {
  struct Cell {
    std::uint64_t count = 0;
    int inside = 0;
  };
  smarm::Mutex<Cell> m;
  std::atomic<std::uint64_t> taken{0};
  const int actors = 2 + static_cast<int>(rng.below(5));
  const int iters = 1 + static_cast<int>(rng.below(kBurst));
  std::vector<smarm::JoinHandle<void>> hs;
  for (int a = 0; a < actors; ++a)
    hs.push_back(smarm::spawn([&ctx, &m, &taken, iters, s = rng.next()] {
      Rng r(s);
      for (int i = 0; i < iters; ++i) {
        auto g = r.chance(25) ? m.lock_until(smarm::Deadline::max()) : m.lock(r.micros(100));
        if (!g) {
          const Errc c = g.error().code();
          if (c == Errc::TimedOut) {
            ctx.counts.timeouts.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          if (c != Errc::Cancelled) ctx.fail("mutex lock: " + errc_str(c));
          return;
        }
        if ((*g)->inside++ != 0) ctx.fail("mutex: two owners at once");
        ++(*g)->count;
        taken.fetch_add(1, std::memory_order_relaxed);
        if (r.chance(20)) (void)smarm::yield_now();  // hold it across a switch
        (*g)->inside--;
      }
    }));
  if (rng.chance(30)) {
    (void)smarm::yield_now();
    (void)hs[rng.below(hs.size())].cancel();
    ctx.counts.cancels.fetch_add(1, std::memory_order_relaxed);
  }
  for (auto& h : hs)
    if (auto r = h.join(); !r) ctx.fail("mutex actor join: " + r.error().message());
  auto g = m.lock_until(smarm::Deadline::max());
  if (!g) {
    ctx.fail("mutex final lock: " + g.error().message());
    return;
  }
  ctx.counts.locks.fetch_add((*g)->count, std::memory_order_relaxed);
  if ((*g)->count != taken.load())
    ctx.fail("mutex: count " + std::to_string((*g)->count) + " != locks taken " +
             std::to_string(taken.load()));
}

// op_spawn_tree: children that spawn grandchildren and return sums; some panic, some are
// detached (the runtime's shutdown cancels whatever is still running).
void op_spawn_tree(Ctx& ctx, Rng& rng) {
  const int n = 1 + static_cast<int>(rng.below(12));
  std::vector<smarm::JoinHandle<std::uint64_t>> hs;
  std::vector<int> kind;  // 0 normal, 1 panics
  for (int i = 0; i < n; ++i) {
    const int k = rng.chance(10) ? 1 : 0;
    kind.push_back(k);
    const int grandchildren = static_cast<int>(rng.below(4));
    hs.push_back(smarm::spawn([&ctx, i, k, grandchildren] {
      std::vector<smarm::JoinHandle<std::uint64_t>> gs;
      for (int g = 0; g < grandchildren; ++g)
        gs.push_back(smarm::spawn([i, g] { return static_cast<std::uint64_t>(i * 10 + g); }));
      std::uint64_t sum = static_cast<std::uint64_t>(i) * 1000;
      for (int g = 0; g < grandchildren; ++g) {
        auto r = gs[static_cast<std::size_t>(g)].join();
        if (!r)
          ctx.fail("grandchild join: " + r.error().message());
        else
          sum += *r;
      }
      if (k == 1) throw std::logic_error("planned panic in tree");
      return sum;
    }));
    ctx.counts.spawned.fetch_add(1 + static_cast<std::uint64_t>(grandchildren),
                                 std::memory_order_relaxed);
  }
  if (rng.chance(30)) {
    smarm::spawn([d = rng.micros(500)] { (void)smarm::sleep_for(d); }).detach();
    ctx.counts.spawned.fetch_add(1, std::memory_order_relaxed);
  }
  for (int i = 0; i < n; ++i) {
    auto r = hs[static_cast<std::size_t>(i)].join();
    if (kind[static_cast<std::size_t>(i)] == 1) {
      if (r || r.error().code() != Errc::Panicked ||
          r.error().message().find("planned panic in tree") == std::string::npos)
        ctx.fail("tree: expected a panic from child " + std::to_string(i));
      else
        ctx.counts.panics.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (!r) {
      ctx.fail("tree child join: " + r.error().message());
      continue;
    }
    if (*r / 1000 != static_cast<std::uint64_t>(i)) ctx.fail("tree: child returned a wrong sum");
    if (auto again = hs[static_cast<std::size_t>(i)].join();
        again.has_value() || again.error().code() != Errc::AlreadyJoined)
      ctx.fail("tree: second join was not AlreadyJoined");
  }
}

// op_cpu: CPU-bound allocating actors (preempted by the allocator hook or SMARM_CHECK)
// beside a ticker that sleeps; results must match a run of the same loop here.
void op_cpu(Ctx& ctx, Rng& rng) {
  const int workers = 1 + static_cast<int>(rng.below(3));
  const int iters = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(kCpuIters)));
  std::vector<smarm::JoinHandle<std::optional<std::uint64_t>>> hs;
  std::vector<std::uint64_t> salts;
  for (int w = 0; w < workers; ++w) {
    salts.push_back(rng.next());
    hs.push_back(smarm::spawn([salt = salts.back(), iters] { return cpu_work(salt, iters); }));
  }
  auto ticker = smarm::spawn([ticks = 1 + rng.below(8)] {
    for (std::uint64_t i = 0; i < ticks; ++i)
      if (!smarm::sleep_for(20us)) return false;
    return true;
  });
  const bool cancel_one = rng.chance(20);
  if (cancel_one) {
    (void)hs[0].cancel();
    ctx.counts.cancels.fetch_add(1, std::memory_order_relaxed);
  }
  for (int w = 0; w < workers; ++w) {
    auto r = hs[static_cast<std::size_t>(w)].join();
    if (!r) {
      ctx.fail("cpu join: " + r.error().message());
      continue;
    }
    if (!r->has_value()) {
      if (!(cancel_one && w == 0)) ctx.fail("cpu actor stopped without being cancelled");
      continue;
    }
    auto expect = cpu_work(salts[static_cast<std::size_t>(w)], iters);
    if (expect && **r != *expect) ctx.fail("cpu: a preempted loop computed a different result");
  }
  if (auto t = ticker.join(); !t || !*t) ctx.fail("cpu: ticker failed");
}

// op_timers: waits that must time out (recv_for on an idle channel, a held mutex, a
// select with only an idle recv and after), and a long sleep that cancel must cut short.
void op_timers(Ctx& ctx, Rng& rng) {
  auto idle = smarm::channel<Token>();
  auto r = idle.rx.recv_for(rng.micros(200));
  if (r || r.error().code() != Errc::TimedOut)
    ctx.fail("recv_for on an idle channel: not TimedOut");

  smarm::Mutex<int> m;
  {
    auto g = m.lock_until(smarm::Deadline::max());
    if (!g) {
      ctx.fail("timers: lock of a free mutex failed");
      return;
    }
    auto other = smarm::spawn([&m, d = rng.micros(200)] {
      auto g2 = m.lock(d);
      return g2 ? Errc{} : g2.error().code();
    });
    auto c = other.join();
    if (!c || *c != Errc::TimedOut) ctx.fail("timers: lock of a held mutex did not time out");
  }

  auto sel = smarm::select(smarm::recv(idle.rx), smarm::after(rng.micros(200)));
  if (sel.index() != 1 || sel.error().code() != Errc::TimedOut)
    ctx.fail("timers: select on an idle channel did not time out");

  auto sleeper = smarm::spawn(smarm::SpawnOptions{.name = "long-sleeper"}, [] {
    auto s = smarm::sleep_for(1h);
    return s ? Errc{} : s.error().code();
  });
  for (std::uint64_t k = rng.below(3); k > 0; --k) (void)smarm::yield_now();
  (void)sleeper.cancel();
  auto s = sleeper.join();
  if (!s || *s != Errc::Cancelled) ctx.fail("timers: cancelled sleep did not return Cancelled");
  ctx.counts.timeouts.fetch_add(3, std::memory_order_relaxed);
  ctx.counts.cancels.fetch_add(1, std::memory_order_relaxed);
}

// Stream transfers: a writer sends the numbers 0..n-1 as 8-byte records in random chunks,
// then half-closes; the reader reads with random buffer sizes and checks the sequence and
// the Eof after it.
struct FdConn {
  int fd;
  smarm::Result<std::size_t> read(std::span<std::byte> b) { return smarm::io::read(fd, b); }
  smarm::Result<void> write_all(std::span<const std::byte> b) {
    return smarm::io::write_all(fd, b);
  }
  void shutdown_write() { ::shutdown(fd, SHUT_WR); }
};
struct TcpConn {
  smarm::io::TcpStream* s;
  smarm::Result<std::size_t> read(std::span<std::byte> b) { return s->read(b); }
  smarm::Result<void> write_all(std::span<const std::byte> b) { return s->write_all(b); }
  void shutdown_write() { (void)s->shutdown_write(); }
};

template <class Conn>
Errc write_numbers(Conn conn, std::uint64_t n, std::uint64_t seed) {
  Rng r(seed);
  std::vector<std::uint64_t> all(n);
  for (std::uint64_t i = 0; i < n; ++i) all[i] = i;
  const auto* bytes = reinterpret_cast<const std::byte*>(all.data());
  std::size_t off = 0, total = n * sizeof(std::uint64_t);
  while (off < total) {
    const std::size_t chunk = std::min<std::size_t>(total - off, 1 + r.below(3000));
    auto w = conn.write_all(std::span<const std::byte>(bytes + off, chunk));
    if (!w) return w.error().code();
    off += chunk;
    if (r.chance(10) && !pause(r)) return Errc::Cancelled;
  }
  conn.shutdown_write();
  return Errc{};
}

template <class Conn>
std::string read_numbers(Conn conn, std::uint64_t n, std::uint64_t seed, Counts& counts) {
  Rng r(seed);
  std::vector<std::byte> got;
  std::vector<std::byte> buf(1 + r.below(5000));
  for (;;) {
    auto rd = conn.read(std::span<std::byte>(buf.data(), 1 + r.below(buf.size())));
    if (!rd) {
      if (rd.error().code() == Errc::Eof) break;
      return "read: " + rd.error().message();
    }
    got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*rd));
  }
  counts.io_bytes.fetch_add(got.size(), std::memory_order_relaxed);
  if (got.size() != n * sizeof(std::uint64_t))
    return "read " + std::to_string(got.size()) + " bytes, expected " +
           std::to_string(n * sizeof(std::uint64_t));
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint64_t v;
    std::memcpy(&v, got.data() + i * sizeof v, sizeof v);
    if (v != i) return "record " + std::to_string(i) + " is " + std::to_string(v);
  }
  return {};
}

template <class Conn>
void transfer(Ctx& ctx, Rng& rng, Conn wconn, Conn rconn, const char* what) {
  const std::uint64_t n = rng.below(kBurst * 64);
  auto writer = smarm::spawn([wconn, n, s = rng.next()] { return write_numbers(wconn, n, s); });
  auto reader = smarm::spawn(
      [&ctx, rconn, n, s = rng.next()] { return read_numbers(rconn, n, s, ctx.counts); });
  auto w = writer.join();
  auto rd = reader.join();
  if (!w || *w != Errc{}) ctx.fail(std::string(what) + ": writer failed");
  if (!rd || !rd->empty()) ctx.fail(std::string(what) + ": " + (rd ? *rd : rd.error().message()));
}

void op_io(Ctx& ctx, Rng& rng) {
  if (rng.chance(70)) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
      ctx.fail(std::string("socketpair: ") + std::strerror(errno));
      return;
    }
    transfer(ctx, rng, FdConn{sv[0]}, FdConn{sv[1]}, "socketpair");
    ::close(sv[0]);
    ::close(sv[1]);
    return;
  }
  auto listener = smarm::io::TcpListener::bind("127.0.0.1", 0);
  if (!listener) return;  // no loopback here: the socketpair variant still runs
  auto accepted = smarm::spawn([&listener] { return listener->accept(smarm::Clock::now() + 30s); });
  auto client =
      smarm::io::TcpStream::connect("127.0.0.1", listener->port(), smarm::Clock::now() + 30s);
  auto server = accepted.join();
  if (!client || !server || !*server) {
    ctx.fail("tcp: connect/accept failed");
    return;
  }
  smarm::io::TcpStream srv = std::move(**server);
  ctx.counts.tcp_ops.fetch_add(1, std::memory_order_relaxed);
  if (rng.chance(50))
    transfer(ctx, rng, TcpConn{&*client}, TcpConn{&srv}, "tcp");
  else
    transfer(ctx, rng, TcpConn{&srv}, TcpConn{&*client}, "tcp");
}

// --- supervision ----------------------------------------------------------------------------
// op_supervisor: a supervisor over 1-4 children whose panics are planned so that its end
// is computable. Each child panics a planned number of times (counted across its runs),
// then reaches its final state: Permanent children wait until cancelled, Transient and
// Temporary ones until the op releases them (their release channel closes). Under
// OneForOne every child may panic; under OneForAll and RestForOne only one child (P,
// Transient or Permanent) does, so the runs of its siblings follow from the strategy.
// With period = 1 h the intensity window never slides, so:
//   - restarts > intensity: the supervisor gives up by itself (RestartIntensity);
//   - else, once every child has reached its final state in its last run, the op either
//     releases everyone (no Permanent child: Ok) or cancels the supervisor (Cancelled).
// (When every child is a Temporary one that panics, none settles: the supervisor ends Ok
// by itself.) Sometimes the op cancels the supervisor early instead: Cancelled, unless it
// ended first.
struct SupChild {
  smarm::Restart kind = smarm::Restart::Permanent;
  int panics_planned = 0;
  int expect_runs = 1;  // runs when the supervisor does not give up (1 + restarts)
  bool settles = true;  // whether its last expected run reaches the final state
  std::atomic<int> runs{0}, panics{0};
  smarm::Sender<int> settled;    // tells the op that the last expected run has settled
  smarm::Receiver<int> release;  // closed by the op to let the child return
};

struct SupPlan {
  Ctx* ctx = nullptr;
  std::vector<std::unique_ptr<SupChild>> children;
};

void sup_child_body(SupPlan& plan, std::size_t i) {
  SupChild& c = *plan.children[i];
  // A child's runs never overlap (the supervisor joins a run before it starts the next),
  // so the counters need no more than relaxed atomics.
  const int run = c.runs.fetch_add(1, std::memory_order_relaxed) + 1;
  if (c.panics.load(std::memory_order_relaxed) < c.panics_planned) {
    c.panics.fetch_add(1, std::memory_order_relaxed);
    if (run % 2 == 0) (void)smarm::yield_now();
    throw std::runtime_error("planned child panic");
  }
  if (run == c.expect_runs && c.settles) (void)c.settled.send(static_cast<int>(i));
  if (c.kind == smarm::Restart::Permanent) {
    (void)smarm::sleep_for(1h);  // until the supervisor stops it
    return;
  }
  (void)c.release.recv();  // Closed: released by the op; Cancelled: stopped by the supervisor
}

void op_supervisor(Ctx& ctx, Rng& rng) {
  using smarm::Restart;
  using smarm::Strategy;
  const auto plan = std::make_shared<SupPlan>();
  plan->ctx = &ctx;
  const std::size_t n = 1 + rng.below(4);
  const Strategy strategy = static_cast<Strategy>(rng.below(3));
  const int intensity = static_cast<int>(rng.below(5));
  const std::size_t p = rng.below(n);  // the one child that panics (OneForAll, RestForOne)
  auto settled = smarm::channel<int>();
  std::vector<smarm::Sender<int>> releases;
  for (std::size_t i = 0; i < n; ++i) {
    auto c = std::make_unique<SupChild>();
    if (strategy == Strategy::OneForOne) {
      c->kind = static_cast<Restart>(rng.below(3));
      c->panics_planned = static_cast<int>(rng.below(4));
    } else if (i == p) {
      c->kind = rng.chance(50) ? Restart::Transient : Restart::Permanent;
      c->panics_planned = static_cast<int>(rng.below(6));
    } else {
      c->kind = static_cast<Restart>(rng.below(3));
    }
    c->settled = settled.tx;
    auto rel = smarm::channel<int>();
    c->release = std::move(rel.rx);
    releases.push_back(std::move(rel.tx));
    plan->children.push_back(std::move(c));
  }
  // Restarts the plan calls for, and each child's runs if the supervisor never gives up.
  int restarts = 0;
  const int k = plan->children[p]->panics_planned;
  for (std::size_t i = 0; i < n; ++i) {
    SupChild& c = *plan->children[i];
    if (strategy == Strategy::OneForOne) {
      if (c.kind == Restart::Temporary) {
        c.expect_runs = 1;
        c.settles = c.panics_planned == 0;
      } else {
        restarts += c.panics_planned;
        c.expect_runs = 1 + c.panics_planned;
      }
    } else {
      const bool in_scope = strategy == Strategy::OneForAll || i >= p;
      c.expect_runs = (!in_scope || c.kind == Restart::Temporary) ? 1 : 1 + k;
      // A Temporary sibling in scope may be stopped (and dropped) before it settles.
      c.settles = !(in_scope && i != p && c.kind == Restart::Temporary && k > 0);
    }
  }
  if (strategy != Strategy::OneForOne) restarts = k;
  const bool gives_up = restarts > intensity;
  bool any_permanent = false;
  std::size_t to_settle = 0;
  for (auto& c : plan->children) {
    any_permanent = any_permanent || c->kind == Restart::Permanent;
    to_settle += c->settles ? 1 : 0;
  }

  smarm::SupervisorSpec spec;
  spec.strategy = strategy;
  spec.intensity = intensity;
  spec.period = 1h;
  for (std::size_t i = 0; i < n; ++i)
    spec.children.push_back(smarm::ChildSpec{.name = "child-" + std::to_string(i),
                                             .start = [plan, i] { sup_child_body(*plan, i); },
                                             .restart = plan->children[i]->kind});
  auto sup = smarm::spawn_supervisor(std::move(spec));
  ctx.counts.supervisors.fetch_add(1, std::memory_order_relaxed);

  const bool early_cancel = rng.chance(15);
  Errc expect = Errc::RestartIntensity;
  if (early_cancel) {
    for (std::uint64_t y = rng.below(6); y > 0; --y) (void)smarm::yield_now();
    (void)sup.cancel();
    ctx.counts.cancels.fetch_add(1, std::memory_order_relaxed);
  } else if (!gives_up) {
    for (std::size_t s = 0; s < to_settle; ++s)
      if (auto r = settled.rx.recv(); !r) {
        ctx.fail("supervisor: waiting for the children to settle: " + r.error().message());
        break;
      }
    if (any_permanent) {
      expect = Errc::Cancelled;
      (void)sup.cancel();
    } else {
      expect = Errc{};
      releases.clear();
    }
  }
  auto r = sup.join();
  releases.clear();

  const std::string plan_str =
      "supervisor (strategy " + std::to_string(static_cast<int>(strategy)) + ", intensity " +
      std::to_string(intensity) + ", " + std::to_string(n) + " children, restarts planned " +
      std::to_string(restarts) + (early_cancel ? ", cancelled" : "") + ")";
  if (!r) {
    ctx.fail(plan_str + ": join: " + r.error().message());
    return;
  }
  const Errc got = *r ? Errc{} : r->error().code();
  const bool outcome_ok =
      early_cancel ? (got == Errc::Cancelled || (gives_up && got == Errc::RestartIntensity) ||
                      (!gives_up && to_settle == 0 && got == Errc{}))
                   : got == expect;
  if (!outcome_ok) {
    ctx.fail(plan_str + ": ended with " + (*r ? std::string("Ok") : r->error().message()) +
             ", expected " + (expect == Errc{} ? std::string("Ok") : errc_str(expect)));
    return;
  }
  if (got == Errc::RestartIntensity &&
      r->error().message().find("restart intensity exceeded: child 'child-") == std::string::npos)
    ctx.fail(plan_str + ": intensity error does not name the child: " + r->error().message());

  // Runs: exact when the supervisor neither gave up nor was cancelled early; else bounded.
  int restarted = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const SupChild& c = *plan->children[i];
    const int runs = c.runs.load(std::memory_order_relaxed);
    const bool exact = !early_cancel && !gives_up;
    int max_runs = c.expect_runs;
    if (gives_up && strategy != Strategy::OneForOne && max_runs > 1) max_runs = 1 + intensity;
    if ((exact && runs != c.expect_runs) || runs > max_runs)
      ctx.fail(plan_str + ": child " + std::to_string(i) + " ran " + std::to_string(runs) +
               " times, expected " + (exact ? "" : "at most ") + std::to_string(max_runs));
    if (c.kind != Restart::Temporary && runs > 0) restarted += runs - 1;
  }
  if (strategy == Strategy::OneForOne && restarted > intensity)
    ctx.fail(plan_str + ": " + std::to_string(restarted) + " restarts within the intensity " +
             std::to_string(intensity));
  if (gives_up && !early_cancel && strategy != Strategy::OneForOne &&
      plan->children[p]->runs.load(std::memory_order_relaxed) != 1 + intensity)
    ctx.fail(plan_str + ": the panicking child did not run exactly intensity + 1 times");
  ctx.counts.restarts.fetch_add(static_cast<std::uint64_t>(restarted), std::memory_order_relaxed);
}

// --- task<T> ---------------------------------------------------------------------------------
// op_task: producers (spawned tasks) -> channel A -> a relay (a spawned task) -> channel B
// -> a consumer task run inline here with get(). The relay receives with recv, recv_for or
// select, sometimes sleeps, counts each token under a Mutex it shares with the consumer,
// and forwards it through a nested task (forward_one) that sometimes throws, which the
// relay catches: that token dies in the throwing frame. Sometimes the relay panics at its
// end, and sometimes the op cancels it. Tokens travel inside tasks exactly as elsewhere,
// so the Ledger's rule holds: each token ends exactly one way.
struct TaskCell {
  std::uint64_t count = 0;
};

struct TaskShared {
  Ctx* ctx = nullptr;
  smarm::Mutex<TaskCell> cell;
  std::atomic<std::uint64_t> locks{0}, forwarded{0}, caught{0}, taken{0};
};

// forward_one sends t on out and returns its id, or kNoId when out refused it (the token
// then dies with the error here; its producer's send had succeeded, so the ledger counts
// it as destroyed). boom: throw before sending, with the token still in this frame.
smarm::task<std::uint64_t> forward_one(smarm::Sender<Token>* out, Token t, bool boom) {
  const std::uint64_t id = t.id();
  if (boom) throw std::runtime_error("planned task failure");
  auto s = co_await out->send(std::move(t));
  co_return s ? id : kNoId;
}

// lock_either_way and send_either_way pick the call in a plain function, so that the task
// co_awaits one prvalue: GCC 12 destroys the result of a co_await inside ?: twice (a
// compiler bug; clang is right), which here unlocked a Mutex twice.
smarm::Result<smarm::MutexGuard<TaskCell>> lock_either_way(smarm::Mutex<TaskCell>& m, Rng& r) {
  if (r.chance(50)) return m.lock(r.micros(100));
  return m.lock_until(smarm::Deadline::max());
}
auto send_either_way(smarm::Sender<Token>& tx, Token t, Rng& r) {
  if (r.chance(70)) return tx.send(std::move(t));
  return tx.send_for(std::move(t), r.micros(100));
}

// count_under_lock increments the shared cell; true if it got the lock (a timed lock may
// time out, and a cancelled actor gets Cancelled).
smarm::task<bool> count_under_lock(TaskShared* sh, std::uint64_t seed) {
  Rng r(seed);
  auto g = co_await lock_either_way(sh->cell, r);
  if (!g) {
    const Errc c = g.error().code();
    if (c != Errc::TimedOut && c != Errc::Cancelled) sh->ctx->fail("task lock: " + errc_str(c));
    co_return false;
  }
  ++(*g)->count;
  if (r.chance(10)) (void)co_await smarm::yield_now();  // hold it across a switch
  sh->locks.fetch_add(1, std::memory_order_relaxed);
  co_return true;
}

smarm::task<std::uint64_t> produce(Ctx* ctx, smarm::Sender<Token> tx, std::uint64_t n,
                                   std::uint64_t seed) {
  Rng r(seed);
  std::uint64_t sent = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    Token t = ctx->make();
    const std::uint64_t id = t.id();
    auto s = co_await send_either_way(tx, std::move(t), r);
    if (!s) {
      const Errc c = s.error().code();
      ctx->handed_back(std::move(s).error().into_value());
      if (c == Errc::TimedOut) continue;
      if (c != Errc::Closed && c != Errc::Cancelled) ctx->fail("task send: " + errc_str(c));
      break;
    }
    ctx->sent(id);
    ++sent;
    if (r.chance(10)) (void)co_await smarm::yield_now();
  }
  co_return sent;
}

// relay_recv receives one token by recv, recv_for or a select with an after case.
smarm::task<std::optional<Token>> relay_recv(smarm::Receiver<Token>* in, Errc* code, Rng* r) {
  switch (r->below(3)) {
    case 0: {
      auto v = co_await in->recv();
      if (v) co_return std::move(*v);
      *code = v.error().code();
      co_return std::nullopt;
    }
    case 1: {
      auto v = co_await in->recv_for(r->micros(100));
      if (v) co_return std::move(*v);
      *code = v.error().code();
      co_return std::nullopt;
    }
    default: {
      auto sel = co_await smarm::select(smarm::recv(*in), smarm::after(r->micros(100)));
      if (sel.index() == 0 && sel) co_return std::move(sel).get<0>();
      *code = sel.error().code();
      co_return std::nullopt;
    }
  }
}

smarm::task<std::uint64_t> relay(TaskShared* sh, smarm::Receiver<Token> in,
                                 smarm::Sender<Token> out, std::uint64_t seed, bool panic_at_end) {
  Rng r(seed);
  std::uint64_t handled = 0;
  for (;;) {
    Errc code{};
    std::optional<Token> got = co_await relay_recv(&in, &code, &r);
    if (!got) {
      if (code == Errc::TimedOut) {
        sh->ctx->counts.timeouts.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (code != Errc::Closed && code != Errc::Cancelled)
        sh->ctx->fail("relay recv: " + errc_str(code));
      break;
    }
    sh->taken.fetch_add(1, std::memory_order_relaxed);
    ++handled;
    if (r.chance(10)) (void)co_await smarm::sleep_for(r.micros(30));
    (void)co_await count_under_lock(sh, r.next());
    const std::uint64_t id = got->id();
    const bool boom = r.chance(4);
    try {
      const std::uint64_t fwd = co_await forward_one(&out, std::move(*got), boom);
      if (boom) sh->ctx->fail("relay: forward_one did not throw");
      if (fwd == kNoId) break;  // B refused it: this actor was cancelled
      if (fwd != id) sh->ctx->fail("relay: forward_one returned another id");
      sh->forwarded.fetch_add(1, std::memory_order_relaxed);
    } catch (const std::runtime_error& e) {
      if (!boom || std::string(e.what()) != "planned task failure")
        sh->ctx->fail(std::string("relay: unexpected exception: ") + e.what());
      sh->caught.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (panic_at_end) throw std::runtime_error("planned task panic");
  co_return handled;
}

smarm::task<std::uint64_t> consume(TaskShared* sh, smarm::Receiver<Token> in, std::uint64_t seed) {
  Rng r(seed);
  std::uint64_t n = 0;
  for (;;) {
    auto v = co_await in.recv();
    if (!v) {
      if (v.error().code() != Errc::Closed) sh->ctx->fail("task consumer: " + v.error().message());
      co_return n;
    }
    sh->ctx->received(std::move(*v));
    ++n;
    if (r.chance(20)) (void)co_await count_under_lock(sh, r.next());
  }
}

void op_task(Ctx& ctx, Rng& rng) {
  TaskShared sh;
  sh.ctx = &ctx;
  auto a = rng.chance(50) ? smarm::channel<Token>() : smarm::bounded_channel<Token>(rng.below(3));
  auto b = rng.chance(50) ? smarm::channel<Token>() : smarm::bounded_channel<Token>(rng.below(3));
  const int producers = 1 + static_cast<int>(rng.below(3));
  std::vector<smarm::JoinHandle<std::uint64_t>> ps;
  for (int i = 0; i < producers; ++i) {
    const std::uint64_t n = rng.below(kBurst + 1), seed = rng.next();
    ps.push_back(smarm::spawn(produce(&ctx, a.tx, n, seed)));
  }
  { auto drop = std::move(a.tx); }  // the producers hold the only senders now
  const bool panic_at_end = rng.chance(10);
  const std::uint64_t relay_seed = rng.next();
  auto rel = smarm::spawn(smarm::SpawnOptions{.name = "task-relay"},
                          relay(&sh, std::move(a.rx), std::move(b.tx), relay_seed, panic_at_end));
  ctx.counts.tasks.fetch_add(static_cast<std::uint64_t>(producers) + 2, std::memory_order_relaxed);
  const bool cancel = rng.chance(15);
  if (cancel) {
    for (std::uint64_t k = rng.below(4); k > 0; --k) (void)smarm::yield_now();
    (void)rel.cancel();
    ctx.counts.cancels.fetch_add(1, std::memory_order_relaxed);
  }
  // The consumer runs here: it ends when the relay ends and its sender goes.
  auto received = consume(&sh, std::move(b.rx), rng.next()).get();
  std::uint64_t sent = 0;
  for (auto& h : ps) {
    auto s = h.join();
    if (!s)
      ctx.fail("task producer join: " + s.error().message());
    else
      sent += *s;
  }
  auto handled = rel.join();
  if (panic_at_end) {
    if (handled || handled.error().code() != Errc::Panicked ||
        handled.error().message().find("planned task panic") == std::string::npos)
      ctx.fail("task relay: expected its planned panic, got " +
               (handled ? std::string("a value") : handled.error().message()));
    else
      ctx.counts.panics.fetch_add(1, std::memory_order_relaxed);
  } else if (!handled) {
    ctx.fail("task relay join: " + handled.error().message());
  } else if (*handled != sh.taken.load()) {
    ctx.fail("task relay returned " + std::to_string(*handled) + ", took " +
             std::to_string(sh.taken.load()));
  }
  if (!received) {
    ctx.fail("task consumer get: " + received.error().message());
    return;
  }
  const std::uint64_t forwarded = sh.forwarded.load(), caught = sh.caught.load(),
                      taken = sh.taken.load();
  if (*received != forwarded)
    ctx.fail("task: consumer received " + std::to_string(*received) + ", relay forwarded " +
             std::to_string(forwarded));
  if (!cancel && (taken != sent || forwarded + caught != taken))
    ctx.fail("task: sent " + std::to_string(sent) + ", relay took " + std::to_string(taken) +
             ", forwarded " + std::to_string(forwarded) + ", caught " + std::to_string(caught));
  auto g = sh.cell.lock_until(smarm::Deadline::max());
  if (!g) {
    ctx.fail("task final lock: " + g.error().message());
    return;
  }
  if ((*g)->count != sh.locks.load())
    ctx.fail("task: cell " + std::to_string((*g)->count) + " != locks " +
             std::to_string(sh.locks.load()));
  ctx.counts.locks.fetch_add((*g)->count, std::memory_order_relaxed);
}

// --- pipe ------------------------------------------------------------------------------------
// op_pipe: a smarm::pipe pipeline over int64s, of one of four shapes with random
// parameters, from a vector or from a channel an actor feeds, into collect, fold or
// for_each. The expected result comes from running the same steps sequentially here.
// Sometimes one stage's function throws on a planned input (the sink's Result must then
// be Panicked, naming that stage); take(n) sometimes ends the pipeline early. Every stage
// function counts itself in a PipeWatch, so a call still running (or starting) after the
// sink returned is caught here; the run's leak check covers stage actors left behind.
using Item = std::int64_t;
constexpr Item kNoPoison = std::numeric_limits<Item>::min();

struct PipeWatch {
  std::atomic<int> active{0};
  std::atomic<bool> sink_returned{false}, late{false};
};

// InStage marks one call of a stage function.
class InStage {
 public:
  explicit InStage(PipeWatch& w) : w_(w) {
    w_.active.fetch_add(1, std::memory_order_acq_rel);
    if (w_.sink_returned.load(std::memory_order_acquire)) w_.late.store(true);
  }
  ~InStage() { w_.active.fetch_sub(1, std::memory_order_acq_rel); }
  InStage(const InStage&) = delete;
  InStage& operator=(const InStage&) = delete;

 private:
  PipeWatch& w_;
};

[[noreturn]] void planned_pipe_failure() { throw std::runtime_error("planned pipe failure"); }

struct Affine {  // map / par_map: a * x + b
  std::shared_ptr<PipeWatch> w;
  Item a = 1, b = 0, poison = kNoPoison;
  Item operator()(Item x) const {
    InStage in(*w);
    if (x == poison) planned_pipe_failure();
    return a * x + b;
  }
};
struct KeepIf {  // filter: x % m != r
  std::shared_ptr<PipeWatch> w;
  Item m = 2, r = 0, poison = kNoPoison;
  bool operator()(const Item& x) const {
    InStage in(*w);
    if (x == poison) planned_pipe_failure();
    return x % m != r;
  }
};
struct SumBatch {  // map over batch(k)'s vectors
  std::shared_ptr<PipeWatch> w;
  Item operator()(std::vector<Item> v) const {
    InStage in(*w);
    return std::accumulate(v.begin(), v.end(), Item{0});
  }
};

// PipeStep is one stage as the sequential model sees it.
struct PipeStep {
  enum Kind { kMap, kFilter, kParMap, kParMapUnordered, kBatch, kSumBatch, kTake } kind;
  Affine f{};
  KeepIf p{};
  std::size_t n = 0;  // batch size, take count
  const char* name() const {
    static const char* const names[] = {"map",   "filter", "par_map", "par_map_unordered",
                                        "batch", "map",    "take"};
    return names[kind];
  }
};

struct PipeCase {
  int shape = 0, sink = 0;
  std::size_t workers = 1;      // par_map's n
  std::vector<PipeStep> steps;  // steps[i] is stage i + 1
  Item sink_poison = kNoPoison;
  std::shared_ptr<PipeWatch> watch = std::make_shared<PipeWatch>();
};

// PipeExpect is what the sequential model predicts.
struct PipeExpect {
  std::vector<Item> items;     // the sink's input (collect, for_each; fold sums it)
  bool unordered = false;      // par_map_unordered ran: compare as multisets
  bool subset = false;         // ... and a take cut it: any `take` of them will do
  std::size_t fail_stage = 0;  // 0: no planned failure reached
  bool fail_optional = false;  // a take may cut the pipeline before the failure
};

PipeExpect pipe_model(const PipeCase& pc, std::vector<Item> items) {
  PipeExpect e;
  bool cut_unordered = false;   // a take cut items that arrived in no fixed order
  std::size_t take_cut_at = 0;  // the last stage where a take may have cut
  auto reached = [&](std::size_t stage, Item poison) {
    if (e.fail_stage || poison == kNoPoison) return;
    if (std::find(items.begin(), items.end(), poison) == items.end()) return;
    e.fail_stage = stage;
  };
  for (std::size_t i = 0; i < pc.steps.size(); ++i) {
    const PipeStep& s = pc.steps[i];
    const std::size_t stage = i + 1;
    std::vector<Item> out;
    switch (s.kind) {
      case PipeStep::kMap:
      case PipeStep::kParMap:
      case PipeStep::kParMapUnordered:
        reached(stage, s.f.poison);
        for (Item x : items) out.push_back(s.f.a * x + s.f.b);
        if (s.kind == PipeStep::kParMapUnordered) e.unordered = true;
        break;
      case PipeStep::kFilter:
        reached(stage, s.p.poison);
        for (Item x : items)
          if (x % s.p.m != s.p.r) out.push_back(x);
        break;
      case PipeStep::kBatch:  // modelled with the SumBatch after it
        out = std::move(items);
        break;
      case PipeStep::kSumBatch: {
        const std::size_t k = pc.steps[i - 1].n;
        for (std::size_t j = 0; j < items.size(); j += k)
          out.push_back(std::accumulate(
              items.begin() + static_cast<std::ptrdiff_t>(j),
              items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), j + k)), Item{0}));
        break;
      }
      case PipeStep::kTake:
        // take(n) passes n items and cancels upstream; having seen n items, it may have
        // cut any stage before it short (a failure there may or may not happen).
        if (items.size() >= s.n) {
          take_cut_at = stage;
          if (e.unordered) cut_unordered = true;
        }
        out = std::move(items);
        if (out.size() > s.n) out.resize(s.n);
        break;
    }
    items = std::move(out);
  }
  reached(pc.steps.size() + 1, pc.sink_poison);
  if (e.fail_stage && (e.fail_stage < take_cut_at || cut_unordered)) e.fail_optional = true;
  e.subset = cut_unordered;
  e.items = std::move(items);
  return e;
}

// PipeGot is what the pipeline produced.
struct PipeGot {
  bool ok = false;
  std::string error;
  Errc code{};
  std::vector<Item> items;  // collect, for_each
  Item sum = 0;             // fold
  std::size_t count = 0;    // fold
};

struct FoldAcc {
  Item sum = 0;
  std::size_t count = 0;
};

template <class P>
PipeGot pipe_sink(const PipeCase& pc, P&& p) {
  namespace pipe = smarm::pipe;
  PipeGot got;
  auto take_result = [&](auto& r) {
    got.ok = r.has_value();
    if (!got.ok) {
      got.code = r.error().code();
      got.error = r.error().message();
    }
  };
  const auto w = pc.watch;
  const Item poison = pc.sink_poison;
  switch (pc.sink) {
    case 0: {
      auto r = std::move(p) | pipe::collect();
      take_result(r);
      if (r) got.items = std::move(*r);
      break;
    }
    case 1: {
      auto r = std::move(p) | pipe::fold(FoldAcc{}, [w, poison](FoldAcc a, Item x) {
                 InStage in(*w);
                 if (x == poison) planned_pipe_failure();
                 a.sum += x;
                 ++a.count;
                 return a;
               });
      take_result(r);
      if (r) {
        got.sum = r->sum;
        got.count = r->count;
      }
      break;
    }
    default: {
      auto r = std::move(p) | pipe::for_each([&got, w, poison](Item x) {
                 InStage in(*w);
                 if (x == poison) planned_pipe_failure();
                 got.items.push_back(x);
               });
      take_result(r);
      break;
    }
  }
  return got;
}

template <class Src>
PipeGot pipe_shape(const PipeCase& pc, Src&& src) {
  namespace pipe = smarm::pipe;
  const auto& s = pc.steps;
  switch (pc.shape) {
    case 0:
      return pipe_sink(
          pc, std::move(src) | pipe::map(s[0].f) | pipe::filter(s[1].p) | pipe::take(s[2].n));
    case 1:
      return pipe_sink(pc, std::move(src) | pipe::par_map(pc.workers, s[0].f) |
                               pipe::filter(s[1].p) | pipe::batch(s[2].n) |
                               pipe::map(SumBatch{pc.watch}));
    case 2:
      return pipe_sink(pc, std::move(src) | pipe::filter(s[0].p) |
                               pipe::par_map_unordered(pc.workers, s[1].f) | pipe::take(s[2].n));
    default:
      return pipe_sink(pc, std::move(src) | pipe::batch(s[0].n) | pipe::map(SumBatch{pc.watch}) |
                               pipe::par_map(pc.workers, s[2].f) | pipe::take(s[3].n));
  }
}

void op_pipe(Ctx& ctx, Rng& rng) {
  PipeCase pc;
  pc.shape = static_cast<int>(rng.below(4));
  pc.sink = static_cast<int>(rng.below(3));
  pc.workers = 1 + rng.below(4);
  using K = PipeStep::Kind;
  static const std::vector<K> shapes[] = {
      {K::kMap, K::kFilter, K::kTake},
      {K::kParMap, K::kFilter, K::kBatch, K::kSumBatch},
      {K::kFilter, K::kParMapUnordered, K::kTake},
      {K::kBatch, K::kSumBatch, K::kParMap, K::kTake},
  };
  const std::size_t n_items = rng.below(kBurst * 4 + 1);
  for (K k : shapes[pc.shape]) {
    PipeStep s{k};
    s.f = Affine{pc.watch, 1 + static_cast<Item>(rng.below(3)), static_cast<Item>(rng.below(10))};
    s.p = KeepIf{pc.watch, 2 + static_cast<Item>(rng.below(4)), 0};
    s.p.r = static_cast<Item>(rng.below(static_cast<std::uint64_t>(s.p.m)));
    s.n = k == K::kTake ? rng.below(n_items + n_items / 2 + 2) : 1 + rng.below(8);
    pc.steps.push_back(s);
  }
  const Item base = static_cast<Item>(rng.below(1000));
  std::vector<Item> values(n_items);
  std::iota(values.begin(), values.end(), base);
  const std::vector<Item> source = values;

  // At most one planned failure: the poison is an input the chosen stage sees in the
  // sequential model (the model decides whether the pipeline reaches it).
  if (n_items > 0 && rng.chance(25)) {
    std::vector<std::size_t> throwing;  // stages whose function can throw
    for (std::size_t i = 0; i < pc.steps.size(); ++i)
      if (pc.steps[i].kind != K::kBatch && pc.steps[i].kind != K::kSumBatch &&
          pc.steps[i].kind != K::kTake)
        throwing.push_back(i + 1);
    if (pc.sink != 0) throwing.push_back(pc.steps.size() + 1);
    const std::size_t stage = throwing[rng.below(throwing.size())];
    // Run the model up to that stage to find a value it sees.
    PipeCase upto = pc;
    upto.steps.resize(stage - 1);
    upto.sink_poison = kNoPoison;
    auto seen = pipe_model(upto, values).items;
    const Item poison = seen.empty() ? base - 1 : seen[rng.below(seen.size())];
    if (stage == pc.steps.size() + 1)
      pc.sink_poison = poison;
    else if (pc.steps[stage - 1].kind == K::kFilter)
      pc.steps[stage - 1].p.poison = poison;
    else
      pc.steps[stage - 1].f.poison = poison;
  }
  const PipeExpect expect = pipe_model(pc, values);
  // par_map's and the from stage's channels: rendezvous, small, or the default.
  const std::size_t caps[] = {0, 1, 4, 64};
  const smarm::pipe::Options options{.capacity = caps[rng.below(4)]};

  PipeGot got;
  std::optional<smarm::JoinHandle<std::uint64_t>> feeder;
  if (rng.chance(50)) {
    got = pipe_shape(pc, smarm::pipe::from(std::move(values), options));
  } else {
    auto ch = rng.chance(50) ? smarm::channel<Item>() : smarm::bounded_channel<Item>(rng.below(4));
    feeder.emplace(smarm::spawn(smarm::SpawnOptions{.name = "pipe-feeder"},
                                [tx = std::move(ch.tx), values = std::move(values)]() mutable {
                                  std::uint64_t sent = 0;
                                  for (Item v : values) {
                                    if (!tx.send(v)) break;  // Closed: the pipeline ended early
                                    ++sent;
                                  }
                                  return sent;
                                }));
    got = pipe_shape(pc, smarm::pipe::from(std::move(ch.rx), options));
  }
  pc.watch->sink_returned.store(true);
  const int still_active = pc.watch->active.load();
  ctx.counts.pipes.fetch_add(1, std::memory_order_relaxed);

  std::string what = "pipe (shape " + std::to_string(pc.shape) + ", sink " +
                     std::to_string(pc.sink) + ", " + std::to_string(n_items) + " items, " +
                     std::to_string(pc.workers) + " workers, capacity " +
                     std::to_string(options.capacity) + ")";
  if (still_active != 0)
    ctx.fail(what + ": " + std::to_string(still_active) +
             " stage function call(s) still running after the sink returned");
  if (feeder) {
    auto f = feeder->join();
    if (!f) ctx.fail(what + ": feeder join: " + f.error().message());
  }
  if (pc.watch->late.load()) ctx.fail(what + ": a stage function started after the sink returned");

  const char* sink_names[] = {"collect", "fold", "for_each"};
  if (!got.ok) {
    if (!expect.fail_stage) {
      ctx.fail(what + ": unexpected failure: " + got.error);
      return;
    }
    const std::size_t st = expect.fail_stage;
    const std::string kind = st <= pc.steps.size() ? pc.steps[st - 1].name() : sink_names[pc.sink];
    const std::string want =
        "stage " + std::to_string(st) + " (" + kind + "): planned pipe failure";
    if (got.code != Errc::Panicked || got.error != want)
      ctx.fail(what + ": failed with '" + got.error + "' (" + errc_str(got.code) + "), expected '" +
               want + "'");
    ctx.counts.pipe_failures.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (expect.fail_stage && !expect.fail_optional) {
    ctx.fail(what + ": expected stage " + std::to_string(expect.fail_stage) +
             " to fail, but the pipeline succeeded");
    return;
  }
  std::vector<Item> want = expect.items;
  if (pc.sink == 1) {
    const Item sum = std::accumulate(want.begin(), want.end(), Item{0});
    if (got.count != want.size() || (!expect.subset && got.sum != sum))
      ctx.fail(what + ": fold gave " + std::to_string(got.count) + " items summing to " +
               std::to_string(got.sum) + ", expected " + std::to_string(want.size()) +
               " summing to " + std::to_string(sum));
    ctx.counts.pipe_items.fetch_add(got.count, std::memory_order_relaxed);
    return;
  }
  ctx.counts.pipe_items.fetch_add(got.items.size(), std::memory_order_relaxed);
  bool same;
  if (expect.unordered) {
    std::sort(got.items.begin(), got.items.end());
    if (expect.subset) {
      // A take after par_map_unordered keeps whichever results came first: as many as
      // the model's, all from the full (uncut) output.
      PipeCase full = pc;
      for (auto& st : full.steps)
        if (st.kind == K::kTake) st.n = std::numeric_limits<std::size_t>::max();
      std::vector<Item> all = pipe_model(full, source).items;
      std::sort(all.begin(), all.end());
      same = got.items.size() == want.size() &&
             std::includes(all.begin(), all.end(), got.items.begin(), got.items.end());
    } else {
      std::sort(want.begin(), want.end());
      same = got.items == want;
    }
  } else {
    same = got.items == want;
  }
  if (!same)
    ctx.fail(what + ": got " + std::to_string(got.items.size()) + " items, expected " +
             std::to_string(want.size()) + (expect.unordered ? " (as a multiset)" : ""));
}

// --- block_on_io -------------------------------------------------------------------------------
// op_block_on_io: 1-4 actors call smarm::io::block_on_io at once. f is a nanosleep of a
// few microseconds returning a value derived from a salt; or a blocking ::read of a pipe
// that a writer actor fills through smarm::io (f returns a checksum of what it read); or
// a throw, which block_on_io rethrows in the caller (caught there, or left to end the
// actor with a panic). Some callers are cancelled while they wait. As documented, a
// cancelled caller gets Cancelled only if f never started (and f must then never run);
// otherwise it waits for f and gets its result, and its next blocking call says Cancelled.
enum class BlockingKind { Sleep, PipeRead, ThrowCaught, ThrowUncaught };

std::uint64_t blocking_value(std::uint64_t salt) { return salt * 0x9e3779b97f4a7c15u + 7; }

std::uint64_t pipe_checksum(const unsigned char* p, std::size_t n) {
  std::uint64_t h = 1469598103934665603u;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211u;
  return h;
}

std::vector<unsigned char> pipe_bytes(std::uint64_t salt, std::size_t n) {
  std::vector<unsigned char> v(n);
  Rng r(salt);
  for (auto& b : v) b = static_cast<unsigned char>(r.next());
  return v;
}

struct BlockingCall {
  BlockingKind kind = BlockingKind::Sleep;
  std::uint64_t salt = 0;
  std::size_t bytes = 0;  // PipeRead: how many bytes the writer sends
  int fds[2] = {-1, -1};  // PipeRead: [0] blocking, read by f; [1] non-blocking, the writer's
  std::atomic<bool> ran{false};  // f started
};

// blocking_caller runs one block_on_io call and returns what went wrong ("" if nothing).
std::string blocking_caller(BlockingCall& call, Counts& counts) {
  std::string bad;
  auto check_cancelled_after = [&] {
    if (smarm::cancelled()) {
      counts.blocking_cancelled.fetch_add(1, std::memory_order_relaxed);
      if (smarm::yield_now()) bad += "; cancelled, yet the next blocking call succeeded";
    }
  };
  switch (call.kind) {
    case BlockingKind::Sleep: {
      const auto us = Rng(call.salt).below(50);
      auto r = smarm::io::block_on_io([&call, us] {
        call.ran.store(true);
        const timespec ts{0, static_cast<long>(us * 1000)};
        ::nanosleep(&ts, nullptr);
        return blocking_value(call.salt);
      });
      if (r && *r != blocking_value(call.salt)) bad = "sleep: wrong value";
      if (!r && r.error().code() != Errc::Cancelled) bad = "sleep: " + r.error().message();
      if (!r && call.ran.load()) bad = "sleep: Cancelled, yet f ran";
      if (r && !call.ran.load()) bad = "sleep: a value without f having run";
      break;
    }
    case BlockingKind::PipeRead: {
      auto r = smarm::io::block_on_io([&call]() -> std::uint64_t {
        call.ran.store(true);
        std::vector<unsigned char> got(call.bytes);
        std::size_t off = 0;
        while (off < got.size()) {
          const ssize_t n = ::read(call.fds[0], got.data() + off, got.size() - off);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;  // the writer closed early: the checksum will not match
          off += static_cast<std::size_t>(n);
        }
        return pipe_checksum(got.data(), off) ^ off;
      });
      const auto want = pipe_bytes(call.salt, call.bytes);
      if (r && *r != (pipe_checksum(want.data(), want.size()) ^ want.size()))
        bad = "pipe read: f read other bytes than the writer wrote";
      if (!r && r.error().code() != Errc::Cancelled) bad = "pipe read: " + r.error().message();
      if (!r && call.ran.load()) bad = "pipe read: Cancelled, yet f ran";
      break;
    }
    case BlockingKind::ThrowCaught:
    case BlockingKind::ThrowUncaught: {
      const bool catch_it = call.kind == BlockingKind::ThrowCaught;
      try {
        auto r = smarm::io::block_on_io([&call]() -> int {
          call.ran.store(true);
          throw std::runtime_error("planned blocking failure");
        });
        if (r) bad = "throw: block_on_io returned a value";
        if (!r && (r.error().code() != Errc::Cancelled || call.ran.load()))
          bad = "throw: " + r.error().message() + (call.ran.load() ? " (f ran)" : "");
      } catch (const std::runtime_error& e) {
        if (std::string(e.what()) != "planned blocking failure")
          bad = std::string("throw: another exception: ") + e.what();
        else if (!catch_it)
          throw;  // end the actor with a panic, as an unhandled exception would
      }
      break;
    }
  }
  check_cancelled_after();
  return bad;
}

void op_block_on_io(Ctx& ctx, Rng& rng) {
  const std::size_t n = 1 + rng.below(4);
  std::vector<std::unique_ptr<BlockingCall>> calls;
  std::vector<smarm::JoinHandle<Errc>> writers;
  for (std::size_t i = 0; i < n; ++i) {
    auto c = std::make_unique<BlockingCall>();
    const auto pick = rng.below(10);
    c->kind = pick < 4   ? BlockingKind::Sleep
              : pick < 8 ? BlockingKind::PipeRead
              : pick < 9 ? BlockingKind::ThrowCaught
                         : BlockingKind::ThrowUncaught;
    c->salt = rng.next();
    if (c->kind == BlockingKind::PipeRead) {
      // Less than a pipe's buffer: the writer never waits for the reader, so it finishes
      // even when the reader's f never runs.
      c->bytes = 1 + rng.below(4096);
      if (::pipe2(c->fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        ctx.fail(std::string("pipe2: ") + std::strerror(errno));
        c->kind = BlockingKind::Sleep;
      } else {
        // f reads with plain blocking ::read on a blocking thread.
        ::fcntl(c->fds[0], F_SETFL, ::fcntl(c->fds[0], F_GETFL) & ~O_NONBLOCK);
      }
    }
    calls.push_back(std::move(c));
  }
  std::vector<smarm::JoinHandle<std::string>> hs;
  for (auto& c : calls)
    hs.push_back(smarm::spawn(smarm::SpawnOptions{.name = "block-on-io"}, [&ctx, call = c.get()] {
      return blocking_caller(*call, ctx.counts);
    }));
  for (auto& c : calls) {
    if (c->kind != BlockingKind::PipeRead) continue;
    writers.push_back(smarm::spawn([call = c.get(), s = rng.next()] {
      Rng r(s);
      const auto bytes = pipe_bytes(call->salt, call->bytes);
      std::size_t off = 0;
      Errc e{};
      while (off < bytes.size()) {
        const std::size_t chunk = std::min<std::size_t>(bytes.size() - off, 1 + r.below(1500));
        auto w =
            smarm::io::write_all(call->fds[1], std::as_bytes(std::span(bytes.data() + off, chunk)));
        if (!w) {
          e = w.error().code();
          break;
        }
        off += chunk;
        if (r.chance(20)) (void)smarm::yield_now();
      }
      ::close(std::exchange(call->fds[1], -1));  // EOF for a reader still waiting
      return e;
    }));
  }
  ctx.counts.blocking.fetch_add(n, std::memory_order_relaxed);
  const bool cancel = rng.chance(30);
  const std::size_t victim = rng.below(n);
  if (cancel) {
    for (std::uint64_t k = rng.below(3); k > 0; --k) (void)smarm::yield_now();
    (void)hs[victim].cancel();
    ctx.counts.cancels.fetch_add(1, std::memory_order_relaxed);
  }
  for (std::size_t i = 0; i < n; ++i) {
    auto r = hs[i].join();
    const BlockingCall& c = *calls[i];
    if (c.kind == BlockingKind::ThrowUncaught && c.ran.load()) {
      if (r || r.error().code() != Errc::Panicked ||
          r.error().message().find("planned blocking failure") == std::string::npos)
        ctx.fail(
            "block_on_io: an uncaught exception from f did not end its caller with a "
            "panic: " +
            (r ? "returned '" + *r + "'" : r.error().message()));
      else
        ctx.counts.panics.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (!r)
      ctx.fail("block_on_io caller join: " + r.error().message());
    else if (!r->empty())
      ctx.fail("block_on_io: " + *r);
  }
  for (auto& w : writers)
    if (auto e = w.join(); !e || *e != Errc{})
      ctx.fail("block_on_io pipe writer failed: " + (e ? errc_str(*e) : e.error().message()));
  for (auto& c : calls)
    for (int& fd : c->fds)
      if (fd >= 0) ::close(std::exchange(fd, -1));
}

// driver runs ops random operations.
void driver(Ctx& ctx, std::uint64_t seed) {
  Rng rng(seed);
  for (int i = 0; i < kOpsPerDriver; ++i) {
    ctx.counts.ops.fetch_add(1, std::memory_order_relaxed);
    // The nine older operations get 9 in 13 of the runs; the four later ones (supervision,
    // tasks, pipes, block_on_io) one in 13 each.
    switch (rng.below(13)) {
      case 0:
        op_pipeline(ctx, rng, false);
        break;
      case 1:
        op_pipeline(ctx, rng, true);
        break;
      case 2:
        op_select(ctx, rng);
        break;
      case 3:
        op_mutex(ctx, rng);
        break;
      case 4:
        op_spawn_tree(ctx, rng);
        break;
      case 5:
        op_cpu(ctx, rng);
        break;
      case 6:
        op_timers(ctx, rng);
        break;
      case 7:
        op_mailbox(ctx, rng);
        break;
      case 8:
        op_io(ctx, rng);
        break;
      case 9:
        op_supervisor(ctx, rng);
        break;
      case 10:
        op_task(ctx, rng);
        break;
      case 11:
        op_pipe(ctx, rng);
        break;
      default:
        op_block_on_io(ctx, rng);
        break;
    }
  }
}

// --- hang detection -----------------------------------------------------------------------
// Watchdog is a plain thread: if the run has not finished within kHangLimit, it raises
// `hung`; the monitor actor (inside the runtime, where dump_actors() works) then prints
// the actor dump and the seed and aborts. If no actor answers within 10 s more, the
// watchdog aborts on its own.
class Watchdog {
 public:
  explicit Watchdog(std::uint64_t seed)
      : seed_(seed), thread_([this] {
          std::unique_lock<std::mutex> lock(m_);
          if (cv_.wait_for(lock, kHangLimit, [this] { return done_; })) return;
          hung.store(true);
          std::fprintf(stderr, "random_mix: no progress after %lld s, seed %llu\n",
                       static_cast<long long>(kHangLimit.count()),
                       static_cast<unsigned long long>(seed_));
          if (cv_.wait_for(lock, 10s, [this] { return done_; })) return;
          std::fprintf(stderr,
                       "random_mix: HANG with seed %llu and no actor answered the watchdog "
                       "(replay: SMARM_STRESS_SEED=%llu)\n",
                       static_cast<unsigned long long>(seed_),
                       static_cast<unsigned long long>(seed_));
          std::fflush(stderr);
          std::abort();
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(m_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  std::atomic<bool> hung{false};

 private:
  std::uint64_t seed_;
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

void monitor(smarm::Receiver<int> stop, Watchdog& dog, std::uint64_t seed) {
  for (;;) {
    auto r = stop.recv_for(50ms);
    if (r || r.error().code() != Errc::TimedOut) return;  // Closed: the run is over
    if (dog.hung.load()) {
      std::string dump = smarm::debug::dump_actors();
      std::fprintf(stderr,
                   "random_mix: HANG with seed %llu (replay: SMARM_STRESS_SEED=%llu)\n"
                   "live actors:\n%s\n",
                   static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed),
                   dump.c_str());
      std::fflush(stderr);
      std::abort();
    }
  }
}

TEST(RandomMixStressTest, EveryMessageOnceNoLeakNoHang) {
  for (std::uint64_t seed : seeds()) {
    SCOPED_TRACE("seed " + std::to_string(seed) +
                 " (replay: SMARM_STRESS_SEED=" + std::to_string(seed) + ")");
    Problems problems;
    Ledger ledger(problems);
    Counts counts;
    Ctx ctx{seed, ledger, problems, counts};
    g_ledger = &ledger;
    const std::chrono::microseconds timeslices[] = {1000us, 100us, 20us};
    const auto timeslice = timeslices[Rng(seed).below(3)];
    const auto start = std::chrono::steady_clock::now();
    {
      Watchdog dog(seed);
      // The timeslice is part of the seed: short slices preempt the CPU-bound and
      // allocating actors far more often, in more places.
      auto config = smarm::Config::exact(2).preemption(true).timeslice(timeslice);
      auto r = smarm::test::run_checked(config, [&ctx, &dog, seed] {
        auto stop = smarm::channel<int>();
        auto mon = smarm::spawn(
            smarm::SpawnOptions{.name = "hang-monitor"},
            [rx = std::move(stop.rx), &dog, seed]() mutable { monitor(std::move(rx), dog, seed); });
        std::vector<smarm::JoinHandle<void>> drivers;
        for (int d = 0; d < kDrivers; ++d)
          drivers.push_back(smarm::spawn(
              smarm::SpawnOptions{.name = "driver-" + std::to_string(d)},
              [&ctx, s = seed * 1000003u + static_cast<std::uint64_t>(d)] { driver(ctx, s); }));
        for (auto& h : drivers)
          if (auto j = h.join(); !j) ctx.fail("driver join: " + j.error().message());
        stop.tx.close();
        (void)mon.join();
      });
      EXPECT_TRUE(smarm::test::is_ok(r));
    }
    g_ledger = nullptr;
    ledger.check();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    std::printf(
        "[ seed %llu ] %lld ms, timeslice %lld us: ops %llu, tokens %llu (sent %llu, received "
        "%llu, handed back "
        "%llu), select %llu, locks %llu, timeouts %llu, cancels %llu, panics %llu, "
        "io bytes %llu (tcp %llu), supervisors %llu (restarts %llu), tasks %llu, pipes %llu "
        "(items %llu, failures %llu), block_on_io %llu (cancelled after f ran %llu)\n",
        static_cast<unsigned long long>(seed), static_cast<long long>(ms),
        static_cast<long long>(timeslice.count()),
        static_cast<unsigned long long>(counts.ops.load()),
        static_cast<unsigned long long>(ledger.issued()),
        static_cast<unsigned long long>(counts.sent.load()),
        static_cast<unsigned long long>(counts.received.load()),
        static_cast<unsigned long long>(counts.handed_back.load()),
        static_cast<unsigned long long>(counts.select_fired.load()),
        static_cast<unsigned long long>(counts.locks.load()),
        static_cast<unsigned long long>(counts.timeouts.load()),
        static_cast<unsigned long long>(counts.cancels.load()),
        static_cast<unsigned long long>(counts.panics.load()),
        static_cast<unsigned long long>(counts.io_bytes.load()),
        static_cast<unsigned long long>(counts.tcp_ops.load()),
        static_cast<unsigned long long>(counts.supervisors.load()),
        static_cast<unsigned long long>(counts.restarts.load()),
        static_cast<unsigned long long>(counts.tasks.load()),
        static_cast<unsigned long long>(counts.pipes.load()),
        static_cast<unsigned long long>(counts.pipe_items.load()),
        static_cast<unsigned long long>(counts.pipe_failures.load()),
        static_cast<unsigned long long>(counts.blocking.load()),
        static_cast<unsigned long long>(counts.blocking_cancelled.load()));
    std::fflush(stdout);
    EXPECT_EQ(problems.count(), 0u) << problems.summary();
  }
}

}  // namespace
