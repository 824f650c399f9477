// SPDX-License-Identifier: Apache-2.0
// pipe.hpp — pipelines of actors, range-style: smarm::pipe (on range-v3).
//
//   std::vector<std::string> lines = ...;
//   auto r = pipe::from(lines)                                  // any range, or a Receiver
//            | pipe::par_map(4, [](const std::string& l) { return count_words(l); })
//            | pipe::filter([](int n) { return n > 0; })
//            | pipe::fold(0, std::plus<>{});                  // Result<int>
//
// Every stage is its own actor (par_map(n, f): n of them, plus one to deal the items out
// and, ordered, one to gather them back), and consecutive stages are joined by bounded
// channels, so a slow stage holds the faster ones back instead of letting queues grow.
// The capacity of those channels is Options::capacity (64 by default; 0 makes every hand-
// off a rendezvous): `pipe::from(r, {.capacity = 8})`.
//
// Nothing runs until a sink (collect, fold, for_each) ends the expression: the sink starts
// every stage, consumes the last stage's output in the calling actor, and parks it until
// every actor of the pipeline has ended — so a borrowed source range (an lvalue, a span, a
// string_view) stays alive for as long as anything reads it. It returns Result<U>:
//   - the value (collect: std::vector<U>; fold: the accumulator; for_each: void);
//   - Panicked "stage <n> (<kind>): <what()>" when f of some stage threw. Stages are
//     numbered from the source, 0, through the sink (BENCHMARKS.md's W5 numbering: in
//     from(r) | map(f) | filter(p) | fold(...), the map is stage 1 and the fold stage 3);
//   - Cancelled when the calling actor was cancelled while it waited, or when an actor of
//     the pipeline was cancelled from outside ("stage <n> (<kind>): cancelled ...");
//   - InvalidArgument for a bad stage parameter (par_map(0, f), batch(0)), before any
//     actor starts; NotInActor when called outside an actor; ResourceExhausted when an
//     actor could not be spawned.
// Any early end tears the rest down: a failure cancels every stage; take(n) cancels every
// stage upstream of it once it has passed n items on (an infinite source included). A
// cancelled stage's channels close, so nothing stays parked, and the sink returns only
// once every actor has ended.
//
// Sources: from(range) reads any range-v3 or standard input range on its own actor
// (stage 0): an lvalue is borrowed and its elements copied; an rvalue container is moved
// into the pipeline and its elements moved out. from(std::move(rx)) reads a Receiver<T>
// (no extra actor: stage 1 reads it directly; the pipeline closes it when done, so its
// senders see Closed), from(rx) borrows it (left open, holding what was not read; stages
// may read ahead of a take() by up to the channels' capacity).
//
// Stage functions receive each item as an rvalue (take `T`, `const T&` or `T&&`), and
// return values by value; filter predicates see `const T&`. map and filter call f on
// their one actor (a mutable, stateful f is fine); par_map calls f concurrently from n
// actors through a const reference, so f must be safe to call from several threads at
// once. Items and results travel through bounded channels and need a noexcept move.
// Fragments compose too: `auto clean = pipe::map(trim) | pipe::filter(non_empty);`, then
// `pipe::from(lines) | clean | pipe::collect()`. A pipeline runs once: an lvalue
// pipeline is used as `std::move(p) | pipe::collect()`.
//
// Receiver<T>& is also a range (detail/pipe_recv_range.hpp), so range-v3 views apply to
// it directly: `rx | ranges::views::transform(f)`, `for (auto& v : rx)`.
#pragma once

#include <cstddef>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <range/v3/iterator/access.hpp>
#include <range/v3/range/access.hpp>
#include <range/v3/range/concepts.hpp>
#include <range/v3/range/traits.hpp>

#include <smarm/channel.hpp>
#include <smarm/detail/core.hpp>
#include <smarm/detail/pipe_recv_range.hpp>
#include <smarm/detail/pipe_run.hpp>
#include <smarm/detail/pipe_stages.hpp>
#include <smarm/error.hpp>

