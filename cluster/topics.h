#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "broker/broker.h"
#include "broker/topic_admin.h"
#include "cluster/node.h"
#include "cluster/replicas.h"

namespace sluice::cluster {

// Topics in cluster mode: created, deleted and reconfigured in etcd (/sluice/topics/<t>), and
// mirrored into this broker's registry from the watch-fed view, so every broker holds every
// topic the cluster defines, with its configuration. (Each broker holds every partition's
// directory; which of them it serves follows from the partitions' states.)
//
// A broker's local topics that the cluster does not define (a data directory that was a
// standalone broker's) are left alone and logged, never deleted: only a deletion seen in etcd
// deletes a topic here.
//
// Threading: the TopicAdmin calls run on the broker's worker and wait for etcd; the view
// callback runs on the node's thread and posts the mirroring to the worker.
class ClusterTopics final : public broker::TopicAdmin {
 public:
  // `replicas` follows each mirrored view after the topics are in place.
  ClusterTopics(ClusterNode& node, broker::Broker& broker, ReplicaManager& replicas);

  broker::DetailedResult<broker::TopicDescription> create_topic(
      std::string_view name, int32_t partitions, std::optional<int32_t> replication_factor,
      const std::map<std::string, std::string>& overrides) override;
  broker::DetailedResult<broker::TopicDescription> create_internal_topic(
      std::string_view name, int32_t partitions, int32_t replication_factor,
      const std::map<std::string, std::string>& overrides) override;
  broker::DetailedResult<void> delete_topic(std::string_view name) override;
  broker::DetailedResult<broker::TopicDescription> alter_config(
      std::string_view name,
      const std::map<std::string, std::optional<std::string>>& changes) override;

  // For ClusterNode::on_view.
  void on_view(std::shared_ptr<const ClusterView> view);

 private:
  // Puts the topic into etcd with `replicas` replicas per partition on the brokers alive, then
  // into this broker's registry.
  broker::DetailedResult<broker::TopicDescription> create_in_etcd(
      std::string_view name, int32_t partitions, int32_t replicas,
      const std::map<std::string, std::string>& overrides);
  // This broker's copy of a topic (an internal one through the registry's internal call).
  broker::DetailedResult<broker::TopicDescription> create_local(
      std::string_view name, int32_t partitions,
      const std::map<std::string, std::string>& overrides);
  // On the worker: makes the registry match `view` (after `previous`).
  void mirror(const ClusterView& view, const ClusterView* previous);

  ClusterNode& node_;
  broker::Broker& broker_;
  ReplicaManager& replicas_;
  std::mutex mu_;
  std::shared_ptr<const ClusterView> mirrored_;  // guarded by mu_: the last view mirrored
};

}  // namespace sluice::cluster
