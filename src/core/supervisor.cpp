// SPDX-License-Identifier: Apache-2.0
// supervisor.cpp — Supervisor::run: start children, watch their signals, apply the
// strategy, count restarts (see supervisor.hpp for the contract).
//
// Written entirely on the public API plus one internal call: joining a child while the
// supervisor itself is cancelled (JoinMode::IgnoreCancel), which the strict cancellation
// rule would otherwise refuse. The supervisor keeps its children in start order; a
// child's identity across restarts is its place in that list, and a signal is matched to
// a child by the pid of the child's current run, so late signals of runs the supervisor
// stopped itself are simply ignored.
#include <chrono>
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include <smarm/signal.hpp>
#include <smarm/supervisor.hpp>

namespace smarm {

namespace {

using Ns = std::chrono::nanoseconds;

struct Child {
  const ChildSpec* spec = nullptr;
  JoinHandle<void> handle;  // the current run; joinable while running
  bool running = false;
};

std::string describe_end(const Signal& s) {
  if (auto* p = std::get_if<Signal::Panic>(&s.event))
    return "panicked (" + p->type + ": " + p->what + ")";
  if (std::holds_alternative<Signal::Timeout>(s.event)) return "timed out";
  return "exited";
}

std::string format_period(Ns p) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(p).count();
  return ms > 0 ? std::to_string(ms) + " ms" : std::to_string(p.count()) + " ns";
}

Result<void> validate(const SupervisorSpec& spec) {
  if (spec.intensity < 0)
    return Error(Errc::InvalidArgument, "SupervisorSpec::intensity must be >= 0");
  if (spec.period <= Ns::zero())
    return Error(Errc::InvalidArgument, "SupervisorSpec::period must be > 0");
  std::set<std::string> names;
  for (const ChildSpec& c : spec.children) {
    if (!c.start)
      return Error(Errc::InvalidArgument, "ChildSpec '" + c.name + "' has no start function");
    if (!c.name.empty() && !names.insert(c.name).second)
      return Error(Errc::InvalidArgument, "two children are named '" + c.name + "'");
  }
  return {};
}

class Run {
 public:
  explicit Run(const SupervisorSpec& spec) : spec_(spec) {
    for (const ChildSpec& c : spec.children) children_.push_back(Child{&c, {}, false});
  }

  Result<void> supervise() {
    for (std::size_t i = 0; i < children_.size(); ++i)
      if (auto r = start(children_[i]); !r) return shutdown(std::move(r).error());
    for (;;) {
      if (!any_running()) return shutdown({});
      auto sig = signals().recv();
      if (!sig) return shutdown(std::move(sig).error());  // Cancelled: we were asked to stop
      const std::size_t i = find(sig->pid());
      if (i == children_.size()) continue;  // not a current child: a run we stopped ourselves
      Child& c = children_[i];
      (void)detail::HandleAccess::join(c.handle, detail::JoinMode::IgnoreCancel);
      c.running = false;
      const bool abnormal = !std::holds_alternative<Signal::Exit>(sig->event);
      const Restart kind = c.spec->restart;
      if (kind == Restart::Temporary || (kind == Restart::Transient && !abnormal)) {
        if (kind == Restart::Temporary) children_.erase(children_.begin() + static_cast<long>(i));
        continue;
      }
      if (!allow_restart()) {
        const std::string why = "restart intensity exceeded: child '" + c.spec->name + "' " +
                                describe_end(*sig) + "; more than " +
                                std::to_string(spec_.intensity) + " restart(s) in " +
                                format_period(spec_.period);
        return shutdown(Error(Errc::RestartIntensity, why));
      }
      if (auto r = restart(i); !r) return shutdown(std::move(r).error());
      if (cancelled()) return shutdown(Error(Errc::Cancelled, "supervisor: cancelled"));
    }
  }

