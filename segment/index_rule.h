#pragma once

#include <cstdint>
#include <optional>

#include "common/result.h"
#include "common/types.h"
#include "index/format.h"
#include "segment/batch.h"

namespace sluice::segment {

// The indexing rule (docs/FORMAT.md, "Indexing rule"), in one place: Segment follows it as it
// appends, and recovery replays it over a scan to rebuild an index.
//
// A batch at position `pos` gets an offset entry (its base offset, pos) when the offset index is
// empty or pos is at least `interval_bytes` past the last entry's position. After each offset
// entry, and when the segment is sealed (add_time_entry_if_due), the time index gets (largest
// timestamp so far, base offset of the first batch that reached it) if that timestamp exceeds
// the last time entry's (or, with no time entry yet, is not negative).
//
// `Indexes` is what the rule reads and writes:
//   std::optional<index::OffsetEntry> last_offset_entry() const;
//   std::optional<index::TimeEntry> last_time_entry() const;
//   index::TimeEntry largest_timestamp() const;    // {-1, base} before the first batch
//   void set_largest_timestamp(index::TimeEntry);
//   bool add_offset_entry(index::OffsetEntry);     // false when the index refuses it (full)
//   Result<void> add_time_entry(index::TimeEntry);
template <class Indexes>
Result<void> add_time_entry_if_due(Indexes& indexes) {
  const index::TimeEntry largest = indexes.largest_timestamp();
  const auto last = indexes.last_time_entry();
  if (last ? last->timestamp_ms >= largest.timestamp_ms : largest.timestamp_ms < 0) return {};
  return indexes.add_time_entry(largest);
}

template <class Indexes>
void index_batch(Indexes& indexes, uint64_t interval_bytes, uint64_t pos,
                 const BatchHeader& header) {
  if (header.max_timestamp > indexes.largest_timestamp().timestamp_ms) {
    indexes.set_largest_timestamp({header.max_timestamp, header.base_offset});
  }
  const auto last = indexes.last_offset_entry();
  if (last && pos - last->position.value < interval_bytes) return;
  // A full index refuses the entry, and the segment rolls before its next append.
  if (!indexes.add_offset_entry({header.base_offset, FilePos{pos}})) return;
  // A full time index refuses the entry too; the offset index still has its entry.
  (void)add_time_entry_if_due(indexes);
}

}  // namespace sluice::segment
