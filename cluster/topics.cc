#include "cluster/topics.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace sluice::cluster {
namespace {

using broker::DetailedError;
using broker::Errc;

std::string new_topic_id() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
}

}  // namespace

ClusterTopics::ClusterTopics(ClusterNode& node, broker::Broker& broker, ReplicaManager& replicas)
    : node_(node), broker_(broker), replicas_(replicas) {}

broker::DetailedResult<broker::TopicDescription> ClusterTopics::create_topic(
    std::string_view name, int32_t partitions, std::optional<int32_t> replication_factor,
    const std::map<std::string, std::string>& overrides) {
  if (!broker::is_valid_topic_name(name)) return Errc::invalid_topic_name;
  if (broker::is_internal_topic(name)) return Errc::internal_topic;
  if (partitions < 1 || partitions > broker::kMaxPartitions) return Errc::invalid_partition_count;
  if (auto valid = config::try_apply_topic_overrides(broker_.config().topic_defaults, overrides);
      !valid) {
    return DetailedError(Errc::invalid_config, valid.error().what());
  }
  const int32_t replicas = replication_factor.value_or(broker_.config().default_replication_factor);
  const size_t alive = node_.view()->brokers.size();
  if (replicas < 1 || static_cast<size_t>(replicas) > alive) {
    return DetailedError(
        Errc::invalid_config,
        fmt::format("replication_factor {} is larger than the {} brokers alive", replicas, alive));
  }
  // A name the cluster has, or this broker's data has (a topic from before it joined), is taken.
  if (broker_.topics().describe(name)) return Errc::topic_exists;
  return create_in_etcd(name, partitions, replicas, overrides);
}

broker::DetailedResult<broker::TopicDescription> ClusterTopics::create_internal_topic(
    std::string_view name, int32_t partitions, int32_t replication_factor,
    const std::map<std::string, std::string>& overrides) {
  if (!broker::is_internal_topic(name)) return Errc::invalid_topic_name;
  const auto alive = static_cast<int32_t>(node_.view()->brokers.size());
  if (alive == 0) return Errc::not_enough_replicas;
  // This broker may hold the topic from before it joined a cluster: the cluster's copy is then
  // mirrored onto it (same partitions), never refused.
  return create_in_etcd(name, partitions, std::clamp(replication_factor, 1, alive), overrides);
}

broker::DetailedResult<broker::TopicDescription> ClusterTopics::create_in_etcd(
    std::string_view name, int32_t partitions, int32_t replicas,
    const std::map<std::string, std::string>& overrides) {
  auto view = node_.view();
  if (view->topics.contains(name)) return Errc::topic_exists;
  std::vector<int32_t> alive;
  for (const auto& [id, b] : view->brokers) alive.push_back(id);
  TopicAssignment topic;
  topic.id = new_topic_id();
  topic.replicas =
      assign_replicas(alive, partitions, replicas, std::random_device{}() % alive.size());
  topic.configs = overrides;
  const std::string key = node_.layout().topic(name);
  Txn txn;
  txn.compare.push_back({key, Compare::Target::create, Compare::Op::equal, 0, {}});
  txn.success.push_back(TxnOp::put(key, to_json(topic)));
  auto answer = node_.txn(txn);
  if (!answer) return answer.error();
  if (!answer->succeeded) return Errc::topic_exists;
  // Here at once (every broker mirrors it from the watch too).
  auto created = create_local(name, partitions, overrides);
  if (!created && created.error() != Errc::topic_exists) return created.error();
  auto described = broker_.topics().describe(name);
  if (!described) return described.error();
  return *described;
}

broker::DetailedResult<broker::TopicDescription> ClusterTopics::create_local(
    std::string_view name, int32_t partitions,
    const std::map<std::string, std::string>& overrides) {
  auto& registry = broker_.topics();
  return broker::is_internal_topic(name)
             ? registry.create_internal_topic(name, partitions, overrides)
             : registry.create_topic(name, partitions, overrides);
}

broker::DetailedResult<void> ClusterTopics::delete_topic(std::string_view name) {
  if (broker::is_internal_topic(name)) return Errc::internal_topic;
  auto view = node_.view();
  auto it = view->topics.find(name);
  if (it != view->topics.end()) {
    const std::string key = node_.layout().topic(name);
    Txn txn;
    txn.compare.push_back(
        {key, Compare::Target::mod, Compare::Op::equal, it->second.mod_revision, {}});
    txn.success.push_back(TxnOp::del(key));
    auto answer = node_.txn(txn);
    if (!answer) return answer.error();
    if (!answer->succeeded) return Errc::topic_not_found;  // deleted or recreated meanwhile
  }
  auto deleted = broker_.topics().delete_topic(name);
  if (!deleted && !(it != view->topics.end() && deleted.error() == Errc::topic_not_found)) {
    return deleted.error();
  }
  return {};
}

