#pragma once

// Damage in a sealed segment and its repair from a copy held elsewhere (docs/CLUSTER.md,
// "Repair from a replica"). Replicas of a partition hold the same sealed segments byte for byte
// (a follower rolls where its leader did), so the bytes from the first bad batch to the end of
// a segment can be replaced by the same range of another replica's copy, once they check out.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "common/result.h"
#include "common/types.h"

namespace sluice::recovery {

// A sealed segment whose batches go bad before its end, as start-up recovery or the scrub
// found it.
struct SegmentDamage {
  std::string topic;
  int32_t partition = 0;
  std::filesystem::path log_file;        // the segment's .log
  Offset base;                           // its base offset
  uint64_t position = 0;                 // where its first bad batch starts
  Offset expected;                       // the offset that batch should start with
  Offset end;                            // where its batches end: the next segment's base
  uint64_t file_size = 0;                // of the .log as found
  std::string reason;                    // what is wrong at `position`
  std::filesystem::path quarantine_dir;  // <log.dir>/quarantine/<topic>-<partition>

  std::string name() const;  // "<topic>-<partition>"
};

// What a repair did: the broker whose copy replaced the damaged bytes, or why none did.
struct RepairOutcome {
  std::optional<int32_t> from_broker;
  std::string detail;
};

// Repairs damage in place, or says why it could not. Blocking; called by start-up recovery
// (before the broker serves) and by the scrub.
using RepairFn = std::function<RepairOutcome(const SegmentDamage&)>;

// Whether `bytes` may replace [position, file_size) of the damaged segment: exactly that many
// bytes, of whole valid batches (both checksums) with contiguous offsets from `expected`,
// ending exactly at `end`. nullopt when they may; else why not.
std::optional<std::string> check_replacement(const SegmentDamage& damage,
                                             std::span<const std::byte> bytes);

// Copies the damaged bytes [position, file_size) to the quarantine directory with a note
// (`note`, e.g. "repaired from broker 2"), then writes `bytes` over them in place and
// fdatasyncs the file. `bytes` must have passed check_replacement.
[[nodiscard]] Result<void> write_replacement(const SegmentDamage& damage,
                                             std::span<const std::byte> bytes,
                                             const std::string& note, int64_t now_ms);

}  // namespace sluice::recovery
