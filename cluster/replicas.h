#pragma once

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "broker/broker.h"
#include "broker/replication.h"
#include "cluster/node.h"

namespace sluice::cluster {

// This broker's part in the replication of every partition the cluster defines
// (docs/CLUSTER.md, "Replication"):
// - As a leader it records what each follower fetched and has made durable (the next fetch is
//   the acknowledgement), keeps the high watermark (the smallest durable end over the in-sync
//   replicas, frozen while they are fewer than min.insync.replicas), answers acks=all once the
//   high watermark passes the records, and changes the in-sync set in etcd (compare-and-swap
//   on the partition key) when a follower falls behind or catches up.
// - As a follower it runs one fetch loop per partition: raw batches from the leader over HTTP,
//   appended with the leader's offsets and epochs, flushed by the group committer; a log that
//   diverged is cut where the leader says, after the cut bytes are copied to quarantine.
//
// Threading: one thread of its own runs the fetch loops and a periodic tick (acks=all
// timeouts, lagging followers). apply() runs on the broker's worker; the leader-side calls come
// from network threads and the flusher. One mutex guards the leader state; no call blocks on
// I/O under it.
class ReplicaManager final : public broker::Replication {
 public:
  struct Options {
    // Called when a partition's high watermark moved (any thread; must not block): wakes the
    // consumers long-polling for it.
    std::function<void(const broker::PartitionLog&)> on_high_watermark;
  };

  ReplicaManager(ClusterNode& node, broker::Broker& broker, Options options);
  ~ReplicaManager() override;
  ReplicaManager(const ReplicaManager&) = delete;
  ReplicaManager& operator=(const ReplicaManager&) = delete;

  void start();
  // Stops the fetch loops; acks=all waiting here fails (not confirmed). Idempotent.
  void stop();

  // Follows a new picture of the cluster, after ClusterTopics mirrored it (on the worker): the
  // partitions this broker now leads, those it follows and from whom.
  void apply(std::shared_ptr<const ClusterView> view);

  // What a follower's fetch says about it (the leader's side of GET /v1/replica/...).
  struct FetchReport {
    int32_t replica = -1;
    int64_t broker_epoch = 0;
    int32_t leader_epoch = 0;
    Offset fetch_offset;  // its log end: everything before it is in its log
    Offset flushed;       // ... and everything before this is durable there
  };
  void follower_fetched(broker::PartitionLog& log, const FetchReport& report);

  // Whether this broker, which the cluster names leader of `log`'s partition at `epoch`, may
  // serve it now: it has taken the leadership (the epoch is in its checkpoint, its followers
  // are tracked), and, for reads, its high watermark has reached the start of its epoch
  // (before that a new leader's high watermark may lag the one clients already saw).
  bool serves(const broker::PartitionLog& log, int32_t epoch, bool reads) const;

  // min.insync.replicas as it applies to a partition of `replicas` replicas: clamped to them,
  // and at least 1.
  static int32_t effective_min_isr(int32_t configured, size_t replicas) {
    return std::max(1, std::min(configured, static_cast<int32_t>(replicas)));
  }

  // The in-sync replicas and the minimum of a partition this broker leads, for messages.
  std::string describe_isr(const broker::PartitionLog& log) const;

  // broker::Replication
  std::error_code admit(const broker::PartitionLog& log) override;
  void confirm(broker::PartitionLog& log, Offset end,
               std::function<void(std::error_code)> done) override;
  void flushed(broker::PartitionLog& log) override;

 private:
  using Clock = std::chrono::steady_clock;
  using Key = std::pair<std::string, int32_t>;
  using Done = std::function<void(std::error_code)>;

  // A follower's progress as its fetches report it.
  struct Progress {
    int64_t broker_epoch = -1;
    int32_t epoch = -1;  // the leader epoch it fetched at
    int64_t fetch_offset = -1;
    int64_t flushed = -1;
    Clock::time_point caught_up;  // last time its log reached the leader's end (Kafka's rule)
    int64_t end_at_last_fetch = -1;
    Clock::time_point last_fetch;
  };
  struct Waiter {
    int64_t end = 0;
    Clock::time_point deadline;
    Done done;
  };
  // A partition this broker leads, at one epoch.
  struct Leading {
    std::shared_ptr<broker::PartitionLog> log;
    int32_t epoch = 0;
    int64_t epoch_start = 0;
    Clock::time_point since;
    std::vector<int32_t> replicas;
    PartitionState state;  // as committed in etcd (the view's)
    // Followers being added to the ISR: they count for the high watermark from the moment the
    // change is sent (Kafka's maximal ISR) until the view shows the partition's next state,
    // which settles whether they joined. A refusal does not settle it: the change may have
    // been applied by etcd all the same when its answer was lost (an etcd that went away).
    std::set<int32_t> joining;
    bool isr_change_pending = false;
    // The change in flight (it compares state.mod_revision, which stays until the view moves
    // on and settles it): the ISR it sets, when it was sent, and whether its outcome is
    // unknown (no answer from etcd): then it is sent again, unchanged.
    std::vector<std::pair<int32_t, int64_t>> change;
    Clock::time_point change_sent;
    bool change_unsettled = false;
    std::map<int32_t, Progress> followers;
    std::vector<Waiter> waiters;
  };
  struct Following;

  // Under mu_: raises the high watermark as far as the in-sync replicas allow; the acks=all
  // callbacks it releases go to `ready`.
  void advance(Leading& l, std::vector<std::pair<Done, std::error_code>>& ready);
  // Under mu_: a change of the ISR for etcd, sent without waiting.
  void change_isr(Leading& l, std::vector<std::pair<int32_t, int64_t>> isr);
  Leading* leading(const broker::PartitionLog& log);
  const Leading* leading(const broker::PartitionLog& log) const;
  int32_t min_isr(const Leading& l) const;
  asio::awaitable<void> follow(std::shared_ptr<Following> f);
  asio::awaitable<void> tick_loop();
  void tick();
  void notify(const broker::PartitionLog& log) {
    if (options_.on_high_watermark) options_.on_high_watermark(log);
  }

  ClusterNode& node_;
  broker::Broker& broker_;
  Options options_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::shared_ptr<const ClusterView> view_;              // guarded by mu_
  std::map<Key, std::unique_ptr<Leading>> leading_;      // guarded by mu_
  std::map<Key, std::shared_ptr<Following>> following_;  // guarded by mu_
  Clock::time_point last_lag_check_ = Clock::now();      // tick thread only
};

}  // namespace sluice::cluster
