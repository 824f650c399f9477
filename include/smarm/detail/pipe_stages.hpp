// SPDX-License-Identifier: Apache-2.0
// detail/pipe_stages.hpp — the stage and sink descriptors of smarm::pipe (pipe.hpp has the
// functions that make them and the rules users see).
//
// A stage descriptor holds a stage's parameters (its function, its size) and knows how to
// start the stage: start(run, stage, capacity, in, out) spawns the stage's actors, which
// read `in` and write `out` until the input ends, the output's reader goes or the run is
// cut. It also says how many actors it spawns (actors()) and whether its parameters are
// valid (invalid(): the complaint, or nothing), so that the whole pipeline is checked and
// counted before anything starts. A sink descriptor runs in the calling actor instead:
// start value, add each item, return the value.
//
// Every actor loop has the same shape: receive, compute, send; a failed receive or send
// goes to PipeRun::stopped(), which decides whether it was a failure (see pipe_run.hpp).
// A stage's channels are captured by its actor's body, outside the body's try block, so
// that an exception is recorded (PipeRun::guard) before the channels close: the sink, or
// a downstream stage, never takes a failure for the end of the input.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <smarm/channel.hpp>
#include <smarm/detail/pipe_run.hpp>
#include <smarm/error.hpp>

namespace smarm::pipe {

namespace detail {
using smarm::detail::PipeRun;

// Inlet<T> is a stage's input: a Receiver it owns, or the user's own, borrowed by
// pipe::from(rx) (a borrowed one stays open, with whatever the pipeline did not read).
template <class T>
class Inlet {
 public:
  explicit Inlet(Receiver<T> owned) noexcept : owned_(std::move(owned)) {}
  explicit Inlet(Receiver<T>* borrowed) noexcept : borrowed_(borrowed) {}
  Result<T> recv() { return borrowed_ ? borrowed_->recv() : owned_.recv(); }
  // recv_some(buf, max) appends 1..max items to buf (see Receiver::recv_some). From a
  // borrowed receiver only one at a time: what the pipeline takes out of the user's channel
  // but never uses (it stopped early) would be lost to them.
  Result<std::size_t> recv_some(std::vector<T>& buf, std::size_t max) {
    if (!borrowed_) return owned_.recv_some(buf, max);
    auto v = borrowed_->recv();
    if (!v) return unexpected(std::move(v).error());
    buf.push_back(std::move(*v));
    return std::size_t{1};
  }

 private:
  Receiver<T> owned_;
  Receiver<T>* borrowed_ = nullptr;
};

// as_error turns a SendError<T> (which holds the value that was not sent) into an Error.
template <class T>
Error as_error(const SendError<T>& e) {
  return Error(e.code(), e.message());
}

// Channel elements move between parked actors: bounded_channel needs a noexcept move.
template <class T>
inline constexpr bool kChannelValue =
    std::is_object_v<T> && !std::is_const_v<T> && std::is_nothrow_move_constructible_v<T>;

// Stage output of a function stage: what f returns for one input, by value.
template <class F, class In>
using CallResult = std::remove_cvref_t<std::invoke_result_t<F, In&&>>;

// kBatch is how many items a stage takes from its input channel at once (when that many are
// queued): one lock and one wake-up per burst instead of per item.
inline constexpr std::size_t kBatch = 64;

// Unit stands for "no value" where a sink returns void.
struct Unit {};
}  // namespace detail

// --- stages ------------------------------------------------------------------------------

// Map<F>: one actor; out = f(std::move(in)). f may keep state (it runs on one actor).
template <class F>
struct Map {
  using pipe_stage_tag = void;
  static constexpr const char* kKind = "map";
  F f;

  template <class In>
  using output = detail::CallResult<F&, In>;
  std::size_t actors() const noexcept { return 1; }
  std::optional<std::string> invalid() const { return std::nullopt; }