namespace smarm::pipe {

// Options are a pipeline's settings, given to its source: `pipe::from(r, {.capacity = 8})`.
struct Options {
  // How many items each channel between two stages holds (par_map's internal channels
  // too). Producers park while it is full. 0: every hand-off is a rendezvous.
  std::size_t capacity = 64;
};

// stage / sink: the descriptors made by map(), collect(), ... (detail/pipe_stages.hpp).
template <class S>
concept stage = requires {
  typename std::remove_cvref_t<S>::pipe_stage_tag;
};
template <class S>
concept sink = requires {
  typename std::remove_cvref_t<S>::pipe_sink_tag;
};

// Chain<Stages...> is a pipeline fragment without a source: `map(f) | filter(p)`.
template <class... Stages>
struct Chain {
  using pipe_chain_tag = void;
  std::tuple<Stages...> stages;
};

namespace detail {
template <class S>
concept chain = requires {
  typename std::remove_cvref_t<S>::pipe_chain_tag;
};
template <class S>
concept stage_like = stage<S> || chain<S>;

// stages_of(x) is a stage or a chain as a tuple of stages.
template <stage S>
auto stages_of(S&& s) {
  return std::tuple<std::remove_cvref_t<S>>(std::forward<S>(s));
}
template <chain C>
auto stages_of(C&& c) {
  return std::forward<C>(c).stages;
}

// Flow<In, Stages...>::type is the item type after the stages.
template <class In, class... Stages>
struct Flow {
  using type = In;
};
template <class In, class S, class... Rest>
struct Flow<In, S, Rest...> {
  using type = typename Flow<typename S::template output<In>, Rest...>::type;
};

template <class R>
inline constexpr bool kIsReceiver = false;
template <class T>
inline constexpr bool kIsReceiver<Receiver<T>> = true;

// RangeSource<R, Owned>: a range read by stage 0 ("from"): held by pointer when
// borrowed, by value when the pipeline owns it.
template <class R, bool Owned>
struct RangeSource {
  using Range = std::remove_cvref_t<R>;
  using value_type = ranges::range_value_t<Range>;
  static constexpr const char* kKind = "from";
  // Move the elements out only of a container the pipeline owns: a view (even an owned
  // one) may refer to someone else's elements.
  static constexpr bool kMoveElements =
      Owned && !ranges::view_<Range> && !std::ranges::view<Range> &&
      std::is_lvalue_reference_v<ranges::range_reference_t<Range>>;
  static_assert(kChannelValue<value_type>,
                "pipe::from(range): the range's value type must have a noexcept move "
                "constructor (its items travel through bounded channels)");
  static_assert(kMoveElements ||
                    std::is_constructible_v<value_type, ranges::range_reference_t<Range>>,
                "pipe::from(range): items are copied out of a borrowed range, so its value "
                "type must be constructible from its reference type (pass a container "
                "of move-only items as an rvalue: pipe::from(std::move(v)))");

  std::conditional_t<Owned, Range, std::remove_reference_t<R>*> range;

  auto& get() noexcept {
    if constexpr (Owned)
      return range;
    else
      return *range;
  }
  std::size_t actors() const noexcept { return 1; }

  Inlet<value_type> start(PipeRun& run, std::size_t capacity) {
    auto ch = bounded_channel<value_type>(capacity);
    run.spawn(0, kKind, [this, &run, out = std::move(ch.tx)]() mutable {
      run.guard(0, kKind, [&] {
        auto& r = get();
        auto end = ranges::end(r);
        auto take = [&](auto& it) {
          if constexpr (kMoveElements)
            return value_type(ranges::iter_move(it));
          else
            return value_type(*it);
        };
        if constexpr (ranges::forward_range<Range>) {
          // Items go out in bursts of kBatch. Only from a forward range: reading one never
          // waits for anyone, whereas an input range (a Receiver, say) may park between
          // items, and items held back in a burst meanwhile could wait forever.
          std::vector<value_type> burst;
          burst.reserve(kBatch);
          for (auto it = ranges::begin(r); it != end;) {
            for (; it != end && burst.size() < kBatch; ++it) burst.push_back(take(it));
            auto s = out.send_all(burst);
            if (!s) return (void)run.stopped(0, kKind, s.error());
          }
        } else {
          for (auto it = ranges::begin(r); it != end; ++it) {
            auto s = out.send(take(it));
            if (!s) return (void)run.stopped(0, kKind, as_error(s.error()));
          }
        }
      });
    });
    return Inlet<value_type>(std::move(ch.rx));
  }
};

// ReceiverSource<T>: a channel the first stage (or the sink) reads directly.
template <class T>
struct ReceiverSource {
  using value_type = T;
  Receiver<T> owned;
  Receiver<T>* borrowed = nullptr;
  std::size_t actors() const noexcept { return 0; }
  Inlet<T> start(PipeRun&, std::size_t) {
    return borrowed ? Inlet<T>(borrowed) : Inlet<T>(std::move(owned));
  }
};

// Outcome<V> is what a sink ended with: its value, or nothing when it stopped early
// because the calling actor was cancelled (failures are in the PipeRun).
template <class V>
struct Outcome {
  std::optional<V> value;
  bool caller_cancelled = false;
};
}  // namespace detail

// Pipeline<Source, Stages...> is a source and its stages, not yet running: `|` adds
// stages, and a sink runs it (see the file comment).
template <class Source, class... Stages>
class Pipeline {
 public:
  using value_type = typename detail::Flow<typename Source::value_type, Stages...>::type;

