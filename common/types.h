#pragma once

#include <compare>
#include <cstdint>

namespace sluice {

// Two's-complement addition. Offsets and timestamps decoded from a client's or a damaged
// file's bytes can be anything; adding to them must not be undefined behaviour (the checks
// that follow reject what wrapped).
constexpr int64_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

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
