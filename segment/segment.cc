#include "segment/segment.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/check.h"
#include "segment/errors.h"
#include "segment/index_rule.h"

namespace sluice::segment {
namespace {

uint64_t page_size() {
  static const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

// Reads batch headers for a forward scan through a window of the file, so that walking many
// small batches costs one pread per window rather than one per batch.
class HeaderReader {
 public:
  static constexpr size_t kWindow = 16 * 1024;

  HeaderReader(const File& log, uint64_t limit) : log_(log), limit_(limit) {}

  // The header of the batch at pos, or nullopt at the end of [0, limit); the whole batch must
  // lie within the limit.
  Result<std::optional<BatchHeader>> at(uint64_t pos) {
    if (pos >= limit_) return std::optional<BatchHeader>{};
    if (pos + kBatchHeaderSize > limit_) return Errc::truncated;
    if (pos < window_pos_ || pos + kBatchHeaderSize > window_pos_ + window_len_) {
      const auto len = static_cast<size_t>(std::min<uint64_t>(kWindow, limit_ - pos));
      auto n = log_.pread_full(std::span(window_).first(len), pos);
      if (!n) return n.error();
      window_pos_ = pos;
      window_len_ = *n;
      if (*n < kBatchHeaderSize) return Errc::truncated;
    }
    auto h = parse_header(std::span(window_).subspan(pos - window_pos_, kBatchHeaderSize));
    if (!h) return h.error();
    if (pos + h->size_bytes() > limit_) return Errc::truncated;
    return std::optional<BatchHeader>(*h);
  }

 private:
  const File& log_;
  uint64_t limit_;
  std::array<std::byte, kWindow> window_;
  uint64_t window_pos_ = 0;
  size_t window_len_ = 0;
};

}  // namespace

// The bytes of a run of batches laid end to end from file position `pos`, by file position.
class Segment::RunBytes {
 public:
  RunBytes(std::span<const StampedBatch> batches, uint64_t pos) : batches_(batches), pos_(pos) {}

  // Adds the pieces of the batches that cover [from, to) to `out`.
  void spans(uint64_t from, uint64_t to, std::vector<std::span<const std::byte>>& out) const {
    pieces(from, to, [&](uint64_t, std::span<const std::byte> piece) { out.push_back(piece); });
  }

  // Copies [from, to) to dst.
  void copy(uint64_t from, uint64_t to, std::byte* dst) const {
    pieces(from, to, [&](uint64_t at, std::span<const std::byte> piece) {
      std::memcpy(dst + (at - from), piece.data(), piece.size());
    });
  }

 private:
  // Calls f(position, bytes) for each batch's part of [from, to), in order.
  template <class F>
  void pieces(uint64_t from, uint64_t to, F f) const {
    uint64_t at = pos_;
    for (const auto& b : batches_) {
      const uint64_t b_end = at + b.bytes.size();
      if (b_end > from && at < to) {
        const uint64_t lo = std::max(at, from);
        const uint64_t hi = std::min(b_end, to);
        f(lo, b.bytes.subspan(lo - at, hi - lo));
      }
      if (b_end >= to) break;
      at = b_end;
    }
  }

