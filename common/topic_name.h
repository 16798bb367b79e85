#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace sluice {

inline constexpr size_t kMaxTopicNameLength = 249;

// The topic the consumer-group coordinator keeps committed offsets in. As in Kafka, an internal
// topic is the broker's own: clients may read it, but not produce to it, create, delete or
// reconfigure it, which would lose or forge committed offsets.
inline constexpr std::string_view kConsumerOffsetsTopic = "__consumer_offsets";
inline bool is_internal_topic(std::string_view name) { return name == kConsumerOffsetsTopic; }

// Kafka's rule: 1 to 249 of [a-zA-Z0-9._-], and not "." or "..". Such a name can never leave
// its data directory, whatever directory name it becomes part of.
inline bool is_valid_topic_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxTopicNameLength || name == "." || name == "..") {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

}  // namespace sluice
