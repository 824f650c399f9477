// workloads.hpp — the smarm workloads of smarm-bench, one file each (w1_skynet.cpp, ...).
//
// run_<w>(rep, threads) measures and prints the workload's lines (report.hpp) at
// `threads` scheduler threads; sizes shrink when rep.smoke(). main.cpp lists them.
#pragma once

#include <cstddef>

#include "report.hpp"

namespace smarm::bench {

void run_w1_skynet(Reporter& rep, std::size_t threads);
void run_w2_ping_pong(Reporter& rep, std::size_t threads);
void run_w3_ring(Reporter& rep, std::size_t threads);
void run_w4_primes(Reporter& rep, std::size_t threads);
void run_w8_memory(Reporter& rep, std::size_t threads);
void run_w8b_memory(Reporter& rep, std::size_t threads);
void run_w9_switch(Reporter& rep, std::size_t threads);
void run_tl_timer_lateness(Reporter& rep, std::size_t threads);

}  // namespace smarm::bench
