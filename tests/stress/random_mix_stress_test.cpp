// random_mix_stress_test.cpp — a seeded random mix of everything at once, on two workers
// with preemption on: spawn/join/detach/cancel, unbounded and bounded channels (capacity 0
// included), select with recv/send/after cases, a typed mailbox with ask, Mutex, timers,
// panics, CPU-bound actors that allocate, and I/O over socketpairs and loopback TCP. The
// seed also picks the timeslice (1 ms, 100 us or 20 us), so preemption lands in more places.
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
// - No actor, stack, timer or I/O wait is left once run() returns (run_checked).
// - No hang: a watchdog thread (wall clock used only for this) asks a monitor actor to
//   print debug::dump_actors() and the seed, then aborts.
#include <sys/socket.h>
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
#include <memory>
#include <mutex>
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
      timeouts{0}, select_fired{0}, locks{0}, io_bytes{0}, tcp_ops{0}, spawned{0};
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

// driver runs ops random operations.
void driver(Ctx& ctx, std::uint64_t seed) {
  Rng rng(seed);
  for (int i = 0; i < kOpsPerDriver; ++i) {
    ctx.counts.ops.fetch_add(1, std::memory_order_relaxed);
    switch (rng.below(9)) {
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
      default:
        op_io(ctx, rng);
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
        "io bytes %llu (tcp %llu)\n",
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
        static_cast<unsigned long long>(counts.tcp_ops.load()));
    std::fflush(stdout);
    EXPECT_EQ(problems.count(), 0u) << problems.summary();
  }
}

}  // namespace