  template <class In>
  void start(detail::PipeRun& run, std::size_t stage, std::size_t, detail::Inlet<In> in,
             Sender<output<In>> out) {
    run.spawn(stage, kKind,
              [this, &run, stage, in = std::move(in), out = std::move(out)]() mutable {
                run.guard(stage, kKind, [&] {
                  std::vector<In> items;
                  std::vector<output<In>> results;
                  for (;;) {
                    auto got = in.recv_some(items, detail::kBatch);
                    if (!got) return (void)run.stopped(stage, kKind, got.error());
                    for (In& v : items) results.push_back(std::invoke(f, std::move(v)));
                    items.clear();
                    auto s = out.send_all(results);
                    if (!s) return (void)run.stopped(stage, kKind, s.error());
                  }
                });
              });
  }
};

// Filter<P>: one actor; passes on the items for which p(item) is true.
template <class P>
struct Filter {
  using pipe_stage_tag = void;
  static constexpr const char* kKind = "filter";
  P p;

  template <class In>
  using output = In;
  std::size_t actors() const noexcept { return 1; }
  std::optional<std::string> invalid() const { return std::nullopt; }

  template <class In>
  void start(detail::PipeRun& run, std::size_t stage, std::size_t, detail::Inlet<In> in,
             Sender<In> out) {
    run.spawn(stage, kKind,
              [this, &run, stage, in = std::move(in), out = std::move(out)]() mutable {
                run.guard(stage, kKind, [&] {
                  std::vector<In> items;
                  std::vector<In> kept;
                  for (;;) {
                    auto got = in.recv_some(items, detail::kBatch);
                    if (!got) return (void)run.stopped(stage, kKind, got.error());
                    for (In& v : items)
                      if (static_cast<bool>(std::invoke(p, std::as_const(v))))
                        kept.push_back(std::move(v));
                    items.clear();
                    auto s = out.send_all(kept);
                    if (!s) return (void)run.stopped(stage, kKind, s.error());
                  }
                });
              });
  }
};

// ParMap<F, Ordered>: n worker actors call f through a const reference, concurrently.
// A distributor actor deals the items to the workers, each through its own channel (a
// channel has one reader). Ordered: item i goes to worker i mod n and a merger actor reads
// the workers' result channels in the same rotation, so the output keeps the input order
// with no reorder buffer (a slow item holds back only what follows it, by at most the
// channels' capacity). Unordered: the distributor gives each item to the first worker in
// rotation with room (parking on the next one only when all are full) and every worker
// sends straight into the stage's output, so results leave as soon as they are ready.
template <class F, bool Ordered>
struct ParMap {
  using pipe_stage_tag = void;
  static constexpr const char* kKind = Ordered ? "par_map" : "par_map_unordered";
  std::size_t n;
  F f;

  template <class In>
  using output = detail::CallResult<const F&, In>;
  std::size_t actors() const noexcept { return n + (Ordered ? 2 : 1); }
  std::optional<std::string> invalid() const {
    if (n == 0) return std::string(kKind) + "(0, f): needs at least one worker";
    return std::nullopt;
  }

