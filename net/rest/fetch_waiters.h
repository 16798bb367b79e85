#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "net/http/message.h"

namespace sluice::broker {
class PartitionLog;
}

namespace sluice::net {

// Long-polling fetches waiting for appends, per partition log.
//
// A waiter registers, re-checks its condition (so an append between its first check and the
// registration is not missed), then awaits its timer; notify() cancels the timers of every
// waiter on that log from the appending thread by posting to each waiter's own executor.
// Threading: all methods are thread-safe.
class FetchWaiters {
 public:
  struct Waiter {
    explicit Waiter(asio::any_io_executor executor) : timer(executor) {}
    asio::steady_timer timer;
  };

  std::shared_ptr<Waiter> add(const broker::PartitionLog* log, asio::any_io_executor executor);
  // Registers an existing waiter on one more log, so that any of several logs wakes it.
  void add(const broker::PartitionLog* log, std::shared_ptr<Waiter> waiter);
  void remove(const broker::PartitionLog* log, const std::shared_ptr<Waiter>& waiter);
  // Wakes every waiter on `log`.
  void notify(const broker::PartitionLog* log);
  // The server is stopping: wakes every waiter, and shutting_down() tells waiters (who check
  // it after registering, as for appends) not to wait again, so parked fetches answer at once.
  void shut_down();
  bool shutting_down() const { return shutting_down_.load(); }

 private:
  std::atomic<bool> shutting_down_{false};
  std::mutex mu_;
  std::map<const broker::PartitionLog*, std::vector<std::shared_ptr<Waiter>>> waiters_;
};

}  // namespace sluice::net
