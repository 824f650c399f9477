// SPDX-License-Identifier: Apache-2.0
// biased_lock.cpp — BiasedLock (detail/biased_lock.hpp): bias, fast path and revocation.
//
// Out of line on purpose: the fast path reads this thread's worker from thread-local
// storage, and a call boundary guarantees the read happens on the thread that runs the
// critical section (an inlined read could be hoisted across a context switch in the
// caller, after which the actor may be on another worker).
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include <smarm/debug.hpp>
#include <smarm/detail/biased_lock.hpp>

#include "core/lock_bias.hpp"
#include "core/sanitizer.hpp"
#include "core/worker.hpp"

namespace smarm::detail {

namespace {

int membarrier(int cmd) noexcept { return static_cast<int>(syscall(__NR_membarrier, cmd, 0, 0)); }

// The probe's answer for the lock path. Written (to true only) by probe_lock_bias(), read
// by every worker's lock slow path: an atomic, so those reads race with nothing.
std::atomic<bool> g_bias_enabled{false};

}  // namespace

bool probe_lock_bias() noexcept {
#if defined(SMARM_TSAN)
  return false;  // TSan cannot see the revoker's barrier: it would report the owner's side
#else
  // Registers the process for expedited private membarriers; false when the kernel (or a
  // sandbox, or Valgrind) does not offer them. A function-local static: one probe even
  // when two runtimes start at once on two threads.
  static const bool kOk = [] {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read once; smarm never writes the environment
    if (const char* env = std::getenv("SMARM_CHANNEL_BIAS"); env && env[0] == '0') return false;
    const int cmds = membarrier(MEMBARRIER_CMD_QUERY);
    if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return false;
    return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
  }();
  // release: whoever reads true is ordered after the registration above, so its later
  // revocations issue MEMBARRIER_CMD_PRIVATE_EXPEDITED as a registered process.
  if (kOk) g_bias_enabled.store(true, std::memory_order_release);
  return kOk;
#endif
}

bool lock_bias_enabled() noexcept { return g_bias_enabled.load(std::memory_order_acquire); }

namespace {
constexpr std::uint32_t kMaxThreshold = 1u << 24;  // past this, bias is effectively off
}  // namespace

void BiasedLock::lock() noexcept {
  Worker* me = current_worker();
  runtime_locks_add(1);  // no preemption while we hold it (either way in)
  if (me && owner_.load(std::memory_order_relaxed) == me) {
    owner_inside_.store(true, std::memory_order_relaxed);
    // Only the compiler must not reorder the two accesses; the CPU may (a store then a
    // load), which is exactly what the revoker's membarrier accounts for.
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (owner_.load(std::memory_order_relaxed) == me) {
      held_biased_ = true;
      return;
    }
    // Revoked under our feet: step out and take the ordinary path.
    owner_inside_.store(false, std::memory_order_release);
  }
  runtime_locks_add(-1);  // spin_.lock() counts for itself
  lock_slow(me);
}

void BiasedLock::unlock() noexcept {
  if (held_biased_) {
    held_biased_ = false;
    // release: a revoker that sees false also sees every write of this critical section.
    owner_inside_.store(false, std::memory_order_release);
    runtime_locks_add(-1);
    return;
  }
  spin_.unlock();
}

void BiasedLock::lock_slow(const void* me) noexcept {
  spin_.lock();  // held_biased_ stays false: only the biased path sets it
  Worker* w = static_cast<Worker*>(const_cast<void*>(me));
  if (w) w->channel_locks.add();
  if (owner_.load(std::memory_order_relaxed) != nullptr) {
    revoke_locked();
    if (w) w->channel_bias_revocations.add();
  }
  if (me == nullptr || me != last_worker_) {
    last_worker_ = me;
    streak_ = 1;
    return;
  }
  // lock_bias_enabled() only reads the probe's answer; the probe itself (syscalls that can
  // stall) ran when the runtime was built. Not probed yet counts as "no bias", which is
  // always safe — the lock is then the plain SpinLock — and cannot cost a bias anyway: a
  // bias goes to a worker (me != nullptr), and a worker exists only inside a Scheduler,
  // whose constructor has probed before any of its workers ran. Probing here instead
  // would put the syscalls under spin_, where every other locker would spin behind them.
  if (++streak_ >= threshold_ && lock_bias_enabled()) {
    streak_ = 0;
    // The bias only ever goes to one worker in the lock's lifetime (see the header): the
    // owner_inside_ flag must have a single writer. A worker that once owned the bias may
    // still be inside lock(), between its first look at owner_ and its store to
    // owner_inside_, for as long as its thread is descheduled; when it resumes it stores
    // and clears the flag, which would wipe out another owner's "inside" and let a revoker
    // in beside that owner.
    if (bias_worker_ == nullptr) bias_worker_ = me;
    if (bias_worker_ != me) return;
    // We hold spin_, and from now on other lockers must revoke before they get in; this
    // worker's next lock() takes the fast path. The critical section in progress stays a
    // spin_ one (held_biased_ is false), so unlock() releases spin_.
    owner_.store(me, std::memory_order_relaxed);
  }
}

void BiasedLock::revoke_locked() noexcept {
  owner_.store(nullptr, std::memory_order_relaxed);
  // After this every CPU running one of our threads has passed a full barrier: an owner
  // whose `owner_inside_ = true` came before it is seen below, and an owner that stores it
  // after the barrier re-reads owner_ afterwards and finds it cleared.
  (void)membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
  // acquire: pairs with the owner's release in unlock(); its critical section is over.
  while (owner_inside_.load(std::memory_order_acquire)) __builtin_ia32_pause();
  threshold_ = threshold_ >= kMaxThreshold / 4 ? kMaxThreshold : threshold_ * 4;
  streak_ = 0;
}

}  // namespace smarm::detail

// Probes itself when no runtime has been built yet (the answer is the same); it runs under
// no lock, so the syscalls stall only the caller.
bool smarm::debug::channel_bias_available() noexcept { return smarm::detail::probe_lock_bias(); }
