#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "common/result.h"
#include "common/types.h"
#include "index/format.h"
#include "recovery/index_check.h"
#include "recovery/leader_epochs.h"
#include "segment/batch.h"

namespace sluice::recovery {

// The per-partition topic settings recovery needs (topic-level names).
struct RecoveryOptions {
  size_t index_max_bytes = 10 << 20;   // segment.index.bytes
  size_t index_interval_bytes = 4096;  // index.interval.bytes
};

// The bytes of a segment's index files as recovery found them; nullopt for a missing file.
struct ExistingIndexes {
  std::optional<std::string> offset_bytes;
  std::optional<std::string> time_bytes;
};

// What one pass over a segment's .log found: the valid prefix, the first bad batch (if any),
// the index entries the indexing rule (segment/index_rule.h) makes for the valid prefix, and
// whether the existing index files are valid for it (recovery/index_check.h).
struct SegmentScan {
  Offset base;
  uint64_t file_bytes = 0;
  uint64_t valid_bytes = 0;  // end of the last valid batch
  Offset next_offset;        // one past the last valid batch's last offset
  uint64_t batches = 0;
  uint64_t records = 0;
  std::error_code error;  // why the batch at valid_bytes was rejected; empty if none
  std::vector<index::OffsetEntry> offset_entries;
  std::vector<index::TimeEntry> time_entries;  // as while active: without the seal entry
  index::TimeEntry seal_entry{-1, {}};         // what seal() adds, when seal_adds_entry
  bool seal_adds_entry = false;
  IndexVerdict offset_index;  // the existing .index, judged against the valid prefix
  IndexVerdict time_index;    // the existing .timeindex
  // The largest timestamp up to the existing .index's last entry: a kept .index needs a
  // .timeindex that reaches it.
  int64_t largest_at_last_offset_entry = -1;

  // Where the leader epoch changes in the valid prefix: the first batch's epoch and offset,
  // then each batch whose epoch is higher than the one before it.
  std::vector<EpochEntry> epochs;

  bool clean() const { return !error; }
  // "batch checksum mismatch at position 123"
  std::string describe_error() const;
};

// Checks one batch at the start of `rest`: whole header and body within `rest`, magic, both
// checksums, records (segment::validate_batch), base offset `expected`, non-negative
// timestamps, offsets within 32 bits of `segment_base`. Not max.message.bytes: that limits what
// producers may send now, and a batch stored under a larger limit is no less valid.
[[nodiscard]] Result<segment::BatchHeader> check_batch(std::span<const std::byte> rest,
                                                       Offset expected, Offset segment_base);

// Scans `log_path` (read-only, memory-mapped) batch by batch and stops at the first batch
// check_batch rejects, or whose leader epoch is lower than the one before it (the previous
// segment's last, `previous_epoch`, for the first batch), judging `existing` against the valid
// batches on the way. I/O failures
// are the only errors; bad bytes are reported in the scan. Adds the bytes it passes to
// *bytes_done as it goes (for progress), if given.
[[nodiscard]] Result<SegmentScan> scan_segment(const std::filesystem::path& log_path, Offset base,
                                               const RecoveryOptions& options,
                                               const ExistingIndexes& existing = {},
                                               std::atomic<uint64_t>* bytes_done = nullptr,
                                               std::optional<int32_t> previous_epoch = {});

// The index files the indexing rule writes for the scan's valid prefix, as segment::Segment
// leaves them: sealed is trimmed with the seal's time entry; active (not sealed) is
// preallocated to segment.index.bytes as a writable index::OffsetIndex / TimeIndex leaves it.
std::string offset_index_bytes(const SegmentScan& scan, const RecoveryOptions& options,
                               bool sealed);
std::string time_index_bytes(const SegmentScan& scan, const RecoveryOptions& options, bool sealed);

}  // namespace sluice::recovery
