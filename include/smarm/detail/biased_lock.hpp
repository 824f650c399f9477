// SPDX-License-Identifier: Apache-2.0
// detail/biased_lock.hpp — BiasedLock, the lock of a channel, free while one worker uses it.
//
// A pipeline stage and its neighbour usually run on the same worker, one after the other,
// never at the same time. For them a channel lock made of an atomic exchange is pure
// overhead: each message would pay two read-modify-write instructions for mutual
// exclusion that the single worker thread already guarantees. A BiasedLock notices a run
// of acquisitions from one worker and hands that worker the lock "for keeps": from then
// on the worker enters with plain loads and stores (no read-modify-write, no fence).
// Anyone else — another worker, or a thread outside the runtime — first revokes the bias:
// it clears the owner, makes every CPU running this process execute a memory barrier
// (membarrier(2), MEMBARRIER_CMD_PRIVATE_EXPEDITED) and waits until the owner is out of
// its critical section. That is the asymmetric form of Dekker's mutual exclusion: the
// owner's cheap side is made safe by the barrier the rare side forces onto it.
//
// The bias goes to one worker per lock lifetime, the first to earn it; a later streak
// on another worker leaves the lock a plain SpinLock. That keeps `owner_inside_` written by
// one thread only. Were the bias handed to a second worker, the first could still be
// half-way through lock() (it read owner_ == itself, then its thread was descheduled), and
// on resuming it would set and then clear the flag while the second owner is inside —
// after which a revoker that reads the cleared flag enters beside the second owner.
//
// Revocation costs microseconds (tens of them when other CPUs are busy), so a lock only
// becomes biased after `threshold` consecutive acquisitions by one worker, and the
// threshold grows fourfold with every revocation: a channel whose ends keep moving
// between workers quickly stops being biased at all. No bias is ever taken when
// membarrier is unavailable (an old kernel, a sandbox, Valgrind) or under ThreadSanitizer,
// which cannot see the barrier; the lock then behaves as the plain SpinLock it wraps.
// Whether membarrier is there is asked once, when a runtime is built (src/core/
// lock_bias.hpp), never on the lock path: the syscalls can stall for milliseconds.
// SMARM_CHANNEL_BIAS=0 in the environment turns biasing off (to compare, or to rule it
// out). stats() counts, per worker, the ordinary acquisitions and the revocations.
//
// Critical sections must not switch contexts (they never park): the owner's worker
// thread is what excludes its actors from each other.
#pragma once

#include <atomic>
#include <cstdint>

#include <smarm/detail/spinlock.hpp>

namespace smarm::detail {

class BiasedLock {
 public:
  void lock() noexcept;
  void unlock() noexcept;

 private:
  void lock_slow(const void* me) noexcept;
  void revoke_locked() noexcept;

  SpinLock spin_;                            // taken by everyone but the bias owner
  std::atomic<const void*> owner_{nullptr};  // the worker the lock is biased to, or null
  std::atomic<bool> owner_inside_{false};    // the owner is in a biased critical section
  bool held_biased_ = false;                 // how the current holder got in (holder-only)
  // Guarded by spin_: the bias decision.
  const void* last_worker_ = nullptr;
  const void* bias_worker_ = nullptr;  // the one worker the bias may ever go to
  std::uint32_t streak_ = 0;
  std::uint32_t threshold_ = 64;
};

}  // namespace smarm::detail
