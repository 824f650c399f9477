// SPDX-License-Identifier: Apache-2.0
// supervisor.hpp — OTP-style supervisors: restart strategies and a restart-intensity cap.
//
//   smarm::SupervisorSpec spec{
//       .strategy = smarm::Strategy::OneForOne,
//       .intensity = 3, .period = std::chrono::seconds(5),   // at most 3 restarts in 5 s
//       .children = {{.name = "db", .start = [] { run_db(); }},
//                    {.name = "web", .start = [] { serve(); }, .restart =
//                    smarm::Restart::Transient}}};
//   auto sup = smarm::spawn_supervisor(spec);   // or Supervisor::run(spec) in this actor
//
// A supervisor starts its children in order, each with spawn_linked(), and waits on its
// signals(). When a child ends, its Restart kind decides whether that calls for a restart:
// Permanent always, Transient only after an abnormal end (Panic or Timeout), Temporary
// never. A restart applies the Strategy: OneForOne restarts that child; OneForAll cancels
// and joins every other running child (in reverse start order), then starts them all
// again in order; RestForOne does the same for the children started after it. Siblings
// that a strategy stops are restarted whatever their kind, except Temporary ones, which
// are dropped (as in OTP). Children that end without calling for a restart simply stay
// ended; when no child is left running, run() returns Ok.
//
// Restart intensity: more than `intensity` restarts within any `period` makes the
// supervisor give up: it cancels and joins every child (reverse start order) and run()
// returns Errc::RestartIntensity, with a message naming the child and how it ended. When
// the supervisor itself is cancelled it does the same and returns Cancelled: a supervisor
// always waits for its children, even cancelled, so nothing it started outlives it.
// (A child that ignores cancellation therefore holds its supervisor up; run()'s shutdown
// watchdog names such an actor.)
//
// Nesting: supervisor_child(name, spec) makes a ChildSpec that runs a whole supervisor;
// when the inner one gives up, it ends with a panic (its error), which its parent sees
// like any other child's failure.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <smarm/error.hpp>
#include <smarm/spawn.hpp>

namespace smarm {

// Restart says which ends of a child call for a restart.
enum class Restart : std::uint8_t {
  Permanent,  // every end: the child should always be running
  Transient,  // abnormal ends only (Panic, Timeout); a normal return is final
  Temporary,  // never: once it has ended it is gone
};

// Strategy says which children a restart restarts.
enum class Strategy : std::uint8_t {
  OneForOne,   // only the child that ended
  OneForAll,   // all children: the others are cancelled and joined first
  RestForOne,  // the child that ended and the ones started after it
};

struct ChildSpec {
  std::string name{};             // names the child's actor and the intensity error
  std::function<void()> start{};  // the child's body, run again for each restart
  Restart restart = Restart::Permanent;
  // timeout: each run of the child gets the deadline now + timeout (SpawnOptions::
  // deadline); when it passes the child is cancelled and its end counts as abnormal.
  // Zero: none.
  std::chrono::nanoseconds timeout{0};
  std::size_t stack_size = 0;  // SpawnOptions::stack_size
};

struct SupervisorSpec {
  Strategy strategy = Strategy::OneForOne;
  int intensity = 3;                                          // restarts allowed per period (>= 0)
  std::chrono::nanoseconds period = std::chrono::seconds(5);  // > 0
  std::vector<ChildSpec> children{};
};

class Supervisor {
 public:
  // run(spec) supervises spec's children on the calling actor until no child is left
  // running (Ok), the restart intensity is exceeded (RestartIntensity), the caller is
  // cancelled (Cancelled) or a child cannot be started, at first or on a restart (its spawn
  // error's code, e.g. ResourceExhausted past Config::max_actors, with a message naming the
  // child; the supervisor does not retry). Every child has been cancelled and joined when
  // it returns. The calling actor's signals() carries the
  // children's ends while it runs (signals of other actors it watches are ignored and
  // consumed). Errors before anything starts: InvalidArgument (a negative intensity, a
  // period <= 0, a child without a start function, two children with one name),
  // NotInActor outside an actor. Parks.
  static Result<void> run(const SupervisorSpec& spec);
};

// spawn_supervisor(spec, options) runs Supervisor::run(spec) on a new actor; its handle's
// join() returns the supervisor's result, and cancel() shuts it down.
JoinHandle<Result<void>> spawn_supervisor(SupervisorSpec spec, const SpawnOptions& options = {});

// supervisor_child(name, spec, restart) is a ChildSpec whose body runs a nested
// supervisor; an inner supervisor that gives up (or fails to start) ends with a panic of
// type smarm::BadResultAccess whose what() is its error message.
ChildSpec supervisor_child(std::string name, SupervisorSpec spec,
                           Restart restart = Restart::Permanent);

}  // namespace smarm
