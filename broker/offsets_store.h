#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "broker/partition_log.h"
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

// The record key and value of one commit, and back; decode returns nullopt for bytes that are
// not a commit of a version this broker knows.
std::string encode_commit_key(const OffsetCommit& commit);
std::string encode_commit_value(const OffsetCommit& commit);
std::optional<OffsetCommit> decode_commit(std::string_view key, std::string_view value);

// Appends commits to, and reads them back from, kOffsetsTopic.
//
// Durability: append() leaves the batch in the page cache and returns the log it went to;
// the caller makes it durable through the GroupCommitter before acknowledging. Threading: as
// thread-safe as the registry and PartitionLog; the caller orders commits of one group.
// Lifetimes: the registry must outlive the store.
class OffsetsStore {
 public:
  explicit OffsetsStore(TopicRegistry& registry) : registry_(registry) {}

  // Calls `apply` for every commit stored, in log order per partition (later wins); records
  // that do not decode are skipped and counted in the result's `skipped`.
  struct LoadResult {
    size_t commits = 0;
    size_t skipped = 0;
  };
  [[nodiscard]] Result<LoadResult> load(const std::function<void(OffsetCommit)>& apply) const;

  // Whether kOffsetsTopic exists, and creating it (its partitions' directories are synced, so
  // a network thread must not call ensure_topic).
  [[nodiscard]] bool has_topic() const;
  [[nodiscard]] Result<void> ensure_topic();

  // Appends the commits (all of one group) as one batch; Errc::topic_not_found before
  // ensure_topic().
  [[nodiscard]] Result<std::shared_ptr<PartitionLog>> append(std::string_view group,
                                                             std::span<const OffsetCommit> commits);

 private:
  TopicRegistry& registry_;
};

}  // namespace sluice::broker
