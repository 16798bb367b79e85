#pragma once

// The cluster as etcd holds it, under etcd.prefix (default /sluice; docs/CLUSTER.md §2):
//   <prefix>/cluster                 {"cluster_id":"..."}
//   <prefix>/brokers/<id> {"id":1,"url":"http://h:p","incarnation":"...","clean_start":true}
//                                    bound to the broker's lease; create_revision = broker epoch
//   <prefix>/controller/<lease hex>  "<broker id>"; the lowest create_revision is the controller
// Pure data and parsing: no I/O, so the value parsers can be fuzzed.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

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

 private:
  std::string prefix_;
};

// What a broker registers.
struct BrokerRegistration {
  int32_t id = 0;
  std::string url;          // advertised: where other brokers and clients reach it
  std::string incarnation;  // new at every start: tells a restarted broker from its old self
  bool clean_start = false;
};
std::string to_json(const BrokerRegistration& b);
Result<BrokerRegistration> parse_broker_registration(std::string_view json);

std::string cluster_id_json(std::string_view id);
Result<std::string> parse_cluster_id(std::string_view json);

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
};

// Builds the view from every key under the prefix (key -> kv). Keys or values that do not parse
// are skipped and counted in `skipped` (a foreign or damaged key must not stop the cluster).
ClusterView build_view(const KeyLayout& layout, const std::map<std::string, KeyValue>& keys,
                       int64_t revision, size_t* skipped = nullptr);

}  // namespace sluice::cluster
