#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/types.h"
#include "config/config.h"
#include "recovery/leader_epochs.h"
#include "recovery/quarantine.h"
#include "segment/batch.h"
#include "segment/segment.h"

namespace sluice::broker {

// Makes a file's written bytes durable; fdatasync unless a test counts or fails syncs.
using SyncFn = std::function<Result<void>(int fd)>;
Result<void> fdatasync_fd(int fd);

struct AppendResult {
  Offset base_offset;
  Offset last_offset;
  int64_t log_append_time_ms = -1;  // the broker's timestamp under LogAppendTime, else -1
};

struct RetentionResult {
  size_t segments_deleted = 0;
  uint64_t bytes_deleted = 0;
};

// The log of one partition: a directory of segments, the last of which is active.
//
// Threading: appends, truncation and retention serialise on the writer lock; reads run
// concurrently and never wait for it. An append publishes the new end offset (release) only
// after its bytes and index entries are written, and readers load it (acquire) before
// reading, so they never see a partial batch. Segments are shared_ptr: a reader keeps the
// segment it reads from alive even if retention deletes it meanwhile.
//
// Appending: every append, whoever makes it, goes through one core (append_jobs): stamp each
// batch, roll when the one roll rule says so, write runs of batches with one write each,
// publish the end offset, then call Options::on_append. Appends never sync: a roll creates the
// next segment and leaves sealing the old one (index flush and trim) and syncing the directory
// to the next flush(), which does both before it syncs any byte of the new segment. So an
// append may run on a network thread.
//
// Durability: append_jobs() leaves bytes in the page cache (with a direct buffer it puts whole
// blocks on the device instead); flush() makes everything appended before it was called
// durable (GroupCommitter batches these calls). With cache_retain_bytes set, flush() then drops
// the pages of older flushed bytes, so the partition's page-cache footprint stays near that
// window and new writes reuse freed pages instead of growing it.
class PartitionLog {
 public:
  struct Options {
    std::string topic;
    int32_t partition = 0;
    std::filesystem::path dir;
    config::TopicConfig config;
    SyncFn sync = fdatasync_fd;
    std::function<int64_t()> clock_ms;  // wall clock in ms unless a test sets one
    // log.cache.retain.bytes: after a flush, pages more than this far behind the flushed end
    // are dropped from the page cache (-1: never).
    int64_t cache_retain_bytes = -1;
    // Called after every append that published a new end offset, outside the writer lock, on
    // the appending thread; `rolled` when it created a segment, which the next flush() seals.
    // Must not block.
    std::function<void(PartitionLog& log, bool rolled)> on_append;
    // Called after every flush that made more of the log durable, on the flushing thread.
    // Must not block.
    std::function<void(PartitionLog& log)> on_flushed;
  };

  // Opens the partition directory (creating it and a first segment when empty). Expects the
  // .log files to have passed recovery.
  [[nodiscard]] static Result<std::unique_ptr<PartitionLog>> open(Options options);

  // One request's batches, for append_jobs().
  struct AppendJob {
    std::span<const segment::ValidBatch> batches;
    // A follower's copy of its leader's batches: kept as they are (offsets, leader epoch,
    // timestamps), each required to start at the log end and to be of the log's last epoch or
    // a later one.
    bool replicated = false;
    std::vector<AppendResult> results;  // one per batch appended, in order
    std::error_code error;  // why batch results.size() was not appended (those before it were)
    // A replicated job's leader segment: the base offset of the leader's segment these batches
    // come from (-1: unknown). Where a batch starts at it, the log rolls there, as the leader
    // did; otherwise it rolls only where it must (size, index capacity), never by age, so that
    // the replicas' sealed segments are the same files.
    int64_t leader_segment = -1;
  };
  // The append core. Appends the jobs' batches in order, stamping each with the next offset
  // (and LogAppendTime), and writes the batches that go to the same segment with one write,
  // direct through `direct` when given (Segment::append): the group-commit flusher hands it
  // every batch queued during a flush, a producer on the page-cache path its own request. A
  // batch over max.message.bytes fails its job; a failed write fails its batches and all after
  // them.
  void append_jobs(std::span<AppendJob* const> jobs, segment::DirectBuffer* direct);
  // append_jobs() of one job, through the page cache.
  [[nodiscard]] Result<std::vector<AppendResult>> append_batches(
      std::span<const segment::ValidBatch> batches);
  // Stamps a client-built batch's offsets (and LogAppendTime) in place and appends it.
  [[nodiscard]] Result<AppendResult> append_batch(segment::ValidBatch batch);
  // Validates `batch`, which must be one whole batch, then as above.
  [[nodiscard]] Result<AppendResult> append_batch(std::span<std::byte> batch);
  // A follower's append of batches its leader wrote (AppendJob::replicated), through the page
  // cache: Errc::not_at_log_end or Errc::stale_epoch refuse a batch and those after it. The
  // first batch of a leader epoch later than the checkpoint's latest records (epoch, its base
  // offset) in leader-epoch-checkpoint, synced, before it is written (as Kafka's followers do).
  // `leader_segment`: AppendJob::leader_segment.
  [[nodiscard]] Result<std::vector<AppendResult>> append_replicated(
      std::span<const segment::ValidBatch> batches, Offset leader_segment = Offset{-1});
  // Takes leadership at `epoch`: records (epoch, end offset) in leader-epoch-checkpoint, synced,
  // then stamps `epoch` into every later batch; no append runs in between. Syncs: call it on
  // a broker thread, never a network one.
  [[nodiscard]] Result<void> become_leader(int32_t epoch);
  // Which leader epoch wrote which offsets (leader-epoch-checkpoint); kept in step with
  // truncation and retention.
  recovery::LeaderEpochs& epochs() { return *epochs_; }
  // The leader epoch of the last batch appended (at open, the checkpoint's latest; -1 with none).
  int32_t last_batch_epoch() const { return last_batch_epoch_.load(std::memory_order_acquire); }
  // Encodes the records as one batch and appends it. A record timestamp < 0 means "now".
  [[nodiscard]] Result<AppendResult> append(std::span<const segment::RecordInput> records);