  Pipeline(Source source, std::tuple<Stages...> stages, Options options)
      : source_(std::move(source)), stages_(std::move(stages)), options_(options) {}

  // then(x) is this pipeline followed by x, a stage or a chain.
  template <detail::stage_like X>
  auto then(X&& x) && {
    auto all = std::tuple_cat(std::move(stages_), detail::stages_of(std::forward<X>(x)));
    return std::apply(
        [&](auto&&... s) {
          return Pipeline<Source, std::remove_cvref_t<decltype(s)>...>(
              std::move(source_), std::tuple(std::move(s)...), options_);
        },
        std::move(all));
  }

  // run(k) runs the pipeline into sink k and returns the sink's Result (file comment).
  template <sink K>
  auto run(K k) && -> Result<typename K::template result<value_type>> {
    using R = typename K::template result<value_type>;
    using V = std::conditional_t<std::is_void_v<R>, detail::Unit, R>;
    if (!smarm::detail::current_actor())
      return smarm::detail::not_in_actor("pipe: a sink must be called inside an actor");
    if (auto bad = check()) return std::move(*bad);

    detail::Outcome<V> outcome;
    {
      detail::PipeRun run(count());
      // Starts the source and the stages in order, then drains the last one here. Each
      // stage's actors run at once (a spawned child runs first) and park when their
      // output channel is full, so the channels fill up as the pipeline is built.
      build<0>(run, source_.start(run, options_.capacity), k, outcome);
      // The sink has returned: its input is closed. On a normal end every stage is
      // already finishing; after an early one (failure, cancelled caller) all are cut.
      if (!outcome.value) run.cut(detail::PipeRun::kAll);
      run.join_all();
      if (run.error()) return *run.error();
    }
    if (outcome.caller_cancelled)
      return Error(Errc::Cancelled, "pipe: the calling actor was cancelled");
    if constexpr (std::is_void_v<R>)
      return {};
    else
      return std::move(*outcome.value);
  }

 private:
  static constexpr std::size_t kSinkStage = sizeof...(Stages) + 1;

  // check() is the first invalid stage parameter, as an InvalidArgument error.
  std::optional<Error> check() const {
    std::optional<Error> bad;
    std::size_t stage = 0;
    std::apply(
        [&](const auto&... s) {
          (
              [&] {
                ++stage;
                if (bad) return;
                if (auto why = s.invalid())
                  bad.emplace(Errc::InvalidArgument,
                              "stage " + std::to_string(stage) + " (" + s.kKind + "): " + *why);
              }(),
              ...);
        },
        stages_);
    return bad;
  }

  // count() is how many actors the pipeline spawns.
  std::size_t count() const {
    return std::apply([&](const auto&... s) { return source_.actors() + (s.actors() + ... + 0); },
                      stages_);
  }

  template <std::size_t I, class In, class K, class V>
  void build(detail::PipeRun& run, detail::Inlet<In> in, K& k, detail::Outcome<V>& outcome) {
    if constexpr (I == sizeof...(Stages)) {
      drain(run, std::move(in), k, outcome);
    } else {
      auto& s = std::get<I>(stages_);
      using Next = typename std::remove_reference_t<decltype(s)>::template output<In>;
      static_assert(detail::kChannelValue<Next>,
                    "pipe: a stage's output type must be a non-const object type with a "
                    "noexcept move constructor (it travels through a bounded channel)");
      auto ch = bounded_channel<Next>(options_.capacity);
      s.start(run, I + 1, options_.capacity, std::move(in), std::move(ch.tx));
      build<I + 1>(run, detail::Inlet<Next>(std::move(ch.rx)), k, outcome);
    }
  }

  // drain runs the sink in the calling actor; its input closes when this returns.
  template <class In, class K, class V>
  static void drain(detail::PipeRun& run, detail::Inlet<In> in_arg, K& k,
                    detail::Outcome<V>& outcome) {
    detail::Inlet<In> in = std::move(in_arg);
    run.guard(kSinkStage, K::kKind, [&] {
      auto acc = k.template init<In>();
      std::vector<In> items;
      for (;;) {
        auto got = in.recv_some(items, detail::kBatch);
        if (!got) {
          if (got.error().code() == Errc::Closed) {
            outcome.value.emplace(std::move(acc));
          } else if (got.error().code() == Errc::Cancelled) {
            outcome.caller_cancelled = true;  // only the caller can be cancelled here
          } else {
            run.stopped(kSinkStage, K::kKind, got.error());
          }
          return;
        }
        for (In& v : items) k.template add<In>(acc, std::move(v));
        items.clear();
      }
    });
  }

