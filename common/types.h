#pragma once

#include <compare>
#include <cstdint>

namespace sluice {

// A logical record number within a partition.
struct Offset {
  int64_t value = 0;
  auto operator<=>(const Offset&) const = default;
};

// A byte position within a file.
struct FilePos {
  uint64_t value = 0;
  auto operator<=>(const FilePos&) const = default;
};

// Which clock a batch's timestamps come from (Kafka's message.timestamp.type).
enum class TimestampType : uint8_t { create_time, log_append_time };

}  // namespace sluice
