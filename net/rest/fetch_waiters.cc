#include "net/rest/fetch_waiters.h"

#include <algorithm>

namespace sluice::net {

std::shared_ptr<FetchWaiters::Waiter> FetchWaiters::add(const broker::PartitionLog* log,
                                                        asio::any_io_executor executor) {
  auto waiter = std::make_shared<Waiter>(std::move(executor));
  std::lock_guard lock(mu_);
  waiters_[log].push_back(waiter);
  return waiter;
}

void FetchWaiters::add(const broker::PartitionLog* log, std::shared_ptr<Waiter> waiter) {
  std::lock_guard lock(mu_);
  waiters_[log].push_back(std::move(waiter));
}

void FetchWaiters::remove(const broker::PartitionLog* log, const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard lock(mu_);
  auto it = waiters_.find(log);
  if (it == waiters_.end()) return;
  std::erase(it->second, waiter);
  if (it->second.empty()) waiters_.erase(it);
}

void FetchWaiters::notify(const broker::PartitionLog* log) {
  std::vector<std::shared_ptr<Waiter>> woken;
  {
    std::lock_guard lock(mu_);
    auto it = waiters_.find(log);
    if (it == waiters_.end()) return;
    woken = it->second;
  }
  for (auto& w : woken) {
    // The timer belongs to the waiter's I/O thread; cancel it there. The shared_ptr keeps the
    // timer alive even if the fetch already finished.
    asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
  }
}

void FetchWaiters::shut_down() {
  shutting_down_.store(true);
  std::vector<std::shared_ptr<Waiter>> woken;
  {
    std::lock_guard lock(mu_);
    for (const auto& [log, waiters] : waiters_)
      woken.insert(woken.end(), waiters.begin(), waiters.end());
  }
  for (auto& w : woken) asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
}

}  // namespace sluice::net