 private:
  Result<void> start(Child& c) {
    SpawnOptions o;
    o.name = c.spec->name;
    o.stack_size = c.spec->stack_size;
    if (c.spec->timeout > Ns::zero()) o.deadline = detail::deadline_after(c.spec->timeout);
    auto h = try_spawn_linked(o, c.spec->start);
    if (!h) {  // keep the spawn's code (ResourceExhausted, say); say which child it was
      const Error& e = h.error();
      return unexpected(
          Error(e.code(), "supervisor: cannot start child '" + c.spec->name + "': " + e.message()));
    }
    c.handle = std::move(*h);
    c.running = true;
    return {};
  }

  // stop cancels a running child and waits for it, even if the supervisor is cancelled.
  static void stop(Child& c) {
    if (!c.running) return;
    (void)c.handle.cancel();
    (void)detail::HandleAccess::join(c.handle, detail::JoinMode::IgnoreCancel);
    c.running = false;
  }

  // restart(i) applies the strategy to the end of child i.
  Result<void> restart(std::size_t i) {
    std::size_t first = i;  // the set the strategy restarts: [first, end), or just i
    std::size_t last = i + 1;
    if (spec_.strategy == Strategy::OneForAll) first = 0;
    if (spec_.strategy != Strategy::OneForOne) last = children_.size();
    // Stop the others of the set, newest first (as OTP does).
    for (std::size_t j = last; j-- > first;) stop(children_[j]);
    // Temporary children stopped by the strategy are not restarted: drop them. Child i is
    // never Temporary here (its end would not have called for a restart).
    for (std::size_t j = last; j-- > first;) {
      if (j != i && children_[j].spec->restart == Restart::Temporary) {
        children_.erase(children_.begin() + static_cast<long>(j));
        --last;
      }
    }
    for (std::size_t j = first; j < last; ++j)
      if (auto r = start(children_[j]); !r) return r;
    return {};
  }

  // allow_restart records one restart now and says whether the intensity allows it.
  bool allow_restart() {
    const auto now = Clock::now();
    restarts_.push_back(now);
    while (!restarts_.empty() && now - restarts_.front() >= spec_.period) restarts_.pop_front();
    return restarts_.size() <= static_cast<std::size_t>(spec_.intensity);
  }

  std::size_t find(const Pid& pid) const {
    for (std::size_t i = 0; i < children_.size(); ++i)
      if (children_[i].running && children_[i].handle.pid() == pid) return i;
    return children_.size();
  }

  bool any_running() const {
    for (const Child& c : children_)
      if (c.running) return true;
    return false;
  }

  // shutdown stops every child, newest first, consumes their signals and returns `result`.
  Result<void> shutdown(Result<void> result) {
    for (std::size_t j = children_.size(); j-- > 0;) stop(children_[j]);
    // Each stopped child's signal was queued before its join returned: drain them, so an
    // actor that goes on after run() does not find its children's ends in signals().
    while (signals().try_recv()) {
    }
    return result;
  }

  const SupervisorSpec& spec_;
  std::vector<Child> children_;
  std::deque<Clock::time_point> restarts_;  // the restarts within the last period
};

}  // namespace

Result<void> Supervisor::run(const SupervisorSpec& spec) {
  if (!detail::current_actor())
    return smarm::detail::not_in_actor("Supervisor::run() called outside an actor");
  if (auto v = validate(spec); !v) return v;
  if (cancelled()) return Error(Errc::Cancelled, "supervisor: cancelled before it started");
  Run run(spec);
  return run.supervise();
}

JoinHandle<Result<void>> spawn_supervisor(SupervisorSpec spec, const SpawnOptions& options) {
  SpawnOptions o = options;
  if (o.name.empty()) o.name = "supervisor";
  return spawn(o, [spec = std::move(spec)] { return Supervisor::run(spec); });
}

ChildSpec supervisor_child(std::string name, SupervisorSpec spec, Restart restart) {
  ChildSpec c;
  c.name = std::move(name);
  c.restart = restart;
  c.start = [spec = std::move(spec)] { Supervisor::run(spec).value(); };
  return c;
}

}  // namespace smarm
