#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/errors.h"
#include "broker/group_commit.h"
#include "broker/partition_log.h"
#include "common/result.h"
#include "common/topic_name.h"
#include "config/config.h"

namespace sluice::broker {

inline constexpr int32_t kMaxPartitions = 10000;

using sluice::is_internal_topic;
using sluice::is_valid_topic_name;
using sluice::kMaxTopicNameLength;

struct TopicDescription {
  std::string name;
  int32_t partitions = 0;
  config::TopicConfig config;
  std::map<std::string, std::string> overrides;  // only the keys set for this topic
};

// Every topic of the broker and the logs of their partitions.
//
// Threading: all methods are thread-safe; lookups share a reader lock, create and delete take
// it exclusively. Lifetimes: partition logs are shared_ptr, so a request that looked one up
// keeps it alive while a concurrent delete removes the topic. The committer must outlive the
// registry.
class TopicRegistry {
 public:
  struct Options {
    std::vector<std::filesystem::path> log_dirs;
    config::TopicConfig defaults;
    SyncFn sync = fdatasync_fd;
    std::function<int64_t()> clock_ms;
    std::function<void(PartitionLog&, bool rolled)> on_append;  // PartitionLog::Options's
    std::function<void(PartitionLog&)> on_flushed;              // PartitionLog::Options's
    int64_t cache_retain_bytes = -1;  // PartitionLog::Options::cache_retain_bytes
  };

  // Loads every partition directory under the log dirs (after recovery).
  [[nodiscard]] static Result<std::unique_ptr<TopicRegistry>> open(Options options,
                                                                   GroupCommitter& committer);

  // Creates a topic; overrides use topic-level names. An unknown override or a bad value is
  // Errc::invalid_config with a detail naming both (DetailedError).
  [[nodiscard]] DetailedResult<TopicDescription> create_topic(
      std::string_view name, int32_t partitions,
      const std::map<std::string, std::string>& overrides);
  // As create_topic(), for the broker's own internal topics (is_internal_topic), which
  // create_topic(), delete_topic() and alter_config() refuse with Errc::internal_topic.
  [[nodiscard]] DetailedResult<TopicDescription> create_internal_topic(
      std::string_view name, int32_t partitions,
      const std::map<std::string, std::string>& overrides);
  [[nodiscard]] Result<void> delete_topic(std::string_view name);
  // Gives topic `name` `partitions` partitions by creating the missing ones empty, with the
  // topic's configuration, next to its first; nothing when it has as many already. (A
  // cluster's topic whose creation here was cut short by a crash is completed this way.)
  [[nodiscard]] Result<TopicDescription> add_partitions(std::string_view name, int32_t partitions);
  // Sets (a value) or removes (nullopt: back to the broker default) topic-level overrides, all
  // or none; a bad name or value is refused as by create_topic(). Stored in every partition's
  // topic.properties, then applied to the partitions' logs.
  [[nodiscard]] DetailedResult<TopicDescription> alter_config(
      std::string_view name, const std::map<std::string, std::optional<std::string>>& changes);

  std::vector<std::string> list() const;
  [[nodiscard]] Result<TopicDescription> describe(std::string_view name) const;
  [[nodiscard]] Result<std::shared_ptr<PartitionLog>> partition(std::string_view topic,
                                                                int32_t partition) const;
  // Every partition of one topic, in partition order.
  [[nodiscard]] Result<std::vector<std::shared_ptr<PartitionLog>>> partitions(
      std::string_view topic) const;
  std::vector<std::shared_ptr<PartitionLog>> all_partitions() const;

  // Flushes every partition and its indexes (for a clean stop).
  [[nodiscard]] Result<void> close();

  TopicRegistry(Options options, GroupCommitter& committer);
  ~TopicRegistry();
  TopicRegistry(const TopicRegistry&) = delete;
  TopicRegistry& operator=(const TopicRegistry&) = delete;

 private:
  [[nodiscard]] DetailedResult<TopicDescription> create(
      std::string_view name, int32_t partitions,
      const std::map<std::string, std::string>& overrides);

  struct Topic {
    config::TopicConfig config;
    std::map<std::string, std::string> overrides;
    std::vector<std::shared_ptr<PartitionLog>> partitions;
  };

  [[nodiscard]] Result<std::shared_ptr<PartitionLog>> open_partition(
      const std::filesystem::path& dir, std::string_view topic, int32_t partition,
      const config::TopicConfig& config);
  // A new, empty partition directory with the topic's configuration file, opened.
  [[nodiscard]] Result<std::shared_ptr<PartitionLog>> new_partition(
      const std::filesystem::path& log_dir, std::string_view name, int32_t partition,
      const config::TopicConfig& config, const std::map<std::string, std::string>& overrides);
  const std::filesystem::path& least_loaded_dir() const;

  Options options_;
  GroupCommitter& committer_;
  std::mutex admin_mu_;  // serialises create and delete
  mutable std::shared_mutex mu_;
  std::map<std::string, Topic, std::less<>> topics_;  // guarded by mu_
};

}  // namespace sluice::broker
