// SPDX-License-Identifier: Apache-2.0
// pid.hpp — Pid, the name of an actor.
//
// A Pid is (runtime, index, generation): index picks a slot in the runtime's actor table
// and generation says which of the slot's successive occupants is meant. When an actor
// exits its slot's generation moves on, so every operation on an old Pid reports
// Errc::StalePid and can never reach the slot's next occupant. The runtime number keeps a
// Pid of one runtime from naming an actor of another (tests run runtimes back to back).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace smarm {

struct Pid {
  std::uint32_t runtime = 0;     // 0 means "no actor"
  std::uint32_t index = 0;       // slot in the actor table
  std::uint32_t generation = 0;  // occupant of the slot

  bool valid() const noexcept { return runtime != 0; }
  friend bool operator==(const Pid&, const Pid&) = default;
  friend auto operator<=>(const Pid&, const Pid&) = default;
};

// to_string formats a pid Erlang-style: "<runtime.index.generation>".
std::string to_string(const Pid& pid);

}  // namespace smarm

template <>
struct std::hash<smarm::Pid> {
  std::size_t operator()(const smarm::Pid& p) const noexcept {
    std::uint64_t h =
        (std::uint64_t{p.runtime} << 48) ^ (std::uint64_t{p.index} << 20) ^ p.generation;
    return std::hash<std::uint64_t>{}(h);
  }
};
