#include "recovery/segment_scan.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <stop_token>
#include <thread>

#include "common/file.h"
#include "recovery/errors.h"
#include "segment/errors.h"
#include "segment/index_rule.h"

namespace sluice::recovery {
namespace {

// Reads a file into the page cache ahead of a sequential scan, on its own thread, staying at
// most kAhead bytes in front of the position the scan reports. On a cold file the disk then
// keeps reading while the scan validates, instead of the two taking turns at page faults.
class Prefetcher {
 public:
  static constexpr uint64_t kAhead = 64 << 20;
  static constexpr uint64_t kStep = 4 << 20;

  Prefetcher(int fd, uint64_t size)
      : thread_([this, fd, size](std::stop_token stop) { run(stop, fd, size); }) {}
  ~Prefetcher() { thread_.request_stop(); }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // The scan has reached `pos`.
  void advance(uint64_t pos) {
    {
      std::lock_guard lock(mu_);
      pos_ = pos;
    }
    cv_.notify_one();
  }

 private:
  void run(std::stop_token stop, int fd, uint64_t size) {
    uint64_t done = 0;
    while (done < size) {
      {
        std::unique_lock lock(mu_);
        if (!cv_.wait(lock, stop, [&] { return done < pos_ + kAhead; })) return;
      }
      (void)::readahead(fd, static_cast<off64_t>(done), kStep);
      done += kStep;
    }
  }

  std::mutex mu_;
  std::condition_variable_any cv_;
  uint64_t pos_ = 0;  // guarded by mu_
  std::jthread thread_;
};

// The scan's side of the indexing rule (segment/index_rule.h): the rebuilt entries, refused
// where the index files would refuse them (out of order, not fitting 32 bits, or full).
class RebuiltIndexes {
 public:
  RebuiltIndexes(SegmentScan& scan, const RecoveryOptions& options)
      : scan_(scan),
        offset_capacity_(options.index_max_bytes / index::kOffsetEntrySize),
        time_capacity_(options.index_max_bytes / index::kTimeEntrySize),
        largest_{-1, scan.base} {}

  std::optional<index::OffsetEntry> last_offset_entry() const {
    return last_of(scan_.offset_entries);
  }
  std::optional<index::TimeEntry> last_time_entry() const { return last_of(scan_.time_entries); }
  index::TimeEntry largest_timestamp() const { return largest_; }
  void set_largest_timestamp(index::TimeEntry e) { largest_ = e; }
  bool add_offset_entry(index::OffsetEntry e) {
    return add<index::OffsetLayout>(scan_.offset_entries, e, offset_capacity_).has_value();
  }
  Result<void> add_time_entry(index::TimeEntry e) {
    return add<index::TimeLayout>(scan_.time_entries, e, time_capacity_);
  }

 private:
  template <class Entry>
  static std::optional<Entry> last_of(const std::vector<Entry>& entries) {
    if (entries.empty()) return std::nullopt;
    return entries.back();
  }

  template <class Layout>
  Result<void> add(std::vector<typename Layout::Entry>& entries, const typename Layout::Entry& e,
                   size_t capacity) {
    if (!entries.empty() && !Layout::ordered(entries.back(), e)) {
      return index::Errc::not_increasing;
    }
    if (auto ec = Layout::check_fits(e, scan_.base)) return ec;
    if (entries.size() >= capacity) return index::Errc::index_full;
    entries.push_back(e);
    return {};
  }

