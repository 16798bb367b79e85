#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sluice::broker {

// The vocabulary of consumer groups, shared by the coordinator (consumer_groups.h) and the
// offsets topic's records (offsets_store.h).

enum class ConsumerFormat { binary, json };
enum class OffsetReset { earliest, latest, none };
enum class AssignmentStrategy { range, round_robin };

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// What a client chose when it created its instance.
struct InstanceConfig {
  std::string name;
  ConsumerFormat format = ConsumerFormat::binary;
  OffsetReset reset = OffsetReset::latest;
  bool auto_commit = false;
  int64_t fetch_min_bytes = 1;
  std::optional<int64_t> request_timeout_ms;  // the broker's consumer.request.timeout.ms if unset
  bool operator==(const InstanceConfig&) const = default;
};

}  // namespace sluice::broker