  std::span<const StampedBatch> batches_;
  uint64_t pos_;
};

DirectBuffer::DirectBuffer(size_t capacity)
    : data_(static_cast<std::byte*>(std::aligned_alloc(kAlignment, capacity))),
      capacity_(capacity) {
  SLUICE_CHECK(capacity > 0 && capacity % kAlignment == 0, "direct buffer of {} bytes", capacity);
  SLUICE_CHECK(data_ != nullptr, "cannot allocate a direct buffer of {} bytes", capacity);
}

namespace {

std::filesystem::path file_path(const std::filesystem::path& dir, Offset base,
                                std::string_view suffix) {
  return dir / segment_file_name(base, suffix);
}

}  // namespace

int LogSlice::fd() const { return segment->fd(); }

Result<void> LogSlice::read_into(std::span<std::byte> out) const {
  SLUICE_CHECK(out.size() == length, "buffer of {} bytes for a slice of {}", out.size(), length);
  auto n = pread_full(segment->fd(), out, position.value);
  if (!n) return n.error();
  if (*n != length) return Errc::truncated;
  return {};
}

Result<std::unique_ptr<std::byte[]>> LogSlice::read_bytes() const {
  auto out = std::make_unique_for_overwrite<std::byte[]>(length);
  if (auto r = read_into({out.get(), length}); !r) return r.error();
  return out;
}

Result<std::string> LogSlice::read() const {
  std::string out(length, '\0');
  if (auto r = read_into({reinterpret_cast<std::byte*>(out.data()), out.size()}); !r) {
    return r.error();
  }
  return out;
}

Segment::Segment(std::filesystem::path dir, Offset base, SegmentOptions options, File log,
                 index::OffsetIndex offset_index, index::TimeIndex time_index, int64_t created_ms)
    : dir_(std::move(dir)),
      base_(base),
      options_(options),
      log_(std::move(log)),
      offset_index_(std::move(offset_index)),
      time_index_(std::move(time_index)),
      created_ms_(created_ms),
      next_offset_(base.value),
      offset_of_max_timestamp_(base) {}

std::filesystem::path Segment::log_path() const { return file_path(dir_, base_, kLogSuffix); }

Result<std::shared_ptr<Segment>> Segment::create(const std::filesystem::path& dir, Offset base,
                                                 const SegmentOptions& options, int64_t now_ms) {
  auto log = File::open(file_path(dir, base, kLogSuffix), O_RDWR | O_CREAT);
  if (!log) return log.error();
  auto size = log->size();
  if (!size) return size.error();
  if (*size != 0) return errno_code(EEXIST);
  auto oi = index::OffsetIndex::open(file_path(dir, base, kIndexSuffix), base,
                                     options.index_max_bytes, true);
  if (!oi) return oi.error();
  auto ti = index::TimeIndex::open(file_path(dir, base, kTimeIndexSuffix), base,
                                   options.index_max_bytes, true);
  if (!ti) return ti.error();
  return std::make_shared<Segment>(dir, base, options, std::move(*log), std::move(*oi),
                                   std::move(*ti), now_ms);
}

Result<std::shared_ptr<Segment>> Segment::open(const std::filesystem::path& dir, Offset base,
                                               const SegmentOptions& options, bool active,
                                               int64_t now_ms) {
  auto log = File::open(file_path(dir, base, kLogSuffix), active ? O_RDWR : O_RDONLY);
  if (!log) return log.error();
  auto oi = index::OffsetIndex::open(file_path(dir, base, kIndexSuffix), base,
                                     options.index_max_bytes, active);
  if (!oi) return oi.error();
  auto ti = index::TimeIndex::open(file_path(dir, base, kTimeIndexSuffix), base,
                                   options.index_max_bytes, active);
  if (!ti) return ti.error();
  auto segment = std::make_shared<Segment>(dir, base, options, std::move(*log), std::move(*oi),
                                           std::move(*ti), now_ms);
  segment->sealed_ = !active;
  // A crash may have left blocks reserved past the end of the active segment.
  segment->maybe_reserved_ = active;
  if (auto r = segment->load_tail(); !r) return r.error();
  return segment;
}

Result<void> Segment::load_tail() {
  auto size = log_.size();
  if (!size) return size.error();
  size_.store(*size, std::memory_order_release);
  if (auto last = time_index_.last()) {
    max_timestamp_.store(last->timestamp_ms);
    offset_of_max_timestamp_ = last->offset;
  }
  uint64_t pos = 0;
  if (auto entry = offset_index_.last()) pos = entry->position.value;
  HeaderReader headers(log_, *size);
  while (true) {
    auto h = headers.at(pos);
    if (!h) return h.error();
    if (!*h) break;
    const BatchHeader& header = **h;
    if (header.max_timestamp > max_timestamp_.load()) {
      max_timestamp_.store(header.max_timestamp);
      offset_of_max_timestamp_ = header.base_offset;
    }
    next_offset_.store(header.next_offset().value);
    pos += header.size_bytes();
  }
  return {};
}

bool Segment::needs_roll(size_t batch_bytes, Offset last_offset, int64_t segment_bytes,
                         int64_t segment_ms, int64_t now_ms) const {
  const uint64_t size = size_bytes();
  if (size == 0) return false;  // an empty segment takes any batch
  if (size + batch_bytes > static_cast<uint64_t>(segment_bytes)) return true;
  if (now_ms - created_ms_ >= segment_ms) return true;
  if (offset_index_.full() || time_index_.full()) return true;
  if (static_cast<uint64_t>(last_offset.value) - static_cast<uint64_t>(base_.value) > UINT32_MAX) {
    return true;
  }
  // Positions are u32 in the offset index.
  return size + batch_bytes > UINT32_MAX;
}

// Segment's side of the indexing rule (segment/index_rule.h): its two index files and its
// largest timestamp. Writer thread only.
class Segment::RuleIndexes {
 public:
  explicit RuleIndexes(Segment& s) : s_(s) {}

