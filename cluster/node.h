#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/etcd_client.h"
#include "cluster/metadata.h"
#include "cluster/segment_repair.h"
#include "config/config.h"

namespace sluice::cluster {

// This broker's membership of a cluster kept in etcd (docs/CLUSTER.md §3, §4): it agrees the
// cluster id, holds a lease and the registration bound to it, campaigns for controller, and
// keeps a watch-fed copy of the cluster's keys from which every broker answers metadata.
//
// Liveness: the lease is renewed every heartbeat. When renewals have failed for longer than
// the lease's TTL (measured from the send of the last one that succeeded), etcd may have
// expired it: the node is fenced (fenced() is true) until it holds a lease again. A lease that
// etcd reports gone is replaced: a new lease, a new registration (a new broker epoch) and a new
// campaign. An etcd restart keeps leases (it renews them to their full TTL), so it fences
// nothing unless it lasts longer than the TTL.
//
// Threading: the node runs its own thread (one io_context) for every etcd call. The public
// methods are thread-safe; the blocking ones (agree_cluster_id, start, stop) are for the
// broker's main thread.
class ClusterNode {
 public:
  struct Options {
    int32_t broker_id = 0;
    std::string url;  // advertised
    std::vector<EtcdEndpoint> endpoints;
    std::string prefix = "/sluice";
    std::chrono::milliseconds session_timeout{3000};
    std::chrono::milliseconds heartbeat{500};
    bool clean_start = false;
    // The controller moves each partition's leadership back to its preferred (first) replica
    // when that one is alive and in sync, checking this often.
    bool auto_leader_rebalance = true;
    // The broker's topic defaults, under each topic's own overrides from etcd (the controller
    // reads unclean.leader.election.enable from them).
    config::TopicConfig topic_defaults;
    std::chrono::milliseconds leader_imbalance_interval{300000};
    // TLS for https URLs: of other brokers (the ssl.* keys: their CAs, this broker's own
    // certificate for brokers that ask for one) and of etcd (etcd.ssl.*). Null: none.
    std::shared_ptr<asio::ssl::context> peer_tls;
    std::shared_ptr<asio::ssl::context> etcd_tls;
  };
  // What stops start-up, naming what is wrong.
  struct Error {
    std::string message;
  };

  explicit ClusterNode(Options options);
  ~ClusterNode();
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // The cluster's id: etcd's when it has one, else `proposed` becomes it. `local` is the id
  // this broker's data directories already name (meta.properties), if any: a different id in
  // etcd is an error naming both.
  boost::system::result<std::string, Error> agree_cluster_id(
      const std::string& proposed, const std::optional<std::string>& local);
  // The etcd revision agree_cluster_id read: every registration made before it has a create
  // revision at or below it, so data directories created after it record it as theirs
  // (meta.properties `storage.revision`).
  int64_t agreed_revision() const { return agreed_revision_; }
  // BrokerRegistration::storage_revision of the data directories; set before start().
  void set_storage_revision(int64_t revision) { storage_revision_ = revision; }
  // Set before start().
  void set_clean_start(bool clean) { options_.clean_start = clean; }
  // The partition's in-sync replicas other than this broker that are registered now, its
  // leader first, read from etcd (blocking; also before start(), for start-up recovery's
  // repairs). Empty when etcd cannot tell.
  std::vector<RepairSource> in_sync_peers(const std::string& topic, int32_t partition);

  // Grants the lease, registers (waiting for an earlier registration of this id to expire, at
  // most 2 x session timeout + 5 s; then a live broker holds it: an error naming the id),
  // campaigns for controller, loads the cluster's keys and starts the watch and the heartbeat.
  boost::system::result<void, Error> start();

  // Revokes the lease first, so the cluster sees this broker gone at once, then stops.
  void stop();

  // One etcd call from another thread (the broker's worker), waited for.
  Result<TxnAnswer> txn(const Txn& txn);
  // The same without waiting: `done` runs on the node's thread with the answer; must not block.
  void txn_async(Txn txn, std::function<void(Result<TxnAnswer>)> done);
  const KeyLayout& layout() const { return layout_; }
  // Called on the node's thread with every new picture of the cluster, after start().
  // Set before start(); must not block.
  void on_view(std::function<void(std::shared_ptr<const ClusterView>)> callback) {
    on_view_ = std::move(callback);
  }
  // Waits until `done` holds for the current view, at most `limit`; whether it did.
  bool wait_for(const std::function<bool(const ClusterView&)>& done,
                std::chrono::milliseconds limit);

  // The latest picture of the cluster (never null after start()).
  std::shared_ptr<const ClusterView> view() const;
  int32_t broker_id() const { return options_.broker_id; }
  // The client TLS context for other brokers' https URLs (null: none).
  const std::shared_ptr<asio::ssl::context>& peer_tls() const { return options_.peer_tls; }
  // No lease this broker can trust: it must not act as a leader. Also true as soon as the last
  // successful renewal is older than the lease's TTL, before the heartbeat notices (a broker
  // that was paused wakes up fenced).
  bool fenced() const;
  // The broker epoch of the current registration (0 before start).
  int64_t broker_epoch() const { return broker_epoch_.load(std::memory_order_acquire); }

 private:
  template <class T>
  T run(std::function<asio::awaitable<T>()> body);
  asio::awaitable<Result<int64_t>> grant_lease();
  // Registers under the current lease; `held` while another registration holds the id.
  enum class Registration { done, held };
  asio::awaitable<Result<Registration>> register_once();
  asio::awaitable<Result<void>> campaign();
  asio::awaitable<void> heartbeat_loop();
  asio::awaitable<void> rebalance_loop();
  asio::awaitable<void> watch_loop();
  asio::awaitable<Result<int64_t>> load_keys();
  void publish();
  // The controller's duties (controller.cc), run on the node's thread after each new view
  // while this broker is the controller: partition states for new topics, elections when a
  // leader's broker is gone or comes back, removal of deleted topics' states.
  asio::awaitable<void> controller_pass();
  void schedule_controller();
  bool controller_running_ = false;
  bool controller_dirty_ = false;
  bool rebalance_due_ = false;  // the next pass also moves leaders back to preferred replicas
  std::function<void(std::shared_ptr<const ClusterView>)> on_view_;

  Options options_;
  KeyLayout layout_;
  std::string incarnation_;
  asio::io_context io_;
  std::unique_ptr<EtcdClient> client_;
  // Keeps run() going until stop(); reset only on the node's thread.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> fenced_{true};
  std::atomic<int64_t> broker_epoch_{0};
  // When the last renewal that succeeded was sent (steady clock), and the lease's TTL in ms.
  std::atomic<std::chrono::steady_clock::rep> renewed_at_{0};
  std::atomic<int64_t> ttl_ms_{0};

  // Touched only on the node's thread:
  bool started_ = false;  // start() succeeded: views go to the callbacks and the controller
  int64_t lease_ = 0;
  int64_t ttl_s_ = 0;
  std::map<std::string, KeyValue> keys_;
  int64_t revision_ = 0;
  int64_t agreed_revision_ = 0;   // set by agree_cluster_id, before start()
  int64_t storage_revision_ = 0;  // set before start()
  std::shared_ptr<EtcdWatch> watch_;

  mutable std::mutex view_mu_;
  std::condition_variable view_changed_;
  std::shared_ptr<const ClusterView> view_;  // guarded by view_mu_
};

}  // namespace sluice::cluster
