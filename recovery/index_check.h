#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "index/format.h"
#include "segment/batch.h"

namespace sluice::recovery {

// What recovery found of one index file.
struct IndexVerdict {
  bool present = false;  // the file exists
  bool trimmed = false;  // it holds its entries and nothing after them
  std::string problem;   // why it is not a valid index of the log; empty when it is
  // For a time index: it reaches the largest timestamp of the log (as a sealed segment's does,
  // with the entry seal() adds), or is full.
  bool reaches_end = false;
};

// Judges a segment's existing .index and .timeindex against its valid batches, one batch at a
// time as a scan passes them, by the rule of docs/FORMAT.md ("When an index is valid"): every
// entry is correct, and the offset index is no sparser than interval_bytes plus one batch. How
// densely the index was written does not matter, so an index written under another
// index.interval.bytes (or segment.index.bytes) stays valid as long as it is at least as dense.
//
// Entries are read as index::OffsetIndex and TimeIndex read them: an untrimmed file's entries
// end where its zeroed free space begins, and anything but zeros after them is a problem.
class IndexCheck {
 public:
  // nullopt bytes: the file is missing. The capacities are segment.index.bytes in entries: an
  // index that full need not cover the batches after its last entry (the writer could not add
  // them).
  IndexCheck(std::optional<std::string_view> offset_bytes,
             std::optional<std::string_view> time_bytes, Offset base, uint64_t interval_bytes,
             size_t index_max_bytes);

  // The next valid batch of the segment, at `pos`. `largest` is the largest timestamp of the
  // batches up to and including it; `rebuilt_entry` says whether the indexing rule gives it an
  // offset entry.
  void add(uint64_t pos, const segment::BatchHeader& header, int64_t largest, bool rebuilt_entry);
  // After the last valid batch.
  void finish();

  // The verdicts, after finish(). The time index is judged beside the offset index recovery
  // keeps: the existing one when it is valid, else the rebuilt one.
  const IndexVerdict& offset_verdict() const { return offset_; }
  const IndexVerdict& time_verdict() const { return time_; }
  // The largest timestamp of the batches up to the existing offset index's last entry.
  int64_t largest_at_last_entry() const { return largest_at_last_entry_; }

 private:
  void check_offset_entry(uint64_t pos, const segment::BatchHeader& header, int64_t largest);
  void check_time_entry(const segment::BatchHeader& header, int64_t largest);

  Offset base_;
  uint64_t interval_bytes_;
  size_t offset_capacity_;
  size_t time_capacity_;
  uint64_t batches_ = 0;
  int64_t largest_ = -1;  // of the batches so far
  IndexVerdict offset_;
  IndexVerdict time_;
  std::vector<index::OffsetEntry> offsets_;
  std::vector<index::TimeEntry> times_;
  size_t next_offset_entry_ = 0;  // the first entry not yet matched with a batch
  size_t next_time_entry_ = 0;
  uint64_t covered_to_ = 0;  // position of the last matched offset entry (0 before the first)
  // The largest timestamp up to the batch at the last offset entry, existing and rebuilt: the
  // last time entry must reach it, as Segment::open takes it from there and scans on only from
  // the last offset entry.
  int64_t largest_at_last_entry_ = -1;
  int64_t largest_at_last_rebuilt_entry_ = -1;
};

}  // namespace sluice::recovery
