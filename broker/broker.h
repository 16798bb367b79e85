#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "broker/consumer_groups.h"
#include "broker/group_commit.h"
#include "broker/partition_log.h"
#include "broker/produce.h"
#include "broker/scrub.h"
#include "broker/topic_admin.h"
#include "broker/topic_registry.h"
#include "broker/worker.h"
#include "common/result.h"
#include "config/config.h"

namespace sluice::broker {

// fdatasync figures for /metrics: totals, the longest, and a histogram, whose tail shows a
// device that stalls now and then (the mean and the maximum hide how often).
struct SyncStats {
  // Upper bounds of the histogram's buckets, in seconds; a last bucket takes the rest.
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.5,    1.0};
  std::atomic<uint64_t> count{0};
  std::atomic<uint64_t> total_ns{0};
  std::atomic<uint64_t> max_ns{0};
  std::array<std::atomic<uint64_t>, kBuckets.size() + 1> in_bucket{};  // not cumulative

  void record(uint64_t ns);
};

// The broker core: configuration, the data directories, the topic registry, the group-commit
// flusher and the retention task. Knows nothing of HTTP.
//
// Lifecycle: construct, start() (identity files, then the logs), serve, stop() (flush, trim,
// clean-shutdown marker). Threading: after start(), every accessor is thread-safe; start and
// stop are called by the owning thread only.
// The cluster id the log dirs' meta.properties name, if any.
[[nodiscard]] Result<std::optional<std::string>> stored_cluster_id(
    const std::vector<std::string>& log_dirs);
// A new cluster id: 16 random bytes in URL-safe base64 without padding, as Kafka's look.
std::string new_cluster_id();

class Broker {
 public:
  // What the layers above (or tests) attach to the broker's work. Set before start().
  struct Hooks {
    // After every append to any partition, whatever made it, on the appending thread; must not
    // block (the HTTP front end wakes its long-polling fetches here).
    std::function<void(const PartitionLog&)> on_append;
    // Makes a file's bytes durable; fdatasync when unset. Tests slow it down or fail it.
    SyncFn sync;
  };

  explicit Broker(config::BrokerConfig config, Hooks hooks = {});
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // The cluster id this broker is to have, from etcd in cluster mode; before start(), which
  // refuses a data directory that names another.
  void set_cluster_id(std::string id) { cluster_id_ = std::move(id); }
  // The storage revision that log dirs created by start() record (meta.properties
  // `storage.revision`, cluster::BrokerRegistration::storage_revision); 0 records none.
  void set_new_storage_revision(int64_t revision) { new_storage_revision_ = revision; }
  // Makes start() record the new storage revision in every log dir, existing ones too:
  // recovery cut records out of a log that this broker had reported durable, so places in ISRs
  // it was given before must not make it electable (cluster::BrokerRegistration).
  void renew_storage() { renew_storage_ = true; }
  // Reads or creates meta.properties in every log dir and opens every partition. Recovery
  // (recovery::LogRecovery) must have run on the log dirs first.
  [[nodiscard]] Result<void> start();
  // Stops retention, flushes every partition and its indexes, writes the recovery-point
  // checkpoint and .clean_shutdown. Idempotent.
  [[nodiscard]] Result<void> stop();

  // Runs one retention pass over every partition now.
  void enforce_retention();

  const config::BrokerConfig& config() const { return config_; }
  const std::string& cluster_id() const { return cluster_id_; }
  // After start(): the newest storage revision of the log dirs (0 when none records one).
  int64_t storage_revision() const { return storage_revision_; }
  TopicRegistry& topics() { return *registry_; }
  // Topic create, delete and config changes: the registry, or the cluster's admin once
  // installed (TopicAdminSwitch::install, before requests are taken).
  TopicAdminSwitch& admin() { return *admin_; }
  GroupCommitter& committer() { return *committer_; }
  // Cluster mode: the replication that acks=all waits for and flushes report to (null:
  // standalone). Set before requests are taken, cleared before the replication goes.
  void set_replication(Replication* replication) {
    replication_.store(replication, std::memory_order_release);
  }
  Producer& producer() { return *producer_; }
  // The background scrub of sealed segments (after start()).
  Scrubber& scrubber() { return *scrubber_; }
  // The thread for work a network thread must not do: anything that syncs or waits for a
  // flush (topic create, delete, config changes).
  Worker& worker() { return *worker_; }
  ConsumerGroups& groups() { return *groups_; }
  const SyncStats& sync_stats() const { return sync_stats_; }

 private:
  [[nodiscard]] Result<void> load_identity();
  [[nodiscard]] Result<void> write_clean_shutdown();
  // The consumer-group coordinator, with the committed offsets loaded.
  [[nodiscard]] Result<void> start_groups();
  void retention_loop();

  config::BrokerConfig config_;
  Hooks hooks_;
  std::string cluster_id_;
  int64_t new_storage_revision_ = 0;
  bool renew_storage_ = false;
  int64_t storage_revision_ = 0;
  SyncStats sync_stats_;
  std::atomic<Replication*> replication_{nullptr};
  std::unique_ptr<GroupCommitter> committer_;
  std::unique_ptr<TopicRegistry> registry_;
  std::unique_ptr<TopicAdminSwitch> admin_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<Producer> producer_;
  std::unique_ptr<Scrubber> scrubber_;
  std::unique_ptr<ConsumerGroups> groups_;  // after registry_: destroyed first
  std::mutex retention_mu_;
  std::condition_variable retention_cv_;
  bool stopping_ = false;  // guarded by retention_mu_
  std::thread retention_thread_;
  bool started_ = false;
};

}  // namespace sluice::broker
