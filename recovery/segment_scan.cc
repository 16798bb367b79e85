#include "recovery/segment_scan.h"

#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <limits>

#include "common/file.h"
#include "recovery/errors.h"
#include "segment/errors.h"

namespace sluice::recovery {
namespace {

// Read-only mapping of a whole file; unmapped on destruction.
class Mapping {
 public:
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping() = default;
  ~Mapping() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  [[nodiscard]] Result<void> map(int fd, size_t size) {
    if (size == 0) return {};
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return errno_code(errno);
    data_ = p;
    size_ = size;
    (void)::madvise(p, size, MADV_SEQUENTIAL);
    return {};
  }
  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// segment::Segment's indexing rule (see its class comment, index_batch and
// maybe_append_time_entry), replayed over a scan, including what the index files refuse: an
// entry not after the last one, or beyond the capacity.
class IndexRule {
 public:
  IndexRule(SegmentScan& scan, const RecoveryOptions& options)
      : scan_(scan),
        interval_(options.index_interval_bytes),
        offset_capacity_(options.index_max_bytes / index::kOffsetEntrySize),
        time_capacity_(options.index_max_bytes / index::kTimeEntrySize) {}

  void add(uint64_t pos, const segment::BatchHeader& h) {
    if (h.max_timestamp > max_timestamp_) {
      max_timestamp_ = h.max_timestamp;
      offset_of_max_timestamp_ = h.base_offset;
    }
    auto& entries = scan_.offset_entries;
    if (!entries.empty() && pos - entries.back().position.value < interval_) return;
    if (!entries.empty() &&
        !(entries.back().offset < h.base_offset && entries.back().position.value < pos)) {
      return;
    }
    if (entries.size() >= offset_capacity_ || pos > std::numeric_limits<uint32_t>::max()) return;
    entries.push_back({h.base_offset, FilePos{pos}});
    if (auto e = time_entry()) scan_.time_entries.push_back(*e);
  }

  void finish() {
    auto e = time_entry();
    scan_.seal_adds_entry = e.has_value();
    if (e) scan_.seal_entry = *e;
  }

 private:
  std::optional<index::TimeEntry> time_entry() const {
    const auto& entries = scan_.time_entries;
    if (!entries.empty() && entries.back().timestamp_ms >= max_timestamp_) return std::nullopt;
    if (entries.empty() && max_timestamp_ < 0) return std::nullopt;
    if (entries.size() >= time_capacity_) return std::nullopt;
    return index::TimeEntry{max_timestamp_, offset_of_max_timestamp_};
  }

  SegmentScan& scan_;
  uint64_t interval_;
  size_t offset_capacity_;
  size_t time_capacity_;
  int64_t max_timestamp_ = -1;
  Offset offset_of_max_timestamp_;
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
                                         Offset segment_base, int64_t max_message_bytes) {
  if (rest.size() < segment::kBatchHeaderSize) return segment::Errc::truncated;
  auto h = segment::parse_header(rest);
  if (!h) return h;
  if (h->size_bytes() > static_cast<uint64_t>(std::max<int64_t>(max_message_bytes, 0))) {
    return segment::Errc::batch_too_large;
  }
  if (h->size_bytes() > rest.size()) return segment::Errc::truncated;
  auto v = segment::validate_batch(rest.first(h->size_bytes()));
  if (!v) return v;
  if (v->base_offset != expected) return Errc::non_contiguous_offset;
  if (v->first_timestamp < 0 || v->max_timestamp < 0) return Errc::negative_timestamp;
  if (v->last_offset().value - segment_base.value > std::numeric_limits<uint32_t>::max()) {
    return Errc::offset_overflow;
  }
  return v;
}

Result<SegmentScan> scan_segment(const std::filesystem::path& log_path, Offset base,
                                 const RecoveryOptions& options,
                                 std::atomic<uint64_t>* bytes_done) {
  auto file = File::open(log_path, O_RDONLY);
  if (!file) return file.error();
  auto size = file->size();
  if (!size) return size.error();
  SegmentScan scan;
  scan.base = base;
  scan.next_offset = base;
  scan.file_bytes = *size;
  Mapping mapping;
  if (auto r = mapping.map(file->fd(), *size); !r) return r.error();
  const auto bytes = mapping.bytes();
  IndexRule rule(scan, options);
  constexpr uint64_t kProgressStep = 4 << 20;
  uint64_t pos = 0;
  uint64_t reported = 0;
  while (pos < bytes.size()) {
    auto h = check_batch(bytes.subspan(pos), scan.next_offset, base, options.max_message_bytes);
    if (!h) {
      scan.error = h.error();
      break;
    }
    rule.add(pos, *h);
    scan.next_offset = h->next_offset();
    ++scan.batches;
    scan.records += static_cast<uint64_t>(h->record_count);
    pos += h->size_bytes();
    if (bytes_done != nullptr && pos - reported >= kProgressStep) {
      bytes_done->fetch_add(pos - reported, std::memory_order_relaxed);
      reported = pos;
    }
  }
  scan.valid_bytes = pos;
  rule.finish();
  if (bytes_done != nullptr) bytes_done->fetch_add(*size - reported, std::memory_order_relaxed);
  return scan;
}

std::string offset_index_bytes(const SegmentScan& scan, const RecoveryOptions& options,
                               bool sealed) {
  const size_t pad = sealed ? 0 : preallocated(options.index_max_bytes, index::kOffsetEntrySize);
  return encode<index::detail::OffsetLayout>(scan.offset_entries, scan.base, pad);
}

std::string time_index_bytes(const SegmentScan& scan, const RecoveryOptions& options, bool sealed) {
  if (!sealed) {
    return encode<index::detail::TimeLayout>(
        scan.time_entries, scan.base, preallocated(options.index_max_bytes, index::kTimeEntrySize));
  }
  std::vector<index::TimeEntry> entries = scan.time_entries;
  if (scan.seal_adds_entry) entries.push_back(scan.seal_entry);
  return encode<index::detail::TimeLayout>(entries, scan.base, 0);
}

bool offset_index_matches(std::string_view existing, const SegmentScan& scan,
                          const RecoveryOptions& options, bool sealed) {
  if (existing == offset_index_bytes(scan, options, sealed)) return true;
  return !sealed && existing == offset_index_bytes(scan, options, true);
}

bool time_index_matches(std::string_view existing, const SegmentScan& scan,
                        const RecoveryOptions& options, bool sealed) {
  if (existing == time_index_bytes(scan, options, sealed)) return true;
  return !sealed && existing == encode<index::detail::TimeLayout>(scan.time_entries, scan.base, 0);
}

}  // namespace sluice::recovery