  Source source_;
  std::tuple<Stages...> stages_;
  Options options_;
};

namespace detail {
template <class P>
inline constexpr bool kIsPipeline = false;
template <class Source, class... Stages>
inline constexpr bool kIsPipeline<Pipeline<Source, Stages...>> = true;
template <class P>
concept pipeline = kIsPipeline<std::remove_cvref_t<P>>;
}  // namespace detail

// --- sources -------------------------------------------------------------------------------

// from(range, options) starts a pipeline from any input range (see the file comment).
template <class R>
requires(ranges::input_range<std::remove_reference_t<R>> &&
         !detail::kIsReceiver<std::remove_cvref_t<R>>) auto from(R&& range, Options options = {}) {
  if constexpr (std::is_lvalue_reference_v<R>) {
    using Src = detail::RangeSource<R, false>;
    return Pipeline<Src>(Src{&range}, {}, options);
  } else {
    using Src = detail::RangeSource<std::remove_cvref_t<R>, true>;
    return Pipeline<Src>(Src{std::move(range)}, {}, options);
  }
}

// from(std::move(rx), options) reads a channel and closes it when done; from(rx) borrows it.
template <class T>
auto from(Receiver<T>&& rx, Options options = {}) {
  return Pipeline<detail::ReceiverSource<T>>(detail::ReceiverSource<T>{std::move(rx), nullptr}, {},
                                             options);
}
template <class T>
auto from(Receiver<T>& rx, Options options = {}) {
  return Pipeline<detail::ReceiverSource<T>>(detail::ReceiverSource<T>{Receiver<T>(), &rx}, {},
                                             options);
}

// --- stages --------------------------------------------------------------------------------

// map(f): f(item) for every item, on one actor.
template <class F>
Map<std::decay_t<F>> map(F&& f) {
  return {std::forward<F>(f)};
}
// filter(p): the items for which p(item) holds, on one actor.
template <class P>
Filter<std::decay_t<P>> filter(P&& p) {
  return {std::forward<P>(p)};
}
// par_map(n, f): f(item) on n actors at once; the output keeps the input order.
template <class F>
ParMap<std::decay_t<F>, true> par_map(std::size_t n, F&& f) {
  return {n, std::forward<F>(f)};
}
// par_map_unordered(n, f): f(item) on n actors at once; results leave as they are ready.
template <class F>
ParMap<std::decay_t<F>, false> par_map_unordered(std::size_t n, F&& f) {
  return {n, std::forward<F>(f)};
}
// batch(k): std::vector<T>s of k items; the last one holds the rest (never empty).
inline Batch batch(std::size_t k) { return {k}; }
// take(n): the first n items, then everything upstream is cancelled.
inline Take take(std::size_t n) { return {n}; }

// --- sinks ---------------------------------------------------------------------------------

// collect(): Result<std::vector<T>> of every item, in order of arrival.
inline Collect collect() { return {}; }
// fold(init, f): Result<A>, acc = f(std::move(acc), item) from init.
template <class A, class F>
Fold<std::decay_t<A>, std::decay_t<F>> fold(A&& init, F&& f) {
  return {std::forward<A>(init), std::forward<F>(f)};
}
// for_each(f): f(item) for every item, in the calling actor; Result<void>.
template <class F>
ForEach<std::decay_t<F>> for_each(F&& f) {
  return {std::forward<F>(f)};
}

// --- composition ---------------------------------------------------------------------------

// pipeline | stage (or chain): a longer pipeline.
template <detail::pipeline P, detail::stage_like X>
auto operator|(P&& p, X&& x) {
  static_assert(!std::is_lvalue_reference_v<P>,
                "a pipeline runs once and is consumed by |: write std::move(p) | ...");
  return std::move(p).then(std::forward<X>(x));
}

// pipeline | sink: runs it (parks the caller until every stage has ended).
template <detail::pipeline P, sink K>
auto operator|(P&& p, K&& k) {
  static_assert(!std::is_lvalue_reference_v<P>,
                "a pipeline runs once and is consumed by |: write std::move(p) | sink");
  return std::move(p).run(std::forward<K>(k));
}

// stage (or chain) | stage (or chain): a reusable fragment.
template <detail::stage_like A, detail::stage_like B>
auto operator|(A&& a, B&& b) {
  auto all =
      std::tuple_cat(detail::stages_of(std::forward<A>(a)), detail::stages_of(std::forward<B>(b)));
  return std::apply(
      [](auto&&... s) {
        return Chain<std::remove_cvref_t<decltype(s)>...>{std::tuple(std::move(s)...)};
      },
      std::move(all));
}

}  // namespace smarm::pipe
