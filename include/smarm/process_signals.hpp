// SPDX-License-Identifier: Apache-2.0
// process_signals.hpp — process signals (SIGINT, SIGTERM, ...) delivered to an actor.
//
//   auto sigs = smarm::io::signals({SIGINT, SIGTERM});     // Result<ProcessSignals>
//   auto sig = sigs->recv();                                // parks until one arrives
//
// While a ProcessSignals lives, the listed signals no longer do what they did before
// (terminate the process, say): each arrival is queued and recv() returns its number, in
// order of arrival. Destroying it restores the previous dispositions. A signal may be
// watched by one ProcessSignals at a time (InvalidArgument otherwise); SIGKILL, SIGSTOP
// and the signals the runtime uses itself (SIGSEGV, SIGURG) cannot be watched.
//
// How: a handler writes the signal's number into a non-blocking pipe, which recv() reads
// through io::read. A handler works whatever thread the kernel picks and whatever the
// threads' signal masks are; signalfd would need the signal blocked in every thread of
// the process, including threads smarm did not create. A burst of more signals than the
// pipe holds (thousands) drops the excess, as the kernel itself merges pending signals.
#pragma once

#include <initializer_list>
#include <vector>

#include <smarm/error.hpp>
#include <smarm/timer.hpp>

namespace smarm::io {

class ProcessSignals {
 public:
  ProcessSignals() = default;
  ProcessSignals(ProcessSignals&& o) noexcept;
  ProcessSignals& operator=(ProcessSignals&& o) noexcept;
  ~ProcessSignals();

  // recv parks until one of the signals arrives and returns its number. Errors:
  // TimedOut, Cancelled, NotInActor, BadDescriptor (a moved-from object).
  Result<int> recv(Deadline deadline = Deadline::max()) noexcept;

  const std::vector<int>& watched() const noexcept { return signals_; }

 private:
  friend Result<ProcessSignals> signals(std::initializer_list<int> which);
  void release() noexcept;
  std::vector<int> signals_;
  int read_fd_ = -1;
};

// signals starts watching the given signals (see the file comment). Errors:
// InvalidArgument (an empty list, a signal that cannot or may not be watched, or one
// another ProcessSignals already watches), Io.
Result<ProcessSignals> signals(std::initializer_list<int> which);

}  // namespace smarm::io
