#pragma once

// The cluster as etcd holds it, under etcd.prefix (default /sluice; docs/CLUSTER.md §2):
//   <prefix>/cluster                 {"cluster_id":"..."}
//   <prefix>/brokers/<id> {"id":1,"url":"http://h:p","incarnation":"...","clean_start":true,
//                          "storage_revision":<etcd revision>}
//                                    bound to the broker's lease; create_revision = broker epoch
//   <prefix>/controller/<lease hex>  "<broker id>"; the lowest create_revision is the controller
//   <prefix>/topics/<topic>          {"id":"...","partitions":3,"replicas":[[1],[2],[3]],
//                                     "configs":{...}}  written by the broker that took the create
//   <prefix>/acls                    {"version":1,"acls":[...]}  the ACLs (broker/acl.h), set
//                                    with compare-and-swap by the broker that took the change
//   <prefix>/partitions/<topic>/<p>  {"topic_id":"...","leader":1,"leader_epoch":0,
//                                     "isr":[[1,<broker epoch>]]}  written by the controller;
//                                    its mod_revision is the partition epoch
// Pure data and parsing: no I/O, so the value parsers can be fuzzed.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/etcd_codec.h"
#include "common/result.h"

namespace sluice::cluster {

// The etcd keys of one cluster.
class KeyLayout {
 public:
  explicit KeyLayout(std::string prefix) : prefix_(std::move(prefix)) {}
  const std::string& prefix() const { return prefix_; }
  std::string root() const { return prefix_ + "/"; }  // every key of the cluster
  std::string cluster() const { return prefix_ + "/cluster"; }
  std::string brokers() const { return prefix_ + "/brokers/"; }
  std::string broker(int32_t id) const { return brokers() + std::to_string(id); }
  std::string controllers() const { return prefix_ + "/controller/"; }
  std::string controller(int64_t lease) const;
  std::string topics() const { return prefix_ + "/topics/"; }
  std::string topic(std::string_view name) const { return topics() + std::string(name); }
  std::string partitions() const { return prefix_ + "/partitions/"; }
  std::string acls() const { return prefix_ + "/acls"; }
  std::string partitions_of(std::string_view topic) const {
    return partitions() + std::string(topic) + "/";
  }
  std::string partition(std::string_view topic, int32_t p) const {
    return partitions_of(topic) + std::to_string(p);
  }

 private:
  std::string prefix_;
};

// What a broker registers.
struct BrokerRegistration {
  int32_t id = 0;
  std::string url;          // advertised: where other brokers and clients reach it
  std::string incarnation;  // new at every start: tells a restarted broker from its old self
  bool clean_start = false;
  // The etcd revision read just before its data directories were created (meta.properties
  // `storage.revision`; the newest of its directories'). A place in an ISR given under a
  // broker epoch (a registration's create revision) at or below it was given to data that
  // these directories never held (a wiped broker's), so it does not make the broker
  // electable. 0 for directories created before the record existed.
  int64_t storage_revision = 0;
};
std::string to_json(const BrokerRegistration& b);
Result<BrokerRegistration> parse_broker_registration(std::string_view json);

std::string cluster_id_json(std::string_view id);
Result<std::string> parse_cluster_id(std::string_view json);

// A topic as the cluster defines it: its partitions' replicas (the first is the preferred
// leader) and its configuration overrides.
struct TopicAssignment {
  std::string id;
  std::vector<std::vector<int32_t>> replicas;  // one list per partition
  std::map<std::string, std::string> configs;
  int64_t mod_revision = 0;  // of its key: compare-and-swap for alterations
  int32_t partitions() const { return static_cast<int32_t>(replicas.size()); }
};
std::string to_json(const TopicAssignment& t);
Result<TopicAssignment> parse_topic_assignment(std::string_view json);

// Who leads a partition and who is in sync with it; leader -1 while it has none.
struct PartitionState {
  std::string topic_id;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  std::vector<std::pair<int32_t, int64_t>> isr;  // broker id, broker epoch when it joined
  int64_t mod_revision = 0;                      // the partition epoch
  bool in_isr(int32_t broker) const;
};
std::string to_json(const PartitionState& p);
Result<PartitionState> parse_partition_state(std::string_view json);

// Replicas for a new topic: partition p's first replica is brokers[(start + p) % n], followed
// by the next brokers in order, shifted by one more every n partitions (Kafka's rack-unaware
// placement). `brokers` sorted; replication_factor <= brokers.size().
std::vector<std::vector<int32_t>> assign_replicas(const std::vector<int32_t>& brokers,
                                                  int32_t partitions, int32_t replication_factor,
                                                  size_t start);

// A registered (live) broker.
struct BrokerInfo {
  BrokerRegistration registration;
  int64_t epoch = 0;  // the registration's create_revision
};

// One consistent picture of the cluster, at etcd revision `revision`.
struct ClusterView {
  int64_t revision = 0;
  std::string cluster_id;
  std::map<int32_t, BrokerInfo> brokers;
  std::optional<int32_t> controller;
  int64_t controller_epoch = 0;  // the controller key's create_revision
  std::string controller_key;    // its etcd key (the controller's own txns compare it)
  std::map<std::string, TopicAssignment, std::less<>> topics;
  std::map<std::pair<std::string, int32_t>, PartitionState> partitions;
  // The ACLs as stored (parsed by their user, cluster/acl_store.h); 0: no key yet.
  std::string acls;
  int64_t acls_mod_revision = 0;

  const PartitionState* partition(std::string_view topic, int32_t p) const;
};

// Builds the view from every key under the prefix (key -> kv). Keys or values that do not parse
// are skipped and counted in `skipped` (a foreign or damaged key must not stop the cluster).
ClusterView build_view(const KeyLayout& layout, const std::map<std::string, KeyValue>& keys,
                       int64_t revision, size_t* skipped = nullptr);

}  // namespace sluice::cluster
