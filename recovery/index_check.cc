#include "recovery/index_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace sluice::recovery {
namespace {

// The entries of an index file as the index classes read them (the first entry, then each one
// the layout says continues), and what is wrong with the bytes around them.
template <class Layout>
std::vector<typename Layout::Entry> read_entries(std::string_view bytes, Offset base,
                                                 IndexVerdict& verdict) {
  std::vector<typename Layout::Entry> entries;
  const auto* p = reinterpret_cast<const std::byte*>(bytes.data());
  const size_t slots = bytes.size() / Layout::kEntrySize;
  for (size_t i = 0; i < slots; ++i) {
    const auto e = Layout::decode(p + i * Layout::kEntrySize, base);
    if (!entries.empty() && !Layout::continues(entries.back(), e, base)) break;
    entries.push_back(e);
  }
  const size_t used = entries.size() * Layout::kEntrySize;
  verdict.trimmed = used == bytes.size();
  if (bytes.size() % Layout::kEntrySize != 0) {
    verdict.problem = fmt::format("ends with a partial entry ({} bytes)", bytes.size());
  } else if (std::any_of(bytes.begin() + static_cast<std::ptrdiff_t>(used), bytes.end(),
                         [](char c) { return c != 0; })) {
    verdict.problem = fmt::format("entry {} does not follow the one before it", entries.size());
  } else {
    for (size_t i = 1; i < entries.size(); ++i) {
      if (!Layout::ordered(entries[i - 1], entries[i])) {
        verdict.problem = fmt::format("entry {} does not follow the one before it", i);
        break;
      }
    }
  }
  return entries;
}

}  // namespace

IndexCheck::IndexCheck(std::optional<std::string_view> offset_bytes,
                       std::optional<std::string_view> time_bytes, Offset base,
                       uint64_t interval_bytes, size_t index_max_bytes)
    : base_(base),
      interval_bytes_(interval_bytes),
      offset_capacity_(index_max_bytes / index::kOffsetEntrySize),
      time_capacity_(index_max_bytes / index::kTimeEntrySize) {
  offset_.present = offset_bytes.has_value();
  time_.present = time_bytes.has_value();
  if (offset_bytes) {
    offsets_ = read_entries<index::OffsetLayout>(*offset_bytes, base, offset_);
  } else {
    offset_.problem = "missing";
  }
  if (time_bytes) {
    times_ = read_entries<index::TimeLayout>(*time_bytes, base, time_);
  } else {
    time_.problem = "missing";
  }
}

void IndexCheck::add(uint64_t pos, const segment::BatchHeader& header, int64_t largest,
                     bool rebuilt_entry) {
  ++batches_;
  largest_ = largest;
  if (rebuilt_entry) largest_at_last_rebuilt_entry_ = largest;
  if (offset_.problem.empty()) check_offset_entry(pos, header, largest);
  if (time_.problem.empty()) check_time_entry(header, largest);
}

void IndexCheck::check_offset_entry(uint64_t pos, const segment::BatchHeader& header,
                                    int64_t largest) {
  const size_t i = next_offset_entry_;
  if (i < offsets_.size() && offsets_[i].position.value == pos) {
    if (offsets_[i].offset != header.base_offset) {
      offset_.problem =
          fmt::format("entry {} (offset {}, position {}) names another offset than the batch's {}",
                      i, offsets_[i].offset.value, pos, header.base_offset.value);
    }
    covered_to_ = pos;
    largest_at_last_entry_ = largest;
    ++next_offset_entry_;
  } else if (i < offsets_.size() && offsets_[i].position.value < pos + header.size_bytes()) {
    // Entries increase and every batch start before this one matched its entry: this one
    // points inside the batch.
    offset_.problem = fmt::format("entry {} (offset {}, position {}) is not at a batch's start", i,
                                  offsets_[i].offset.value, offsets_[i].position.value);
  } else if (pos - covered_to_ >= interval_bytes_) {
    // A batch without an entry must start less than the interval past the entry before it, so
    // a gap spans at most the interval plus one batch. The writer could not index a batch past
    // a full index or past the 32 bits of a position.
    const bool full = i == offsets_.size() && offsets_.size() >= offset_capacity_;
    if (!full && pos <= std::numeric_limits<uint32_t>::max()) {
      offset_.problem = fmt::format(
          "too sparse: the batch at position {} has no entry and starts {} bytes after {} "
          "(index.interval.bytes is {})",
          pos, pos - covered_to_, i == 0 ? "the start" : "the last entry", interval_bytes_);
    }
  }
}

void IndexCheck::check_time_entry(const segment::BatchHeader& header, int64_t largest) {
  const size_t j = next_time_entry_;
  if (j >= times_.size()) return;
  const index::TimeEntry& e = times_[j];
  if (e.offset < header.base_offset) {
    time_.problem = fmt::format("entry {} (timestamp {}, offset {}) is not a batch's first offset",
                                j, e.timestamp_ms, e.offset.value);
  } else if (e.offset == header.base_offset) {
    // The entry says: no batch up to here has a larger timestamp, and this one has it.
    if (e.timestamp_ms != header.max_timestamp || e.timestamp_ms != largest) {
      time_.problem = fmt::format(
          "entry {} (timestamp {}, offset {}) is not the largest timestamp so far ({}) of the "
          "batch there (whose largest is {})",
          j, e.timestamp_ms, e.offset.value, largest, header.max_timestamp);
    }
    ++next_time_entry_;
  }
}

void IndexCheck::finish() {
  // An all-zero preallocated file reads as one entry at (base, 0): the writer's index of an
  // empty segment.
  const bool empty_log = batches_ == 0;
  if (offset_.problem.empty() && next_offset_entry_ < offsets_.size() &&
      !(empty_log && offsets_.size() == 1 &&
        offsets_[0] == index::OffsetEntry{base_, FilePos{0}})) {
    const auto& e = offsets_[next_offset_entry_];
    offset_.problem = fmt::format("entry {} (offset {}, position {}) lies past the last batch",
                                  next_offset_entry_, e.offset.value, e.position.value);
  }
  if (!time_.problem.empty()) return;
  if (next_time_entry_ < times_.size() &&
      !(empty_log && times_.size() == 1 && times_[0] == index::TimeEntry{0, base_})) {
    const auto& e = times_[next_time_entry_];
    time_.problem = fmt::format("entry {} (timestamp {}, offset {}) lies past the last batch",
                                next_time_entry_, e.timestamp_ms, e.offset.value);
    return;
  }
  const int64_t needed =
      offset_.problem.empty() ? largest_at_last_entry_ : largest_at_last_rebuilt_entry_;
  const int64_t reached = times_.empty() || empty_log ? -1 : times_.back().timestamp_ms;
  const bool full = times_.size() >= time_capacity_;
  time_.reaches_end = reached >= largest_ || full;
  if (reached < needed && !full) {
    time_.problem = fmt::format(
        "too sparse: its last timestamp is {}, the batches up to the last offset entry reach {}",
        reached, needed);
  }
}

}  // namespace sluice::recovery
