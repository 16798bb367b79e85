#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/file.h"
#include "common/result.h"
#include "common/types.h"
#include "index/offset_index.h"
#include "index/time_index.h"
#include "segment/batch.h"
#include "segment/layout.h"

namespace sluice::segment {

struct SegmentOptions {
  size_t index_max_bytes = 10 << 20;   // segment.index.bytes
  size_t index_interval_bytes = 4096;  // index.interval.bytes
  // Disk blocks reserved ahead of the .log's end (preallocate); 0 = none.
  uint64_t reserve_ahead_bytes = 0;
};

class Segment;

// A batch stamped for the segment it is appended to.
struct StampedBatch {
  std::span<const std::byte> bytes;
  BatchHeader header;
};

// Aligned memory through which Segment::append copies what it writes with O_DIRECT; used by one
// thread at a time.
class DirectBuffer {
 public:
  static constexpr size_t kAlignment = 4096;  // file offsets, lengths and addresses
  explicit DirectBuffer(size_t capacity = size_t{1} << 20);

  std::span<std::byte> bytes() const { return {data_.get(), capacity_}; }

 private:
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte[], Free> data_;
  size_t capacity_;
};

// Whole batches of one segment, [position, position + length), for sending without copying.
// Holds the segment, so the file stays open even if retention deletes it meanwhile.
struct LogSlice {
  std::shared_ptr<const Segment> segment;
  FilePos position;
  uint64_t length = 0;
  Offset first_base_offset;  // base offset of the first batch in the slice
  Offset next_offset;        // one past the last offset in the slice

  int fd() const;
  bool empty() const { return length == 0; }
  // Copies the slice's bytes into `out`, which holds exactly `length` bytes.
  [[nodiscard]] Result<void> read_into(std::span<std::byte> out) const;
  // Copies the slice's bytes into a new buffer of `length` bytes, not zero-filled first.
  [[nodiscard]] Result<std::unique_ptr<std::byte[]>> read_bytes() const;
  // The same, as a string (zero-filled first: for callers off the hot path).
  [[nodiscard]] Result<std::string> read() const;
};

// One segment: a .log file of record batches plus its sparse offset and time indexes.
//
// Indexes: every append and seal follows the indexing rule of segment/index_rule.h, the one
// function recovery also replays when it rebuilds an index.
//
// Threading: one writer (the partition's writer lock) calls append/seal/truncate/flush;
// readers call read/offset_for_timestamp concurrently. append() writes the bytes and index
// entries before publishing the new size (release), and readers never look past the size
// they loaded (acquire), so they never see a partial batch. Durability: bytes are in the page
// cache (or, written directly, on the device) after append(); durable after flush().
//
// Block reservation: with reserve_ahead_bytes, the active segment's .log has disk blocks
// allocated (fallocate, FALLOC_FL_KEEP_SIZE) up to that far past its end, so an append writes
// into blocks that exist instead of reserving and mapping each 4 KiB block itself, which took
// most of a large buffered write's kernel time. The file size stays that of its batches, so
// readers, recovery and the on-disk format are unaffected; seal() and close_indexes() give the
// unused blocks back. A crash leaves them allocated until the segment is next sealed or closed.
// Nothing is reserved while the file system has less than 16 steps free.
class Segment : public std::enable_shared_from_this<Segment> {
 public:
  // Creates a new, empty segment; fails if its files exist with content.
  [[nodiscard]] static Result<std::shared_ptr<Segment>> create(const std::filesystem::path& dir,
                                                               Offset base,
                                                               const SegmentOptions& options,
                                                               int64_t now_ms);
  // Opens an existing segment whose .log was validated by recovery. Finds the next offset and
  // largest timestamp by scanning from the last offset-index entry. Sealed segments are opened
  // read-only.
  [[nodiscard]] static Result<std::shared_ptr<Segment>> open(const std::filesystem::path& dir,
                                                             Offset base,
                                                             const SegmentOptions& options,
                                                             bool active, int64_t now_ms);

  // Appends one stamped, validated batch whose base offset is next_offset().
  [[nodiscard]] Result<void> append(std::span<const std::byte> batch, const BatchHeader& header);
  // Appends stamped, validated batches that follow each other from next_offset(); all of them,
  // or (after a failed write) none. The whole 4 KiB blocks of the run are written with O_DIRECT
  // through `direct` when it is given and the file system takes it, bypassing the page cache:
  // for a writer that syncs right after (the group-commit flusher), the page cache would only
  // cost new pages and their writeback. The partial blocks at either end go through it, so no
  // direct write ever covers a cached page. Readers read those blocks back from the disk.
  [[nodiscard]] Result<void> append(std::span<const StampedBatch> batches, DirectBuffer* direct);