  SegmentScan& scan_;
  size_t offset_capacity_;
  size_t time_capacity_;
  index::TimeEntry largest_;
};

template <class Layout>
std::string encode(std::span<const typename Layout::Entry> entries, Offset base, size_t pad_to) {
  std::string out(std::max(entries.size() * Layout::kEntrySize, pad_to), '\0');
  auto* p = reinterpret_cast<std::byte*>(out.data());
  for (const auto& e : entries) {
    Layout::encode(p, e, base);
    p += Layout::kEntrySize;
  }
  return out;
}

size_t preallocated(size_t max_bytes, size_t entry_size) {
  return max_bytes / entry_size * entry_size;
}

}  // namespace

std::string SegmentScan::describe_error() const {
  if (!error) return {};
  return fmt::format("{} at position {} of {} bytes", error.message(), valid_bytes, file_bytes);
}

Result<segment::BatchHeader> check_batch(std::span<const std::byte> rest, Offset expected,
                                         Offset segment_base) {
  if (rest.size() < segment::kBatchHeaderSize) return segment::Errc::truncated;
  auto h = segment::parse_header(rest);
  if (!h) return h;
  if (h->size_bytes() > rest.size()) return segment::Errc::truncated;
  auto v = segment::validate_batch(rest.first(h->size_bytes()));
  if (!v) return v;
  if (v->base_offset != expected) return Errc::non_contiguous_offset;
  if (v->first_timestamp < 0 || v->max_timestamp < 0) return Errc::negative_timestamp;
  // The next offset must exist: the last one stays below INT64_MAX (the delta is >= 0, as the
  // record count is at least 1). Then the last offset cannot have wrapped, and it must lie
  // within 32 bits above the segment's base.
  if (v->base_offset.value >= std::numeric_limits<int64_t>::max() - v->last_offset_delta) {
    return Errc::offset_overflow;
  }
  const int64_t last = v->last_offset().value;
  if (last < segment_base.value ||
      static_cast<uint64_t>(last) - static_cast<uint64_t>(segment_base.value) >
          std::numeric_limits<uint32_t>::max()) {
    return Errc::offset_overflow;
  }
  return v;
}

Result<SegmentScan> scan_segment(const std::filesystem::path& log_path, Offset base,
                                 const RecoveryOptions& options, const ExistingIndexes& existing,
                                 std::atomic<uint64_t>* bytes_done,
                                 std::optional<int32_t> previous_epoch) {
  auto file = File::open(log_path, O_RDONLY);
  if (!file) return file.error();
  auto size = file->size();
  if (!size) return size.error();
  SegmentScan scan;
  scan.base = base;
  scan.next_offset = base;
  scan.file_bytes = *size;
  ReadOnlyMapping mapping;
  if (auto r = mapping.map(file->fd(), *size); !r) return r.error();
  const auto bytes = mapping.bytes();
  RebuiltIndexes rebuilt(scan, options);
  IndexCheck check(existing.offset_bytes, existing.time_bytes, base, options.index_interval_bytes,
                   options.index_max_bytes);
  Prefetcher prefetcher(file->fd(), *size);
  constexpr uint64_t kProgressStep = 4 << 20;
  uint64_t pos = 0;
  uint64_t reported = 0;
  while (pos < bytes.size()) {
    auto h = check_batch(bytes.subspan(pos), scan.next_offset, base);
    if (!h) {
      scan.error = h.error();
      break;
    }
    // No replica accepts data across a lower epoch, so a log never holds one after a higher.
    if (previous_epoch && h->leader_epoch < *previous_epoch) {
      scan.error = Errc::epoch_decreased;
      break;
    }
    if (!previous_epoch || h->leader_epoch > *previous_epoch) {
      scan.epochs.push_back({h->leader_epoch, h->base_offset.value});
    }
    previous_epoch = h->leader_epoch;
    const size_t entries = scan.offset_entries.size();
    segment::index_batch(rebuilt, options.index_interval_bytes, pos, *h);
    check.add(pos, *h, rebuilt.largest_timestamp().timestamp_ms,
              scan.offset_entries.size() > entries);
    scan.next_offset = h->next_offset();
    ++scan.batches;
    scan.records += static_cast<uint64_t>(h->record_count);
    pos += h->size_bytes();
    if (pos - reported >= kProgressStep) {
      if (bytes_done != nullptr) bytes_done->fetch_add(pos - reported, std::memory_order_relaxed);
      reported = pos;
      prefetcher.advance(pos);
    }
  }
  scan.valid_bytes = pos;
  check.finish();
  scan.offset_index = check.offset_verdict();
  scan.time_index = check.time_verdict();
  scan.largest_at_last_offset_entry = check.largest_at_last_entry();
  // What seal() would add: kept apart, as only a sealed segment's index holds it.
  const size_t time_entries = scan.time_entries.size();
  (void)segment::add_time_entry_if_due(rebuilt);
  if (scan.time_entries.size() > time_entries) {
    scan.seal_adds_entry = true;
    scan.seal_entry = scan.time_entries.back();
    scan.time_entries.pop_back();
  }
  if (bytes_done != nullptr) bytes_done->fetch_add(*size - reported, std::memory_order_relaxed);
  return scan;
}

std::string offset_index_bytes(const SegmentScan& scan, const RecoveryOptions& options,
                               bool sealed) {
  const size_t pad = sealed ? 0 : preallocated(options.index_max_bytes, index::kOffsetEntrySize);
  return encode<index::OffsetLayout>(scan.offset_entries, scan.base, pad);
}

std::string time_index_bytes(const SegmentScan& scan, const RecoveryOptions& options, bool sealed) {
  if (!sealed) {
    return encode<index::TimeLayout>(scan.time_entries, scan.base,
                                     preallocated(options.index_max_bytes, index::kTimeEntrySize));
  }
  std::vector<index::TimeEntry> entries = scan.time_entries;
  if (scan.seal_adds_entry) entries.push_back(scan.seal_entry);
  return encode<index::TimeLayout>(entries, scan.base, 0);
}

}  // namespace sluice::recovery
