#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "broker/partition_log.h"
#include "common/result.h"
#include "common/types.h"

namespace sluice::broker {

// The one flusher thread that makes appends durable.
//
// request(log, end, done) calls done({}) once a flush of `log` that began after the call has
// finished, so it covers every byte appended before the call; requests that arrive while a
// flush runs share the next one, so N concurrent durable producers cost far fewer than N
// fdatasyncs (group commit). With `interval` set (log.flush.policy=interval) the flusher also
// flushes every tracked log that has unflushed messages once per interval, and early when a
// log reaches its flush.messages.
//
// Threading: every method is thread-safe; callbacks run on the flusher thread and must not
// block. Lifetimes: a log must stay alive while tracked or while it has pending requests;
// untrack() completes its pending requests and returns only when no flush of it is running.
class GroupCommitter {
 public:
  using Callback = std::function<void(std::error_code)>;

  struct Options {
    std::chrono::milliseconds interval{0};  // 0: flush only on request
  };

  explicit GroupCommitter(Options options);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void track(PartitionLog* log);
  void untrack(PartitionLog* log);

  // Calls done once every byte of `log` appended before this call is durable (or with the
  // error that prevented it).
  void request(PartitionLog& log, Callback done);
  // Blocks until request()'s callback has run; for callers without an event loop.
  [[nodiscard]] Result<void> wait_durable(PartitionLog& log);
  // Interval mode: tells the flusher a log may have reached its flush.messages.
  void notify_appended(PartitionLog& log);

  // Completes outstanding requests with a final flush, then stops the thread. Idempotent.
  void stop();

  uint64_t flush_rounds() const;

 private:
  struct Pending {
    PartitionLog* log;
    Callback done;
  };

  void run();
  void flush_round(std::vector<Pending> pending, std::vector<PartitionLog*> extra);

  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> pending_;        // guarded by mu_
  std::vector<PartitionLog*> urgent_;   // guarded by mu_
  std::vector<PartitionLog*> tracked_;  // guarded by mu_
  bool stopping_ = false;               // guarded by mu_
  uint64_t rounds_ = 0;                 // guarded by mu_; counts rounds started
  bool in_round_ = false;               // guarded by mu_; a round is flushing
  std::condition_variable round_done_;  // signalled when a round ends (untrack waits on it)
  std::thread thread_;
};

}  // namespace sluice::broker
