// channel.cpp — the type-independent waiting logic of channels (channel_core.hpp).
#include <smarm/detail/channel_core.hpp>

namespace smarm::detail {

Result<void> ChannelCore::wait_recv_locked(Actor* self) noexcept {
  if (senders_.load(std::memory_order_acquire) == 0) {
    unlock();
    return Error(Errc::Closed, "recv() on a channel whose senders are all gone");
  }
  if (is_cancelled(self)) {
    unlock();
    return Error(Errc::Cancelled, "recv(): the caller was cancelled");
  }
  Waiter w{current_waiter()};
  recv_waiter_ = &w;
  unlock();
  park(WaitKind::Recv, this);
  lock();
  if (recv_waiter_ == &w) recv_waiter_ = nullptr;  // woken by cancel, not by a sender
  // A cancelled wait reports Cancelled even if a value arrived meanwhile: the value stays
  // queued (nothing is lost) and the outcome does not depend on who won the race.
  if (is_cancelled(self)) {
    unlock();
    return Error(Errc::Cancelled, "recv(): the caller was cancelled");
  }
  return {};
}

WaiterId ChannelCore::take_recv_waiter_locked() noexcept {
  Waiter* w = recv_waiter_;
  if (!w) return {};
  recv_waiter_ = nullptr;
  return w->try_claim() ? w->id : WaiterId{};
}

void ChannelCore::sender_dropped() noexcept {
  // acq_rel: the last sender's sends happen-before the receiver sees zero senders.
  if (senders_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  lock();
  WaiterId w = take_recv_waiter_locked();
  unlock();
  if (w) unpark(w);
}

}  // namespace smarm::detail