  template <class In>
  void start(detail::PipeRun& run, std::size_t stage, std::size_t capacity, detail::Inlet<In> in,
             Sender<output<In>> out) {
    using Out = output<In>;
    std::vector<Sender<In>> work_tx;
    std::vector<Receiver<In>> work_rx;
    std::vector<Sender<Out>> result_tx;
    std::vector<Receiver<Out>> result_rx;
    for (std::size_t i = 0; i < n; ++i) {
      auto w = bounded_channel<In>(capacity);
      work_tx.push_back(std::move(w.tx));
      work_rx.push_back(std::move(w.rx));
      if constexpr (Ordered) {
        auto r = bounded_channel<Out>(capacity);
        result_tx.push_back(std::move(r.tx));
        result_rx.push_back(std::move(r.rx));
      } else {
        result_tx.push_back(out);
      }
    }
    if constexpr (!Ordered) out.close();  // the workers hold the only senders now

    run.spawn(stage, kKind, [&run, stage, in = std::move(in), tx = std::move(work_tx)]() mutable {
      run.guard(stage, kKind, [&] { distribute(run, stage, in, tx); });
    });
    for (std::size_t i = 0; i < n; ++i) {
      run.spawn(
          stage, kKind,
          [this, &run, stage, rx = std::move(work_rx[i]), tx = std::move(result_tx[i])]() mutable {
            run.guard(stage, kKind, [&] {
              std::vector<In> items;
              std::vector<Out> results;
              for (;;) {
                auto got = rx.recv_some(items, detail::kBatch);
                if (!got) return (void)run.stopped(stage, kKind, got.error());
                for (In& v : items) results.push_back(std::invoke(std::as_const(f), std::move(v)));
                items.clear();
                auto s = tx.send_all(results);
                if (!s) return (void)run.stopped(stage, kKind, s.error());
              }
            });
          });
    }
    if constexpr (Ordered) {
      run.spawn(stage, kKind,
                [&run, stage, rx = std::move(result_rx), out = std::move(out)]() mutable {
                  run.guard(stage, kKind, [&] {
                    for (std::size_t i = 0;; i = i + 1 == rx.size() ? 0 : i + 1) {
                      auto v = rx[i].recv();
                      // Closed at worker i: the distributor stopped before item i's turn
                      // came round, so every later worker is drained too. The end.
                      if (!v) return (void)run.stopped(stage, kKind, v.error());
                      auto s = out.send(std::move(*v));
                      if (!s) return (void)run.stopped(stage, kKind, detail::as_error(s.error()));
                    }
                  });
                });
    }
  }

 private:
  template <class In>
  static void distribute(detail::PipeRun& run, std::size_t stage, detail::Inlet<In>& in,
                         std::vector<Sender<In>>& tx) {
    std::size_t next = 0;
    std::vector<In> items;
    for (;;) {
      items.clear();
      auto got = in.recv_some(items, detail::kBatch);
      if (!got) return (void)run.stopped(stage, kKind, got.error());
      for (In& v : items)
        if (!deal(run, stage, tx, next, std::move(v))) return;
    }
  }

  // deal(item) hands one item to a worker (see distribute); false once the stage stopped.
  template <class In>
  static bool deal(detail::PipeRun& run, std::size_t stage, std::vector<Sender<In>>& tx,
                   std::size_t& next, In item) {
    const std::size_t workers = tx.size();
    if constexpr (!Ordered) {
      // The first worker in rotation with room; try_send hands the value back if full.
      bool sent = false;
      for (std::size_t k = 0; k < workers && !sent; ++k) {
        const std::size_t w = next + k < workers ? next + k : next + k - workers;
        auto s = tx[w].try_send(std::move(item));
        if (s) {
          sent = true;
          next = w + 1 == workers ? 0 : w + 1;
        } else if (s.error().code() == Errc::Full) {
          item = std::move(s.error()).into_value();
        } else {
          run.stopped(stage, kKind, detail::as_error(s.error()));
          return false;
        }
      }
      if (sent) return true;
    }
    auto s = tx[next].send(std::move(item));
    if (!s) {
      run.stopped(stage, kKind, detail::as_error(s.error()));
      return false;
    }
    next = next + 1 == workers ? 0 : next + 1;
    return true;
  }
};

// Batch: one actor; groups items into vectors of k, the last one possibly shorter (never
// empty: an empty input gives no batch at all).
struct Batch {
  using pipe_stage_tag = void;
  static constexpr const char* kKind = "batch";
  // Storage reserved up front for each batch, at most: a huge k must not allocate k slots
  // before any item arrives.
  static constexpr std::size_t kMaxReserve = 1024;
  std::size_t k;

  template <class In>
  using output = std::vector<In>;
  std::size_t actors() const noexcept { return 1; }
  std::optional<std::string> invalid() const {
    if (k == 0) return std::string("batch(0): the batch size must be at least 1");
    return std::nullopt;
  }

