#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/consumer_types.h"
#include "broker/partition_log.h"
#include "broker/topic_admin.h"
#include "broker/topic_registry.h"
#include "common/result.h"

namespace sluice::broker {

// The internal topic holding committed consumer-group offsets (docs/FORMAT.md, "Committed
// offsets"). Never listed by GET /topics (the "__" prefix).
inline constexpr std::string_view kOffsetsTopic = kConsumerOffsetsTopic;
inline constexpr int32_t kOffsetsTopicPartitions = 8;
// Its segments are small, so that compaction (ConsumerGroups::compact_offsets) frees space
// soon after moving a partition's start past old commits.
inline constexpr int64_t kOffsetsSegmentBytes = 16 << 20;
// Longest group name and commit metadata stored (both are length-prefixed with a u16).
inline constexpr size_t kMaxGroupNameLength = 255;
inline constexpr size_t kMaxCommitMetadataBytes = 4096;

// A group's offsets live in partition fnv1a32(group) % kOffsetsTopicPartitions, so one group's
// commits stay in order in one log.
int32_t offsets_partition_for(std::string_view group);

struct OffsetCommit {
  std::string group;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;  // the next offset to consume
  std::string metadata;
  int64_t commit_time_ms = 0;
};

// An instance of a group as its coordinator keeps it durable in cluster mode, so that the
// next coordinator rebuilds it (docs/FORMAT.md, "Consumer instances"): what the client chose,
// and its subscription (topics or a pattern) or manual assignment.
struct InstanceState {
  InstanceConfig config;
  std::vector<std::string> topics;
  std::string pattern;
  bool manual = false;
  std::vector<TopicPartition> assigned;  // when manual
  bool operator==(const InstanceState&) const = default;
};
struct InstanceRecord {
  std::string group;
  std::string instance;
  std::optional<InstanceState> state;  // nullopt: the instance is gone (a tombstone)
};

// The record key and value of one commit, and back; decode returns nullopt for bytes that are
// not a commit of a version this broker knows.
std::string encode_commit_key(const OffsetCommit& commit);
std::string encode_commit_value(const OffsetCommit& commit);
std::optional<OffsetCommit> decode_commit(std::string_view key, std::string_view value);
// The same for instance records (key version 1); a tombstone has no value.
std::string encode_instance_key(std::string_view group, std::string_view instance);
std::string encode_instance_value(const InstanceState& state);
std::optional<InstanceRecord> decode_instance(std::string_view key,
                                              std::optional<std::string_view> value);

// The configuration kOffsetsTopic is created with.
std::map<std::string, std::string> offsets_topic_overrides();

// Appends commits and instance records to, and reads them back from, kOffsetsTopic.
//
// Durability: append() leaves the batch in the page cache and returns the log it went to;
// the caller makes it durable through the GroupCommitter before acknowledging. Threading: as
// thread-safe as the registry and PartitionLog; the caller orders commits of one group.
// Lifetimes: the registry must outlive the store.
class OffsetsStore {
 public:
  // `replication_factor`: the most replicas the topic is created with in cluster mode (the
  // cluster's admin clamps it to the brokers alive).
  OffsetsStore(TopicRegistry& registry, TopicAdmin& admin, int32_t replication_factor)
      : registry_(registry), admin_(admin), replication_factor_(replication_factor) {}

  // Calls `on_commit` for every commit stored and `on_instance` for every instance record, in
  // log order per partition (later wins), of every partition or only `partition`; records
  // that do not decode are skipped and counted in the result's `skipped`.
  struct LoadResult {
    size_t commits = 0;
    size_t instances = 0;
    size_t skipped = 0;
  };
  [[nodiscard]] Result<LoadResult> load(const std::function<void(OffsetCommit)>& on_commit,
                                        const std::function<void(InstanceRecord)>& on_instance = {},
                                        std::optional<int32_t> partition = std::nullopt) const;

  // Whether kOffsetsTopic exists, and creating it through the topic admin (replicated in
  // cluster mode). Its partitions' directories are synced, so a network thread must not call
  // ensure_topic.
  [[nodiscard]] bool has_topic() const;
  [[nodiscard]] Result<void> ensure_topic();

  // Appends the commits (all of one group) as one batch; Errc::topic_not_found before
  // ensure_topic().
  [[nodiscard]] Result<std::shared_ptr<PartitionLog>> append(std::string_view group,
                                                             std::span<const OffsetCommit> commits);
  // Appends one instance record to its group's partition.
  [[nodiscard]] Result<std::shared_ptr<PartitionLog>> append(const InstanceRecord& record);
  // Appends the current state of instances (all of one group) as one batch, as compaction's
  // snapshot does.
  [[nodiscard]] Result<std::shared_ptr<PartitionLog>> append(
      std::string_view group, std::span<const InstanceRecord> records);

 private:
  TopicRegistry& registry_;
  TopicAdmin& admin_;
  int32_t replication_factor_;
};

}  // namespace sluice::broker
