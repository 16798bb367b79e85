#include "recovery/segment_scan.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <stop_token>
#include <thread>

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
    rule.add(pos, *h);
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
  rule.finish();
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

bool offset_index_matches(std::string_view existing, const SegmentScan& scan,
                          const RecoveryOptions& options, bool sealed) {
  if (existing == offset_index_bytes(scan, options, sealed)) return true;
  return !sealed && existing == offset_index_bytes(scan, options, true);
}

bool time_index_matches(std::string_view existing, const SegmentScan& scan,
                        const RecoveryOptions& options, bool sealed) {
  if (existing == time_index_bytes(scan, options, sealed)) return true;
  return !sealed && existing == encode<index::TimeLayout>(scan.time_entries, scan.base, 0);
}

}  // namespace sluice::recovery
