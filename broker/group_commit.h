#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
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
// flushes every tracked log that has unflushed messages once per interval, early when a log
// reaches its flush.messages, and within about its flush.ms when that is shorter.
//
// Threading: every method is thread-safe; callbacks run on the flusher thread and must not
// block. Lifetimes: a log must stay alive while tracked or while it has pending requests;
// untrack() completes its pending requests and returns only when no flush of it is running.
class GroupCommitter {
 public:
  using Callback = std::function<void(std::error_code)>;

  struct Options {
    std::chrono::milliseconds interval{0};  // 0: flush only on request
    // log.direct.io: append_durable() writes whole blocks with O_DIRECT (Segment::append).
    bool direct_writes = false;
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
  // Appends `batches` on the flusher thread, with one write for all the batches queued for
  // `log` meanwhile (direct, with direct_writes), and calls done once they are durable: with
  // their offsets, or with the error that stopped them (the batches before it may have been
  // appended). The batches' bytes must stay valid, and untouched, until done runs. Producers
  // that wait for durability anyway lose nothing by not writing themselves.
  using AppendCallback = std::function<void(std::error_code, std::vector<AppendResult>)>;
  void append_durable(PartitionLog& log, std::span<const segment::ValidBatch> batches,
                      AppendCallback done);
  bool direct_writes() const { return options_.direct_writes; }
  // Blocks until request()'s callback has run; for callers without an event loop.
  [[nodiscard]] Result<void> wait_durable(PartitionLog& log);
  // Tells the flusher a log was appended to: in interval mode it may have reached its
  // flush.messages; `rolled`: it has a segment to seal, which the next round does.
  void notify_appended(PartitionLog& log, bool rolled = false);

  // Completes outstanding requests with a final flush, then stops the thread. Idempotent.
  void stop();

  uint64_t flush_rounds() const;

 private:
  struct Pending {
    PartitionLog* log;
    Callback done;
  };
  struct PendingAppend {
    PartitionLog* log;
    std::unique_ptr<PartitionLog::AppendJob> job;
    AppendCallback done;
  };

  // One log's share of a round: its queued appends, then a flush.
  struct LogWork {
    PartitionLog* log = nullptr;
    std::vector<PartitionLog::AppendJob*> jobs;
    std::error_code error;  // of the flush
  };

  static void work_on(LogWork& work, segment::DirectBuffer* direct);

  // Threads that take a round's logs alongside the flusher, so that a round over several
  // partitions takes about as long as its slowest one instead of their sum.
  class Helpers {
   public:
    Helpers(size_t threads, bool direct_writes);
    ~Helpers();
    Helpers(const Helpers&) = delete;
    Helpers& operator=(const Helpers&) = delete;
    // Does every item, on the calling thread (writing through `own`) and the helpers; returns
    // when all are done.
    void run(std::span<LogWork> items, segment::DirectBuffer* own);

   private:
    void loop(segment::DirectBuffer* direct);
    void drain(std::span<LogWork> items, segment::DirectBuffer* direct);

    std::mutex mu_;
    std::condition_variable wake_;  // a round has items, or stop
    std::condition_variable idle_;  // no helper is working on the round
    std::span<LogWork> items_;      // guarded by mu_
    bool open_ = false;             // guarded by mu_; helpers may join the round
    uint64_t generation_ = 0;       // guarded by mu_; counts rounds
    size_t active_ = 0;             // guarded by mu_; helpers working on the round
    bool stop_ = false;             // guarded by mu_
    std::atomic<size_t> next_{0};   // the round's next item to take
    std::vector<std::unique_ptr<segment::DirectBuffer>> buffers_;  // one per helper
    std::vector<std::thread> threads_;
  };

  void run();
  // Interval mode: a topic's flush.ms when shorter than the interval, which then flushes it
  // sooner; nullopt when the interval's own flushes are soon enough.
  std::optional<std::chrono::milliseconds> short_flush_ms(const config::TopicConfig& config) const;
  // The next time a log with a short flush.ms needs a look (time_point::max() for none).
  // Requires mu_.
  std::chrono::steady_clock::time_point next_short_flush(
      std::chrono::steady_clock::time_point now) const;
  // Appends, flushes and answers one round's work; with `helpers`, several logs at once.
  static void flush_round(std::vector<Pending> pending, std::vector<PendingAppend> appends,
                          std::vector<PartitionLog*> extra, segment::DirectBuffer* direct,
                          Helpers* helpers);

  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> pending_;        // guarded by mu_
  std::vector<PendingAppend> appends_;  // guarded by mu_
  std::vector<PartitionLog*> urgent_;   // guarded by mu_
  std::vector<PartitionLog*> tracked_;  // guarded by mu_
  bool stopping_ = false;               // guarded by mu_
  uint64_t rounds_ = 0;                 // guarded by mu_; counts rounds started
  bool in_round_ = false;               // guarded by mu_; a round is flushing
  // Interval mode, both guarded by mu_: when the sleeping flusher wakes, and a request that it
  // look again sooner.
  std::chrono::steady_clock::time_point wake_at_ = std::chrono::steady_clock::time_point::min();
  bool recheck_ = false;
  // Whether a tracked log may have a short flush.ms: each tick looks at all of them, and
  // between ticks the flusher looks only while this is set. Guarded by mu_.
  bool any_short_ = false;              // guarded by mu_
  std::condition_variable round_done_;  // signalled when a round ends (untrack waits on it)
  std::unique_ptr<segment::DirectBuffer> direct_;  // the flusher thread's, with direct_writes
  Helpers helpers_;                                // used by the flusher thread only
  std::thread thread_;
};

}  // namespace sluice::broker