  template <class In>
  void start(detail::PipeRun& run, std::size_t stage, std::size_t, detail::Inlet<In> in,
             Sender<std::vector<In>> out) {
    run.spawn(stage, kKind,
              [k = k, &run, stage, in = std::move(in), out = std::move(out)]() mutable {
                run.guard(stage, kKind, [&] {
                  std::vector<In> items;
                  std::vector<In> buf;
                  buf.reserve(std::min(k, kMaxReserve));
                  for (;;) {
                    auto got = in.recv_some(items, detail::kBatch);
                    if (!got) {
                      if (got.error().code() != Errc::Closed || buf.empty())
                        return (void)run.stopped(stage, kKind, got.error());
                      auto s = out.send(std::move(buf));  // the partial last batch
                      if (!s) run.stopped(stage, kKind, detail::as_error(s.error()));
                      return;
                    }
                    for (In& v : items) {
                      buf.push_back(std::move(v));
                      if (buf.size() < k) continue;
                      auto s = out.send(std::exchange(buf, std::vector<In>()));
                      if (!s) return (void)run.stopped(stage, kKind, detail::as_error(s.error()));
                      buf.reserve(std::min(k, kMaxReserve));
                    }
                    items.clear();
                  }
                });
              });
  }
};

// Take: one actor; passes on the first n items, then cuts the run above it: every stage
// upstream is cancelled and its channels close, whatever it was waiting for.
struct Take {
  using pipe_stage_tag = void;
  static constexpr const char* kKind = "take";
  std::size_t n;

  template <class In>
  using output = In;
  std::size_t actors() const noexcept { return 1; }
  std::optional<std::string> invalid() const { return std::nullopt; }

  template <class In>
  void start(detail::PipeRun& run, std::size_t stage, std::size_t, detail::Inlet<In> in,
             Sender<In> out) {
    run.spawn(stage, kKind,
              [n = n, &run, stage, in = std::move(in), out = std::move(out)]() mutable {
                run.guard(stage, kKind, [&] {
                  // Bursts, but never more than the items still wanted: what take reads
                  // past its n would be lost to a borrowed source.
                  std::vector<In> items;
                  for (std::size_t left = n; left != 0;) {
                    auto got = in.recv_some(items, std::min(left, detail::kBatch));
                    if (!got) return (void)run.stopped(stage, kKind, got.error());
                    left -= *got;
                    auto s = out.send_all(items);
                    if (!s) return (void)run.stopped(stage, kKind, s.error());
                  }
                  run.cut(stage);  // the `in` channel closes when this body's owner ends
                });
              });
  }
};

// --- sinks (they run in the actor that called them) -------------------------------------

// Collect: every item, in arrival order, into a std::vector.
struct Collect {
  using pipe_sink_tag = void;
  static constexpr const char* kKind = "collect";
  template <class In>
  using result = std::vector<In>;
  template <class In>
  std::vector<In> init() {
    return {};
  }
  template <class In>
  void add(std::vector<In>& acc, In&& v) {
    acc.push_back(std::move(v));
  }
};

// Fold<A, F>: acc = f(std::move(acc), std::move(item)), starting from init.
template <class A, class F>
struct Fold {
  using pipe_sink_tag = void;
  static constexpr const char* kKind = "fold";
  A init_value;
  F f;
  template <class In>
  using result = A;
  template <class In>
  A init() {
    return std::move(init_value);
  }
  template <class In>
  void add(A& acc, In&& v) {
    acc = std::invoke(f, std::move(acc), std::move(v));
  }
};

// ForEach<F>: f(std::move(item)) for every item; the result is Result<void>.
template <class F>
struct ForEach {
  using pipe_sink_tag = void;
  static constexpr const char* kKind = "for_each";
  F f;
  template <class In>
  using result = void;
  template <class In>
  detail::Unit init() {
    return {};
  }
  template <class In>
  void add(detail::Unit&, In&& v) {
    std::invoke(f, std::move(v));
  }
};

}  // namespace smarm::pipe