broker::DetailedResult<broker::TopicDescription> ClusterTopics::alter_config(
    std::string_view name, const std::map<std::string, std::optional<std::string>>& changes) {
  if (broker::is_internal_topic(name)) return Errc::internal_topic;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto view = node_.view();
    auto it = view->topics.find(name);
    if (it == view->topics.end()) return broker_.topics().alter_config(name, changes);  // local
    TopicAssignment topic = it->second;
    for (const auto& [key, value] : changes) {
      if (value) {
        topic.configs[key] = *value;
      } else {
        topic.configs.erase(key);
      }
    }
    if (auto valid =
            config::try_apply_topic_overrides(broker_.config().topic_defaults, topic.configs);
        !valid) {
      return DetailedError(Errc::invalid_config, valid.error().what());
    }
    const std::string key = node_.layout().topic(name);
    Txn txn;
    txn.compare.push_back({key, Compare::Target::mod, Compare::Op::equal, topic.mod_revision, {}});
    txn.success.push_back(TxnOp::put(key, to_json(topic)));
    auto answer = node_.txn(txn);
    if (!answer) return answer.error();
    if (answer->succeeded) return broker_.topics().alter_config(name, changes);
    // Changed by another broker since this view: wait for the newer one and apply again.
    node_.wait_for(
        [&](const ClusterView& v) {
          auto t = v.topics.find(name);
          return t == v.topics.end() || t->second.mod_revision != topic.mod_revision;
        },
        std::chrono::seconds(2));
  }
  return DetailedError(Errc::invalid_config,
                       fmt::format("topic '{}' is being changed by other brokers; retry", name));
}

void ClusterTopics::on_view(std::shared_ptr<const ClusterView> view) {
  broker_.worker().post([this, view = std::move(view)] {
    std::shared_ptr<const ClusterView> previous;
    {
      std::lock_guard lock(mu_);
      previous = mirrored_;
      mirrored_ = view;
    }
    mirror(*view, previous.get());
    replicas_.apply(view);
  });
}

void ClusterTopics::mirror(const ClusterView& view, const ClusterView* previous) {
  auto& registry = broker_.topics();
  for (const auto& [name, topic] : view.topics) {
    auto local = registry.describe(name);
    if (!local) {
      auto created = create_local(name, topic.partitions(), topic.configs);
      if (created) {
        spdlog::info("topic '{}' ({} partitions) from the cluster", name, topic.partitions());
      } else if (created.error() != Errc::topic_exists) {
        spdlog::error("cannot create topic '{}' from the cluster: {}", name,
                      created.error().message());
      }
      continue;
    }
    if (local->partitions < topic.partitions()) {
      // Its creation here was cut short (a crash part way through): the rest come empty, and
      // fill from their leaders like any replica.
      if (auto added = registry.add_partitions(name, topic.partitions()); !added) {
        spdlog::error("topic '{}': cannot add partitions {} to {}: {}", name, local->partitions,
                      topic.partitions() - 1, added.error().message());
        continue;
      }
      spdlog::warn("topic '{}' had {} partitions here but {} in the cluster: added the rest", name,
                   local->partitions, topic.partitions());
    } else if (local->partitions != topic.partitions()) {
      spdlog::error("topic '{}' has {} partitions here but {} in the cluster: left as it is", name,
                    local->partitions, topic.partitions());
      continue;
    }
    // The broker's internal topics keep the configuration they were made with.
    if (local->overrides == topic.configs || broker::is_internal_topic(name)) continue;
    std::map<std::string, std::optional<std::string>> changes;
    for (const auto& [k, v] : topic.configs) changes[k] = v;
    for (const auto& [k, v] : local->overrides) {
      if (!topic.configs.contains(k)) changes[k] = std::nullopt;
    }
    if (auto altered = registry.alter_config(name, changes); !altered) {
      spdlog::error("cannot apply the cluster's config of topic '{}': {}", name,
                    altered.error().message());
    }
  }
  // The leaderships this broker holds: each epoch goes into the partition's checkpoint and
  // every batch after it.
  const int32_t self = broker_.config().broker_id;
  for (const auto& [tp, state] : view.partitions) {
    if (state.leader != self) continue;
    auto log = registry.partition(tp.first, tp.second);
    if (!log || (*log)->epochs().latest_epoch() >= state.leader_epoch) continue;
    if (auto r = (*log)->become_leader(state.leader_epoch); !r) {
      spdlog::error("cannot take leadership of {}-{} at epoch {}: {}", tp.first, tp.second,
                    state.leader_epoch, r.error().message());
    } else {
      spdlog::info("leading {}-{} at epoch {} from offset {}", tp.first, tp.second,
                   state.leader_epoch, (*log)->end_offset().value);
    }
  }
  if (previous == nullptr) {
    for (const auto& name : registry.list()) {
      if (!broker::is_internal_topic(name) && !view.topics.contains(name)) {
        spdlog::warn("topic '{}' is in this broker's data but not in the cluster: left alone",
                     name);
      }
    }
    return;
  }
  for (const auto& [name, topic] : previous->topics) {
    if (view.topics.contains(name)) continue;
    if (auto deleted = registry.delete_topic(name); deleted) {
      spdlog::info("topic '{}' deleted by the cluster", name);
    } else if (deleted.error() != Errc::topic_not_found) {
      spdlog::error("cannot delete topic '{}': {}", name, deleted.error().message());
    }
  }
}

}  // namespace sluice::cluster