  // The segments no more batches go to (all but the active one), oldest first.
  std::vector<std::shared_ptr<const segment::Segment>> sealed_segments() const;
  // The base offset of the active segment.
  Offset active_base() const;
  // The sealed segment whose base offset is `base`, or null.
  std::shared_ptr<const segment::Segment> sealed_segment(Offset base) const;

  // Whole batches from the one holding `offset`, up to max_bytes (at least one batch), never
  // past `upto` (a batch boundary such as the high watermark). offset_out_of_range outside
  // [start_offset, end_offset]; empty at end_offset and when offset >= upto.
  [[nodiscard]] Result<segment::LogSlice> read(Offset offset, uint64_t max_bytes,
                                               Offset upto = Offset{INT64_MAX}) const;
  // The earliest offset whose timestamp is >= timestamp_ms; nullopt when none is.
  [[nodiscard]] Result<std::optional<Offset>> offset_for_timestamp(int64_t timestamp_ms) const;

  Offset start_offset() const { return {start_offset_.load(std::memory_order_acquire)}; }
  Offset end_offset() const { return {end_offset_.load(std::memory_order_acquire)}; }
  Offset flushed_offset() const { return {flushed_offset_.load(std::memory_order_acquire)}; }
  // The high watermark: where what consumers may read ends. A standalone log's is its end
  // offset. In a cluster (after track_high_watermark) it is the end of what every in-sync
  // replica holds durably, moved forward only by advance_high_watermark (by the leader, or from
  // the leader's answers on a follower) and back only by truncation below it.
  Offset high_watermark() const {
    const int64_t hw = high_watermark_.load(std::memory_order_acquire);
    return hw < 0 ? end_offset() : Offset{hw};
  }
  bool tracks_high_watermark() const {
    return high_watermark_.load(std::memory_order_acquire) >= 0;
  }
  // Starts keeping a high watermark apart from the end offset, at the log start.
  void track_high_watermark();
  // Raises the high watermark to `hw` (clamped to the end offset); whether it moved.
  bool advance_high_watermark(Offset hw);
  uint64_t size_bytes() const;
  size_t segment_count() const;
  // Appended messages not yet covered by a flush.
  int64_t unflushed_messages() const;
  // When the last flush that found something to sync began (steady clock; the open, before).
  std::chrono::steady_clock::time_point last_flush() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_flush_.load(std::memory_order_relaxed)));
  }
  const std::string& topic() const { return options_.topic; }
  int32_t partition() const { return options_.partition; }
  const std::filesystem::path& dir() const { return options_.dir; }
  // <log.dir>/quarantine/<topic>-<partition>: where bytes cut from this log are copied first.
  std::filesystem::path quarantine_dir() const {
    return options_.dir.parent_path() / segment::kQuarantineDir / options_.dir.filename();
  }
  // The topic's configuration as of now; set_config() may replace it at any time.
  std::shared_ptr<const config::TopicConfig> config() const {
    std::lock_guard lock(config_mu_);
    return config_;
  }
  // Applies a changed topic configuration to every append and retention pass after it. Index
  // sizes and preallocation apply to segments created from then on.
  void set_config(const config::TopicConfig& config);

  // Removes every batch holding an offset >= offset (whole batches, as Kafka), and the leader
  // epochs that start there or later (an offset at or past the end removes no batch, only
  // the epochs of leaderships that wrote nothing before it). With `keep`, the bytes about to
  // be cut are described to it first (the file and position where the cut begins, and the
  // later files): it copies them away, and an error from it cuts nothing.
  using KeepCut = std::function<Result<void>(const recovery::QuarantineCut&)>;
  [[nodiscard]] Result<void> truncate_to(Offset offset, const KeepCut& keep = {});
  // A follower whose log ends before its leader's log start: removes every batch (described
  // to `keep` first, as truncate_to does) and restarts the log empty at `offset`, with no leader
  // epochs. Requires offset > end_offset().
  [[nodiscard]] Result<void> restart_at(Offset offset, const KeepCut& keep = {});
  // Advances the log start to `offset` (clamped to the end), deleting whole segments before it.
  [[nodiscard]] Result<void> delete_before(Offset offset);
  // Deletes the oldest sealed segments past retention.ms / retention.bytes; nothing under
  // cleanup.policy=compact.
  [[nodiscard]] Result<RetentionResult> apply_retention();

  // Makes everything appended so far durable; returns the end offset it covered. Seals the
  // segments rolled since the last flush and syncs the directory first. After a failed sync
  // the log is offline: appends and flushes fail with Errc::log_offline.
  [[nodiscard]] Result<Offset> flush();
  // Seals nothing, but flushes the log and the indexes' mappings (for a clean stop).
  [[nodiscard]] Result<void> close();

  explicit PartitionLog(Options options);

 private:
  using SegmentPtr = std::shared_ptr<segment::Segment>;

  // The one roll rule: whether `batch` (ending at `last_offset`), written after `queued` bytes
  // not yet written to the active segment, must go to a new segment. An empty segment takes
  // any one batch.
  // Without `by_age`, segment.ms is not a reason.
  bool roll_due(uint64_t queued, const segment::BatchHeader& batch, int64_t now_ms,
                bool by_age = true) const;
  // Creates the next segment at `next_base` and makes it active; the old one waits in
  // unsealed_ for the next flush(). Creates files but never syncs.
  [[nodiscard]] Result<void> roll(Offset next_base, int64_t now_ms);
  // Seals the segments rolled since the last call, then syncs the directory that holds their
  // successors. Requires flush_mu_.
  [[nodiscard]] Result<void> seal_rolled();
  [[nodiscard]] Result<void> delete_oldest(const SegmentPtr& segment);
  [[nodiscard]] Result<void> write_start_offset(Offset offset);
  // Drops the cached pages of flushed bytes more than cache_retain_bytes behind `sizes`, the
  // segments' sizes before the flush that made them durable.
  void drop_cached_pages(std::span<const SegmentPtr> segments, std::span<const uint64_t> sizes);
  SegmentPtr segment_for(Offset offset) const;
  std::vector<SegmentPtr> snapshot() const;
  segment::SegmentOptions segment_options() const;
  int64_t now_ms() const;

  Options options_;  // options_.config is guarded by writer_mu_ once open
  // A snapshot for readers without the writer lock. (Not std::atomic<std::shared_ptr>: GCC
  // 12's lock bit is invisible to ThreadSanitizer.)
  mutable std::mutex config_mu_;
  std::shared_ptr<const config::TopicConfig> config_;  // guarded by config_mu_
  std::mutex writer_mu_;
  SegmentPtr active_;  // guarded by writer_mu_
  // Segments rolled away from and not yet sealed, and whether the directory has entries not
  // yet synced; guarded by writer_mu_, emptied by flush().
  std::vector<SegmentPtr> unsealed_;
  bool dir_unsynced_ = false;
  mutable std::mutex segments_mu_;
  std::map<int64_t, SegmentPtr> segments_;  // guarded by segments_mu_; key = base offset
  std::atomic<int64_t> start_offset_{0};
  std::atomic<int64_t> end_offset_{0};
  std::atomic<int64_t> flushed_offset_{0};
  std::atomic<int64_t> high_watermark_{-1};  // -1: the end offset (not tracked)
  std::atomic<std::chrono::steady_clock::rep> last_flush_{
      std::chrono::steady_clock::now().time_since_epoch().count()};
  std::atomic<int64_t> appended_messages_{0};
  std::atomic<int32_t> leader_epoch_{0};
  std::unique_ptr<recovery::LeaderEpochs> epochs_;
  std::atomic<int32_t> last_batch_epoch_{-1};
  std::atomic<int64_t> flushed_messages_{0};
  std::mutex flush_mu_;  // one flush at a time; taken before writer_mu_ where both are
  // Set when an fdatasync fails. Linux may drop the dirty pages of a failed sync, so retrying
  // could report durability that is not there (as PostgreSQL learnt); the log goes offline.
  std::atomic<bool> offline_{false};
};

}  // namespace sluice::broker