  std::optional<index::OffsetEntry> last_offset_entry() const { return s_.offset_index_.last(); }
  std::optional<index::TimeEntry> last_time_entry() const { return s_.time_index_.last(); }
  index::TimeEntry largest_timestamp() const {
    return {s_.max_timestamp_.load(std::memory_order_relaxed), s_.offset_of_max_timestamp_};
  }
  void set_largest_timestamp(index::TimeEntry e) {
    s_.max_timestamp_.store(e.timestamp_ms, std::memory_order_release);
    s_.offset_of_max_timestamp_ = e.offset;
  }
  bool add_offset_entry(index::OffsetEntry e) {
    return s_.offset_index_.append(e.offset, e.position).has_value();
  }
  Result<void> add_time_entry(index::TimeEntry e) {
    return s_.time_index_.append(e.timestamp_ms, e.offset);
  }

 private:
  Segment& s_;
};

Result<void> Segment::maybe_append_time_entry() {
  RuleIndexes indexes(*this);
  return add_time_entry_if_due(indexes);
}

void Segment::index_batch(uint64_t pos, const BatchHeader& header) {
  RuleIndexes indexes(*this);
  segment::index_batch(indexes, options_.index_interval_bytes, pos, header);
}

void Segment::reserve_for(uint64_t end) {
  if (options_.reserve_ahead_bytes == 0 || end <= reserved_to_) return;
  const uint64_t from = size_.load(std::memory_order_relaxed);
  const uint64_t to = end + options_.reserve_ahead_bytes;
  // Whether it is done or not, the next try is a step further on.
  reserved_to_ = to;
  // Best effort: without the reservation the append allocates its blocks itself, and a full
  // disk fails it there with ENOSPC. On a nearly full disk nothing is reserved, so that
  // reservations never hold the last free space another partition's append needs.
  struct statvfs fs {};
  if (::fstatvfs(log_.fd(), &fs) == 0 && static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize <
                                             kReserveHeadroom * options_.reserve_ahead_bytes) {
    return;
  }
  if (::fallocate(log_.fd(), FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from),
                  static_cast<off_t>(to - from)) == 0) {
    maybe_reserved_ = true;
  }
}

Result<void> Segment::release_reserved() {
  if (!maybe_reserved_) return {};
  // ext4 and xfs free the blocks past the end even when the size does not change.
  if (auto r = log_.truncate(size_.load(std::memory_order_relaxed)); !r) return r;
  reservation_freed();
  return {};
}

Result<void> Segment::append(std::span<const std::byte> batch, const BatchHeader& header) {
  const StampedBatch one{batch, header};
  return append(std::span(&one, 1), nullptr);
}

Result<void> Segment::append(std::span<const StampedBatch> batches, DirectBuffer* direct) {
  if (sealed_) return Errc::segment_full;
  if (batches.empty()) return {};
  const uint64_t pos = size_.load(std::memory_order_relaxed);
  uint64_t end = pos;
  for (const auto& b : batches) end += b.bytes.size();
  reserve_for(end);
  if (auto r = write_run(batches, pos, end, direct); !r) {
    // Cut off whatever part of the batches reached the file, so that the file ends with whole
    // batches again; a crash before this is handled by recovery.
    (void)log_.truncate(pos);
    reservation_freed();  // the truncate freed the reserved blocks too
    return r.error();
  }
  uint64_t at = pos;
  for (const auto& b : batches) {
    index_batch(at, b.header);
    at += b.bytes.size();
  }
  size_.store(end, std::memory_order_release);
  next_offset_.store(batches.back().header.next_offset().value, std::memory_order_release);
  return {};
}

Result<void> Segment::write_run(std::span<const StampedBatch> batches, uint64_t pos, uint64_t end,
                                DirectBuffer* direct) {
  if (direct == nullptr && batches.size() == 1) return log_.pwrite_all(batches.front().bytes, pos);
  const RunBytes run(batches, pos);
  std::vector<std::span<const std::byte>> parts;
  auto buffered = [&](uint64_t from, uint64_t to) -> Result<void> {
    if (from >= to) return {};
    parts.clear();
    run.spans(from, to, parts);
    return log_.pwritev_all(parts, from);
  };
  constexpr uint64_t kBlock = DirectBuffer::kAlignment;
  const uint64_t blocks_from = std::min(end, (pos + kBlock - 1) / kBlock * kBlock);
  const uint64_t blocks_to = end / kBlock * kBlock;
  if (direct == nullptr || direct_refused_ || blocks_to <= blocks_from) return buffered(pos, end);
  if (!direct_log_.is_open()) {
    auto f = File::open(log_path(), O_WRONLY | O_DIRECT);
    if (!f) {
      if (f.error() != std::errc::invalid_argument) return f.error();
      direct_refused_ = true;  // the file system does not do O_DIRECT
      return buffered(pos, end);
    }
    direct_log_ = std::move(*f);
  }
  // The partial block at the start goes through the page cache, where the last run left its
  // partial block: a direct write over a cached page would make the kernel write that page back
  // and evict it first. Only whole blocks past it go direct.
  if (auto r = buffered(pos, blocks_from); !r) return r;
  const std::span<std::byte> scratch = direct->bytes();
  for (uint64_t at = blocks_from; at < blocks_to;) {
    const uint64_t n = std::min<uint64_t>(scratch.size(), blocks_to - at);
    run.copy(at, at + n, scratch.data());
    if (auto r = direct_log_.pwrite_all(scratch.first(n), at); !r) {
      if (r.error() != std::errc::invalid_argument) return r;
      // The file system refused this write (or a short write left the rest unaligned): the
      // page cache takes the rest, now and from now on.
      direct_refused_ = true;
      direct_log_.close();
      return buffered(at, end);
    }
    at += n;
  }
  return buffered(blocks_to, end);
}

Result<LogSlice> Segment::read(Offset start, uint64_t max_bytes, uint64_t max_position,
                               Offset upto) const {
  LogSlice slice{shared_from_this(), {}, 0, start, start};
  const uint64_t limit = std::min(max_position, size_bytes());
  uint64_t pos = 0;
  if (auto entry = offset_index_.floor(start)) pos = entry->position.value;
  // Skip the batches that end before start.
  HeaderReader headers(log_, limit);
  std::optional<BatchHeader> h;
  while (true) {
    auto r = headers.at(pos);
    if (!r) return r.error();
    h = *r;
    if (!h) return slice;
    if (h->next_offset() > start) break;
    pos += h->size_bytes();
  }
  if (h->next_offset() > upto) return slice;
  slice.position = {pos};
  slice.first_base_offset = h->base_offset;
  // The first batch goes in whatever its size.
  uint64_t end = pos + h->size_bytes();
  slice.next_offset = h->next_offset();
  // Every batch before the last indexed batch start within max_bytes fits: jump there instead
  // of reading each header on the way (a fetch over small batches would read them all).
  const uint64_t budget_end = max_bytes > limit - pos ? limit : pos + max_bytes;
  if (auto e = offset_index_.floor_position(FilePos{budget_end});
      e && e->position.value > end && e->position.value <= limit && e->offset <= upto) {
    end = e->position.value;
    slice.next_offset = e->offset;
  }
  while (true) {
    auto r = headers.at(end);
    if (!r) return r.error();
    if (!*r || end - pos + (*r)->size_bytes() > max_bytes || (*r)->next_offset() > upto) break;
    end += (*r)->size_bytes();
    slice.next_offset = (*r)->next_offset();
  }
  slice.length = end - pos;
  return slice;
}

Result<std::optional<Offset>> Segment::offset_for_timestamp(int64_t timestamp_ms) const {
  const uint64_t limit = size_bytes();
  if (max_timestamp() < timestamp_ms) return std::optional<Offset>{};
  Offset from = base_;
  if (auto t = time_index_.last_before(timestamp_ms)) from = t->offset;
  uint64_t pos = 0;
  if (auto entry = offset_index_.floor(from)) pos = entry->position.value;
  std::string bytes;
  HeaderReader headers(log_, limit);
  while (true) {
    auto r = headers.at(pos);
    if (!r) return r.error();
    if (!*r) return std::optional<Offset>{};
    const BatchHeader& h = **r;
    if (h.max_timestamp >= timestamp_ms) {
      if (h.timestamp_type() == TimestampType::log_append_time) return {h.base_offset};
      bytes.resize(h.size_bytes());
      auto n = log_.pread_full({reinterpret_cast<std::byte*>(bytes.data()), bytes.size()}, pos);
      if (!n) return n.error();
      const auto span = std::span(reinterpret_cast<const std::byte*>(bytes.data()), *n);
      auto valid = validate_batch(span);
      if (!valid) return valid.error();
      RecordReader reader(span);
      while (auto rec = reader.next()) {
        if (rec->timestamp_ms >= timestamp_ms) return std::optional<Offset>(rec->offset);
      }
    }
    pos += h.size_bytes();
  }
}

Result<void> Segment::truncate_to(Offset offset) {
  const uint64_t limit = size_bytes();
  uint64_t pos = 0;
  if (auto entry = offset_index_.floor(offset)) pos = entry->position.value;
  HeaderReader headers(log_, limit);
  while (true) {
    auto r = headers.at(pos);
    if (!r) return r.error();
    if (!*r || (*r)->last_offset() >= offset) break;
    pos += (*r)->size_bytes();
  }
  if (pos >= limit) return {};
  if (auto r = log_.truncate(pos); !r) return r;
  reservation_freed();  // the truncate freed the reserved blocks too
  // Rebuild the in-memory state from scratch: truncation is rare and this keeps the indexing
  // rule in one place.
  offset_index_.truncate_to(base_);
  time_index_.truncate_to(base_);
  size_.store(0, std::memory_order_release);
  next_offset_.store(base_.value, std::memory_order_release);
  max_timestamp_.store(-1);
  offset_of_max_timestamp_ = base_;
  uint64_t p = 0;
  HeaderReader kept(log_, pos);
  while (true) {
    auto r = kept.at(p);
    if (!r) return r.error();
    if (!*r) break;
    index_batch(p, **r);
    p += (*r)->size_bytes();
    next_offset_.store((*r)->next_offset().value, std::memory_order_release);
  }
  size_.store(pos, std::memory_order_release);
  // Appends overwrite from pos on; their pages are new and the flusher drops them in turn.
  const uint64_t kept_page = pos / page_size() * page_size();
  uint64_t dropped = cache_dropped_.load(std::memory_order_relaxed);
  while (dropped > kept_page && !cache_dropped_.compare_exchange_weak(dropped, kept_page)) {
  }
  return {};
}

Result<void> Segment::seal() {
  if (sealed_) return {};
  if (auto r = maybe_append_time_entry(); !r) return r;
  if (auto r = offset_index_.trim(); !r) return r;
  if (auto r = time_index_.trim(); !r) return r;
  if (auto r = release_reserved(); !r) return r;
  direct_log_.close();
  sealed_ = true;
  return {};
}

Result<void> Segment::flush() const { return log_.datasync(); }

bool Segment::drop_cached_pages(uint64_t position) {
  const uint64_t page = page_size();
  // Whole pages only: the partial page at the end of an active segment is where the next
  // append writes, and dropping it would make that append read it back from the disk.
  const uint64_t end = position == kWholeFile ? (size_bytes() + page - 1) / page * page
                                              : std::min(position, size_bytes()) / page * page;
  const uint64_t from = cache_dropped_.load(std::memory_order_relaxed);
  if (end <= from) return false;
  ::posix_fadvise(log_.fd(), static_cast<off_t>(from), static_cast<off_t>(end - from),
                  POSIX_FADV_DONTNEED);
  cache_dropped_.store(end, std::memory_order_relaxed);
  return true;
}

Result<void> Segment::flush_indexes() {
  if (auto r = offset_index_.flush(); !r) return r;
  return time_index_.flush();
}

Result<void> Segment::close_indexes() {
  if (auto r = flush_indexes(); !r) return r;
  if (auto r = offset_index_.trim(); !r) return r;
  if (auto r = time_index_.trim(); !r) return r;
  return release_reserved();
}

}  // namespace sluice::segment