  // Whether a batch of `batch_bytes` ending at `last_offset` needs a new segment first. Age
  // counts from when the segment was created or, after a restart, reopened.
  bool needs_roll(size_t batch_bytes, Offset last_offset, int64_t segment_bytes, int64_t segment_ms,
                  int64_t now_ms) const;

  // Whole batches starting with the one holding `start`, up to max_bytes (always at least one
  // batch when there is one), never past `max_position` nor past a batch that ends after
  // `upto`. Empty when `start` is past the end.
  [[nodiscard]] Result<LogSlice> read(Offset start, uint64_t max_bytes, uint64_t max_position,
                                      Offset upto = Offset{INT64_MAX}) const;
  [[nodiscard]] Result<LogSlice> read(Offset start, uint64_t max_bytes) const {
    return read(start, max_bytes, size_bytes());
  }

  // The first offset whose record timestamp is >= timestamp_ms, or nullopt if none here.
  [[nodiscard]] Result<std::optional<Offset>> offset_for_timestamp(int64_t timestamp_ms) const;

  // Removes every batch holding an offset >= offset; next_offset() becomes the base of the
  // first removed batch.
  [[nodiscard]] Result<void> truncate_to(Offset offset);
  // Writes the final time-index entry and trims both indexes; no appends after.
  [[nodiscard]] Result<void> seal();
  // fdatasync of the .log file.
  [[nodiscard]] Result<void> flush() const;
  // Drops the page-cache pages of the .log before `position`, rounded down to a page, that
  // earlier calls have not dropped; kWholeFile (for a sealed segment) drops its last partial
  // page too. Those bytes must be durable: dirty pages are not dropped, only queued for
  // writeback. A hint to the kernel; the data stays readable. Returns whether the range was
  // new. Called by the flusher only.
  static constexpr uint64_t kWholeFile = UINT64_MAX;
  bool drop_cached_pages(uint64_t position);
  // Flushes the indexes' mappings (for a clean stop).
  [[nodiscard]] Result<void> flush_indexes();
  // For a clean stop of the active segment: flushes the indexes and trims them to their
  // entries, without seal()'s final time entry (the segment stays the active one when the
  // broker starts again, which extends them back), and gives back reserved blocks. Index
  // entries are not added after this.
  [[nodiscard]] Result<void> close_indexes();

  Offset base_offset() const { return base_; }
  Offset next_offset() const { return {next_offset_.load(std::memory_order_acquire)}; }
  uint64_t size_bytes() const { return size_.load(std::memory_order_acquire); }
  int64_t max_timestamp() const { return max_timestamp_.load(std::memory_order_acquire); }
  int64_t created_ms() const { return created_ms_; }
  int fd() const { return log_.fd(); }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path log_path() const;
  const index::OffsetIndex& offset_index() const { return offset_index_; }
  const index::TimeIndex& time_index() const { return time_index_; }

  Segment(std::filesystem::path dir, Offset base, SegmentOptions options, File log,
          index::OffsetIndex offset_index, index::TimeIndex time_index, int64_t created_ms);

 private:
  // Replays the batches from the last indexed one to the end, restoring the in-memory state.
  [[nodiscard]] Result<void> load_tail();
  class RunBytes;
  [[nodiscard]] Result<void> write_run(std::span<const StampedBatch> batches, uint64_t pos,
                                       uint64_t end, DirectBuffer* direct);
  class RuleIndexes;
  void index_batch(uint64_t pos, const BatchHeader& header);
  [[nodiscard]] Result<void> maybe_append_time_entry();
  // Reserves blocks to reserve_ahead_bytes past `end` once `end` passes the reserved range,
  // unless less than kReserveHeadroom such steps are free on the file system.
  static constexpr uint64_t kReserveHeadroom = 16;
  void reserve_for(uint64_t end);
  // Frees the blocks reserved past the end of the .log.
  [[nodiscard]] Result<void> release_reserved();
  // After a truncate of the .log, which frees what was reserved past the new end.
  void reservation_freed() {
    reserved_to_ = 0;
    maybe_reserved_ = false;
  }

  std::filesystem::path dir_;
  Offset base_;
  SegmentOptions options_;
  File log_;
  index::OffsetIndex offset_index_;
  index::TimeIndex time_index_;
  int64_t created_ms_;
  std::atomic<uint64_t> size_{0};
  std::atomic<int64_t> next_offset_;
  std::atomic<int64_t> max_timestamp_{-1};
  std::atomic<uint64_t> cache_dropped_{0};  // .log bytes [0, this) dropped from the page cache
  Offset offset_of_max_timestamp_;          // writer only
  uint64_t reserved_to_ = 0;                // writer only: reserved (or tried) up to here
  bool maybe_reserved_ = false;             // writer only: blocks may be allocated past the end
  bool sealed_ = false;                     // writer only
  File direct_log_;                         // writer only: the .log opened with O_DIRECT, once used
  bool direct_refused_ = false;             // writer only: the file system refused O_DIRECT
};

}  // namespace sluice::segment
