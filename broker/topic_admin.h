#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "broker/errors.h"
#include "broker/topic_registry.h"

namespace sluice::broker {

// Where topic creation, deletion and configuration changes go: this broker's registry when it
// is standalone, the cluster's metadata in etcd (which then reaches every broker's registry)
// in cluster mode. Every front end (the REST API, auto-creation on produce) goes through it.
//
// Threading: the calls sync and may wait for etcd; run them on the broker's worker.
class TopicAdmin {
 public:
  virtual ~TopicAdmin() = default;
  // `replication_factor` nullopt: the broker's default.
  [[nodiscard]] virtual DetailedResult<TopicDescription> create_topic(
      std::string_view name, int32_t partitions, std::optional<int32_t> replication_factor,
      const std::map<std::string, std::string>& overrides) = 0;
  // One of the broker's internal topics (is_internal_topic), with at most
  // `replication_factor` replicas: fewer when fewer brokers are alive. Errc::topic_exists when
  // it is there already.
  [[nodiscard]] virtual DetailedResult<TopicDescription> create_internal_topic(
      std::string_view name, int32_t partitions, int32_t replication_factor,
      const std::map<std::string, std::string>& overrides) = 0;
  [[nodiscard]] virtual DetailedResult<void> delete_topic(std::string_view name) = 0;
  [[nodiscard]] virtual DetailedResult<TopicDescription> alter_config(
      std::string_view name, const std::map<std::string, std::optional<std::string>>& changes) = 0;
};

// The standalone admin: the registry itself, one replica per partition.
class LocalTopicAdmin final : public TopicAdmin {
 public:
  explicit LocalTopicAdmin(TopicRegistry& registry) : registry_(registry) {}
  DetailedResult<TopicDescription> create_topic(
      std::string_view name, int32_t partitions, std::optional<int32_t> replication_factor,
      const std::map<std::string, std::string>& overrides) override {
    if (replication_factor && *replication_factor != 1) {
      return DetailedError(Errc::invalid_config,
                           "replication_factor: a standalone broker supports only 1");
    }
    return registry_.create_topic(name, partitions, overrides);
  }
  DetailedResult<TopicDescription> create_internal_topic(
      std::string_view name, int32_t partitions, int32_t /*replication_factor*/,
      const std::map<std::string, std::string>& overrides) override {
    return registry_.create_internal_topic(name, partitions, overrides);
  }
  DetailedResult<void> delete_topic(std::string_view name) override {
    if (auto r = registry_.delete_topic(name); !r) return r.error();
    return {};
  }
  DetailedResult<TopicDescription> alter_config(
      std::string_view name,
      const std::map<std::string, std::optional<std::string>>& changes) override {
    return registry_.alter_config(name, changes);
  }

 private:
  TopicRegistry& registry_;
};

// The admin in force: the local one until another (the cluster's) is installed.
class TopicAdminSwitch final : public TopicAdmin {
 public:
  explicit TopicAdminSwitch(TopicRegistry& registry) : local_(registry) {}
  // Before the broker takes requests; the admin must outlive the broker's use of it.
  void install(TopicAdmin* admin) { installed_.store(admin, std::memory_order_release); }

  DetailedResult<TopicDescription> create_topic(
      std::string_view name, int32_t partitions, std::optional<int32_t> replication_factor,
      const std::map<std::string, std::string>& overrides) override {
    return current().create_topic(name, partitions, replication_factor, overrides);
  }
  DetailedResult<TopicDescription> create_internal_topic(
      std::string_view name, int32_t partitions, int32_t replication_factor,
      const std::map<std::string, std::string>& overrides) override {
    return current().create_internal_topic(name, partitions, replication_factor, overrides);
  }
  DetailedResult<void> delete_topic(std::string_view name) override {
    return current().delete_topic(name);
  }
  DetailedResult<TopicDescription> alter_config(
      std::string_view name,
      const std::map<std::string, std::optional<std::string>>& changes) override {
    return current().alter_config(name, changes);
  }

 private:
  TopicAdmin& current() {
    TopicAdmin* installed = installed_.load(std::memory_order_acquire);
    return installed ? *installed : local_;
  }
  LocalTopicAdmin local_;
  std::atomic<TopicAdmin*> installed_{nullptr};
};

}  // namespace sluice::broker
