#include "broker/partition_log.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <string_view>
#include <system_error>

#include "broker/errors.h"
#include "common/check.h"
#include "common/clock.h"
#include "common/file.h"
#include "segment/errors.h"

namespace sluice::broker {
namespace {

Result<std::optional<Offset>> read_start_offset(const std::filesystem::path& dir) {
  auto f = File::open(dir / segment::kLogStartOffsetFile, O_RDONLY);
  if (!f) {
    if (f.error() == std::errc::no_such_file_or_directory) return std::optional<Offset>{};
    return f.error();
  }
  char buf[32] = {};
  auto n = f->pread_full({reinterpret_cast<std::byte*>(buf), sizeof(buf) - 1}, 0);
  if (!n) return n.error();
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(buf, buf + *n, value);
  if (ec != std::errc{} || value < 0) return std::optional<Offset>{};
  return std::optional<Offset>(Offset{value});
}

// Renames a file to *.deleted, then removes it: a crash in between leaves a name recovery
// knows to clean up, never a half-deleted segment that looks live.
void remove_segment_file(const std::filesystem::path& path) {
  auto deleted = path;
  deleted += segment::kDeletedSuffix;
  std::error_code ec;
  std::filesystem::rename(path, deleted, ec);
  std::filesystem::remove(ec ? path : deleted, ec);
}

// A segment's .log and its two index files.
void remove_segment_files(const segment::Segment& s) {
  remove_segment_file(s.log_path());
  remove_segment_file(s.dir() / segment::segment_file_name(s.base_offset(), segment::kIndexSuffix));
  remove_segment_file(s.dir() /
                      segment::segment_file_name(s.base_offset(), segment::kTimeIndexSuffix));
}

}  // namespace

Result<void> fdatasync_fd(int fd) {
  if (::fdatasync(fd) != 0) return errno_code(errno);
  return {};
}

PartitionLog::PartitionLog(Options options)
    : options_(std::move(options)),
      config_(std::make_shared<const config::TopicConfig>(options_.config)) {
  if (!options_.clock_ms) {
    options_.clock_ms = wall_clock_ms;
  }
  if (!options_.sync) options_.sync = fdatasync_fd;
}

int64_t PartitionLog::now_ms() const { return options_.clock_ms(); }

segment::SegmentOptions PartitionLog::segment_options() const {
  // 8 MiB ahead: a few fallocate calls a second at disk speed, and little left reserved.
  constexpr uint64_t kReserveAhead = 8 << 20;
  return {
      static_cast<size_t>(options_.config.segment_index_bytes),
      static_cast<size_t>(options_.config.index_interval_bytes),
      options_.config.preallocate
          ? std::min<uint64_t>(kReserveAhead, static_cast<uint64_t>(options_.config.segment_bytes))
          : 0};
}

Result<std::unique_ptr<PartitionLog>> PartitionLog::open(Options options) {
  auto log = std::make_unique<PartitionLog>(std::move(options));
  const auto& dir = log->options_.dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ec;
  std::vector<Offset> bases;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (auto base = segment::parse_segment_file_name(entry.path().filename().string(),
                                                     segment::kLogSuffix)) {
      bases.push_back(*base);
    }
  }
  if (ec) return ec;
  std::sort(bases.begin(), bases.end());
  auto persisted_start = read_start_offset(dir);
  if (!persisted_start) return persisted_start.error();
  const int64_t now = log->now_ms();
  if (bases.empty()) {
    const Offset base = persisted_start->value_or(Offset{0});
    auto s = segment::Segment::create(dir, base, log->segment_options(), now);
    if (!s) return s.error();
    if (auto r = fsync_dir(dir); !r) return r.error();
    bases.push_back(base);
    log->segments_.emplace(base.value, *s);
  } else {
    for (size_t i = 0; i < bases.size(); ++i) {
      const bool active = i + 1 == bases.size();
      auto s = segment::Segment::open(dir, bases[i], log->segment_options(), active, now);
      if (!s) return s.error();
      log->segments_.emplace(bases[i].value, *s);
    }
  }
  auto epochs = recovery::LeaderEpochs::load(dir);
  if (!epochs) return epochs.error();
  log->epochs_ = std::make_unique<recovery::LeaderEpochs>(std::move(*epochs));
  if (auto latest = log->epochs_->latest_epoch()) {
    log->leader_epoch_.store(*latest);
    log->last_batch_epoch_.store(*latest);
  }
  log->active_ = log->segments_.rbegin()->second;
  const Offset start = std::max(bases.front(), persisted_start->value_or(Offset{0}));
  log->start_offset_.store(std::min(start, log->active_->next_offset()).value);
  log->end_offset_.store(log->active_->next_offset().value);
  log->flushed_offset_.store(log->start_offset_.load());
  return log;
}

Result<AppendResult> PartitionLog::append(std::span<const segment::RecordInput> records) {
  if (records.empty()) return Errc::empty_batch;
  const int64_t now = now_ms();
  segment::BatchBuilder builder;
  builder.reset(config()->message_timestamp_type);
  for (const auto& record : records) {
    if (record.timestamp_ms >= 0) {
      builder.add(record);
    } else {
      segment::RecordInput stamped = record;
      stamped.timestamp_ms = now;
      builder.add(stamped);
    }
  }
  return append_batch(segment::ValidBatch::built(builder.finish()));
}

Result<AppendResult> PartitionLog::append_batch(segment::ValidBatch batch) {
  auto results = append_batches(std::span(&batch, 1));
  if (!results) return results.error();
  return results->front();
}

Result<AppendResult> PartitionLog::append_batch(std::span<std::byte> batch) {
  auto valid = segment::ValidBatch::check(batch);
  if (!valid) return valid.error();
  if (valid->bytes().size() != batch.size()) return segment::Errc::bad_length;
  return append_batch(*valid);
}

Result<std::vector<AppendResult>> PartitionLog::append_batches(
    std::span<const segment::ValidBatch> batches) {
  AppendJob job{batches, false, {}, {}};
  AppendJob* jobs[] = {&job};
  append_jobs(jobs, nullptr);
  if (job.error) return job.error;
  return std::move(job.results);
}

Result<std::vector<AppendResult>> PartitionLog::append_replicated(
    std::span<const segment::ValidBatch> batches, Offset leader_segment) {
  std::vector<AppendResult> results;
  // Runs of batches of one epoch; a run of a newer epoch is recorded in the checkpoint first.
  while (!batches.empty()) {
    const int32_t epoch = batches.front().header().leader_epoch;
    size_t n = 1;
    while (n < batches.size() && batches[n].header().leader_epoch == epoch) ++n;
    {
      std::lock_guard lock(writer_mu_);
      const auto latest = epochs_->latest_epoch();
      if (epoch > latest.value_or(-1) && batches.front().header().base_offset == end_offset()) {
        if (auto r = epochs_->assign(epoch, end_offset().value); !r) return r.error();
      }
    }
    AppendJob job{batches.first(n), true, {}, {}, leader_segment.value};
    AppendJob* jobs[] = {&job};
    append_jobs(jobs, nullptr);
    for (auto& r : job.results) results.push_back(r);
    if (job.error) return job.error;
    batches = batches.subspan(n);
  }
  return results;
}

void PartitionLog::track_high_watermark() {
  int64_t expected = -1;
  high_watermark_.compare_exchange_strong(expected, start_offset().value,
                                          std::memory_order_acq_rel);
}

bool PartitionLog::advance_high_watermark(Offset hw) {
  int64_t target = std::min(hw.value, end_offset().value);
  int64_t current = high_watermark_.load(std::memory_order_acquire);
  while (current >= 0 && target > current) {
    if (high_watermark_.compare_exchange_weak(current, target, std::memory_order_acq_rel)) {
      return true;
    }
  }
  return false;
}

void PartitionLog::set_config(const config::TopicConfig& config) {
  std::lock_guard lock(writer_mu_);
  options_.config = config;
  auto snapshot = std::make_shared<const config::TopicConfig>(config);
  std::lock_guard config_lock(config_mu_);
  config_ = std::move(snapshot);
}

bool PartitionLog::roll_due(uint64_t queued, const segment::BatchHeader& batch, int64_t now_ms,
                            bool by_age) const {
  const auto& config = options_.config;
  if (queued == 0 && active_->size_bytes() == 0) return false;  // takes any one batch
  const uint64_t size = active_->size_bytes() + queued + batch.size_bytes();
  return size > static_cast<uint64_t>(config.segment_bytes) ||
         active_->needs_roll(queued + batch.size_bytes(), batch.last_offset(), config.segment_bytes,
                             by_age ? config.segment_ms : INT64_MAX, now_ms);
}

void PartitionLog::append_jobs(std::span<AppendJob* const> jobs, segment::DirectBuffer* direct) {
  const int64_t now = now_ms();
  bool appended = false;
  bool rolled = false;
  {
    std::lock_guard lock(writer_mu_);
    const auto& config = options_.config;
    const int64_t append_time =
        config.message_timestamp_type == TimestampType::log_append_time ? now : -1;
    // The run: stamped batches for the active segment, not yet written, and whose they are.
    std::vector<segment::StampedBatch> run;
    std::vector<std::pair<AppendJob*, AppendResult>> owners;
    uint64_t run_bytes = 0;
    int64_t run_messages = 0;
    Offset next{end_offset_.load(std::memory_order_relaxed)};
    const int32_t epoch = leader_epoch_.load(std::memory_order_acquire);
    int32_t last_epoch = last_batch_epoch_.load(std::memory_order_relaxed);
    auto write_run = [&]() -> std::error_code {
      if (run.empty()) return {};
      if (auto r = active_->append(run, direct); !r) return r.error();
      appended_messages_.fetch_add(run_messages, std::memory_order_relaxed);
      last_batch_epoch_.store(run.back().header.leader_epoch, std::memory_order_release);
      end_offset_.store(next.value, std::memory_order_release);
      appended = true;
      for (auto& [job, result] : owners) job->results.push_back(result);
      run.clear();
      owners.clear();
      run_bytes = 0;
      run_messages = 0;
      return {};
    };
    size_t failed_from = jobs.size();  // jobs from here on fail with `failure`
    std::error_code failure;
    for (size_t j = 0; j < jobs.size() && !failure; ++j) {
      AppendJob& job = *jobs[j];
      for (const auto& batch : job.batches) {
        if (offline_.load(std::memory_order_relaxed)) {
          job.error = Errc::log_offline;
          break;
        }
        const auto size = batch.bytes().size();
        if (size > static_cast<uint64_t>(config.max_message_bytes)) {
          job.error = Errc::record_too_large;
          break;
        }
        const Offset base = next;
        segment::BatchHeader header;
        if (job.replicated) {
          header = batch.header();
          if (header.base_offset != base) {
            job.error = Errc::not_at_log_end;
            break;
          }
          if (header.leader_epoch < last_epoch) {
            job.error = Errc::stale_epoch;
            break;
          }
        } else {
          header =
              segment::stamp_for_append(batch.bytes(), batch.header(), base, epoch, append_time);
        }
        last_epoch = header.leader_epoch;
        std::error_code ec;
        // A follower rolls where its leader did (and where it must), never by age.
        const bool leader_rolls = job.replicated && job.leader_segment >= 0;
        const bool leader_rolled_here = leader_rolls &&
                                        header.base_offset.value == job.leader_segment &&
                                        active_->base_offset() != header.base_offset &&
                                        (run_bytes > 0 || active_->size_bytes() > 0);
        if (leader_rolled_here || roll_due(run_bytes, header, now, !leader_rolls)) {
          ec = write_run();
          if (!ec && (leader_rolled_here || roll_due(0, header, now, !leader_rolls))) {
            if (auto r = roll(base, now); r) {
              rolled = true;
            } else {
              ec = r.error();
            }
          }
        }
        if (ec) {
          failure = ec;
          failed_from = j;
          break;
        }
        run.push_back({batch.bytes(), header});
        owners.emplace_back(
            &job, AppendResult{base, header.last_offset(), job.replicated ? -1 : append_time});
        run_bytes += size;
        run_messages += header.record_count;
        next = header.next_offset();
      }
    }
    if (!failure) failure = write_run();
    if (failure) {
      // Whatever is still in the run was not written: its jobs, and every later one, fail.
      if (!owners.empty()) {
        const auto first = std::find(jobs.begin(), jobs.end(), owners.front().first);
        failed_from = std::min(failed_from, static_cast<size_t>(first - jobs.begin()));
      }
      for (size_t j = failed_from; j < jobs.size(); ++j) {
        if (!jobs[j]->error) jobs[j]->error = failure;
      }
    }
  }
  if ((appended || rolled) && options_.on_append) options_.on_append(*this, rolled);
}

Result<void> PartitionLog::roll(Offset next_base, int64_t now_ms) {
  auto s = segment::Segment::create(options_.dir, next_base, segment_options(), now_ms);
  if (!s) return s.error();
  unsealed_.push_back(active_);
  dir_unsynced_ = true;
  std::lock_guard lock(segments_mu_);
  segments_.emplace(next_base.value, *s);
  active_ = *s;
  return {};
}

Result<void> PartitionLog::seal_rolled() {
  std::vector<SegmentPtr> rolled;
  bool sync_dir = false;
  {
    std::lock_guard lock(writer_mu_);
    rolled.swap(unsealed_);
    sync_dir = std::exchange(dir_unsynced_, false);
  }
  for (const auto& s : rolled) {
    if (auto r = s->flush_indexes(); !r) return r;
    if (auto r = s->seal(); !r) return r;
  }
  // A new segment's directory entry must be durable before any byte in it is reported so.
  if (sync_dir) {
    if (auto r = fsync_dir(options_.dir); !r) return r;
  }
  return {};
}

std::vector<std::shared_ptr<const segment::Segment>> PartitionLog::sealed_segments() const {
  std::lock_guard lock(segments_mu_);
  std::vector<std::shared_ptr<const segment::Segment>> out;
  for (auto it = segments_.begin(); it != segments_.end() && std::next(it) != segments_.end();
       ++it) {
    out.push_back(it->second);
  }
  return out;
}

Offset PartitionLog::active_base() const {
  std::lock_guard lock(segments_mu_);
  return Offset{segments_.rbegin()->first};
}

std::shared_ptr<const segment::Segment> PartitionLog::sealed_segment(Offset base) const {
  std::lock_guard lock(segments_mu_);
  auto it = segments_.find(base.value);
  if (it == segments_.end() || std::next(it) == segments_.end()) return nullptr;
  return it->second;
}

PartitionLog::SegmentPtr PartitionLog::segment_for(Offset offset) const {
  std::lock_guard lock(segments_mu_);
  auto it = segments_.upper_bound(offset.value);
  if (it == segments_.begin()) return nullptr;
  return std::prev(it)->second;
}

std::vector<PartitionLog::SegmentPtr> PartitionLog::snapshot() const {
  std::lock_guard lock(segments_mu_);
  std::vector<SegmentPtr> out;
  out.reserve(segments_.size());
  for (const auto& [base, s] : segments_) out.push_back(s);
  return out;
}

Result<segment::LogSlice> PartitionLog::read(Offset offset, uint64_t max_bytes, Offset upto) const {
  const Offset end = end_offset();
  const Offset start = start_offset();
  if (offset < start || offset > end) return Errc::offset_out_of_range;
  SegmentPtr s = segment_for(offset);
  if (offset >= upto) return segment::LogSlice{s, {}, 0, offset, offset};
  while (s) {
    auto slice = s->read(offset, max_bytes, UINT64_MAX, upto);
    if (!slice) return slice.error();
    if (!slice->empty() || offset >= end) return slice;
    // The offset lies past this segment's last batch: it starts the next segment.
    std::lock_guard lock(segments_mu_);
    auto it = segments_.upper_bound(s->base_offset().value);
    s = it == segments_.end() ? nullptr : it->second;
  }
  return Errc::offset_out_of_range;
}

Result<std::optional<Offset>> PartitionLog::offset_for_timestamp(int64_t timestamp_ms) const {
  const Offset start = start_offset();
  for (const auto& s : snapshot()) {
    if (s->next_offset() <= start) continue;
    auto r = s->offset_for_timestamp(timestamp_ms);
    if (!r) return r.error();
    if (*r) return std::optional<Offset>(std::max(**r, start));
  }
  return std::optional<Offset>{};
}

uint64_t PartitionLog::size_bytes() const {
  uint64_t total = 0;
  for (const auto& s : snapshot()) total += s->size_bytes();
  return total;
}

size_t PartitionLog::segment_count() const {
  std::lock_guard lock(segments_mu_);
  return segments_.size();
}

int64_t PartitionLog::unflushed_messages() const {
  return appended_messages_.load(std::memory_order_relaxed) -
         flushed_messages_.load(std::memory_order_relaxed);
}

Result<void> PartitionLog::truncate_to(Offset offset, const KeepCut& keep) {
  // Seal what was rolled first: truncation may reopen one of those segments as the active one.
  std::lock_guard flush_lock(flush_mu_);
  if (auto r = seal_rolled(); !r) return r;
  std::lock_guard lock(writer_mu_);
  if (offset >= end_offset()) {
    if (auto r = epochs_->truncate_from_end(offset.value); !r) return r;
    last_batch_epoch_.store(epochs_->latest_epoch().value_or(-1), std::memory_order_release);
    return {};
  }
  offset = std::max(offset, start_offset());
  SegmentPtr target = segment_for(offset);
  if (!target) target = snapshot().front();
  if (keep) {
    recovery::QuarantineCut cut;
    cut.first_file = target->log_path();
    auto slice = target->read(offset, 1);
    if (!slice) return slice.error();
    cut.position = slice->empty() ? target->size_bytes() : slice->position.value;
    for (const auto& s : snapshot()) {
      if (s->base_offset() > target->base_offset()) cut.later_files.push_back(s->log_path());
    }
    if (auto r = keep(cut); !r) return r;
  }
  std::vector<SegmentPtr> later;
  {
    std::lock_guard seg_lock(segments_mu_);
    for (auto it = segments_.upper_bound(target->base_offset().value); it != segments_.end();) {
      later.push_back(it->second);
      it = segments_.erase(it);
    }
  }
  for (const auto& s : later) {
    remove_segment_files(*s);
  }
  if (target != active_) {
    // A sealed segment is read-only; reopen it as the active one.
    auto reopened = segment::Segment::open(options_.dir, target->base_offset(), segment_options(),
                                           true, now_ms());
    if (!reopened) return reopened.error();
    target = *reopened;
    std::lock_guard seg_lock(segments_mu_);
    segments_[target->base_offset().value] = target;
  }
  if (auto r = target->truncate_to(offset); !r) return r;
  active_ = target;
  end_offset_.store(target->next_offset().value, std::memory_order_release);
  if (auto r = epochs_->truncate_from_end(end_offset().value); !r) return r;
  last_batch_epoch_.store(epochs_->latest_epoch().value_or(-1), std::memory_order_release);
  if (flushed_offset() > end_offset()) flushed_offset_.store(end_offset().value);
  if (high_watermark_.load() > end_offset().value) high_watermark_.store(end_offset().value);
  if (start_offset() > end_offset()) start_offset_.store(end_offset().value);
  return {};
}

Result<void> PartitionLog::restart_at(Offset offset, const KeepCut& keep) {
  std::lock_guard flush_lock(flush_mu_);
  if (auto r = seal_rolled(); !r) return r;
  std::lock_guard lock(writer_mu_);
  if (offset <= end_offset()) return Errc::offset_out_of_range;
  const auto old = snapshot();
  if (keep && end_offset() > start_offset()) {
    recovery::QuarantineCut cut;
    cut.first_file = old.front()->log_path();
    for (size_t i = 1; i < old.size(); ++i) cut.later_files.push_back(old[i]->log_path());
    if (auto r = keep(cut); !r) return r;
  }
  // The new start first: a crash from here on leaves segments the next open ignores below it.
  if (auto r = write_start_offset(offset); !r) return r;
  auto fresh = segment::Segment::create(options_.dir, offset, segment_options(), now_ms());
  if (!fresh) return fresh.error();
  {
    std::lock_guard seg_lock(segments_mu_);
    segments_.clear();
    segments_.emplace(offset.value, *fresh);
  }
  for (const auto& s : old) {
    remove_segment_files(*s);
  }
  active_ = *fresh;
  unsealed_.clear();
  dir_unsynced_ = true;
  start_offset_.store(offset.value, std::memory_order_release);
  end_offset_.store(offset.value, std::memory_order_release);
  flushed_offset_.store(offset.value, std::memory_order_release);
  if (high_watermark_.load() >= 0) high_watermark_.store(offset.value);
  if (auto r = epochs_->truncate_from_end(0); !r) return r;
  last_batch_epoch_.store(-1, std::memory_order_release);
  return {};
}

Result<void> PartitionLog::write_start_offset(Offset offset) {
  return write_file_atomically(options_.dir / segment::kLogStartOffsetFile,
                               std::to_string(offset.value));
}

Result<void> PartitionLog::delete_oldest(const SegmentPtr& s) {
  {
    std::lock_guard lock(segments_mu_);
    SLUICE_CHECK(!segments_.empty() && segments_.begin()->second == s, "not the oldest segment");
    segments_.erase(segments_.begin());
    start_offset_.store(std::max(start_offset_.load(), segments_.begin()->first),
                        std::memory_order_release);
  }
  remove_segment_files(*s);
  return {};
}

Result<void> PartitionLog::delete_before(Offset offset) {
  std::lock_guard lock(writer_mu_);
  offset = std::min(offset, end_offset());
  if (offset <= start_offset()) return {};
  // Persist the new start first: a crash after it and before the deletions only leaves
  // segments that the next open ignores below the start.
  if (auto r = write_start_offset(offset); !r) return r;
  start_offset_.store(offset.value, std::memory_order_release);
  for (auto s = snapshot(); s.size() > 1 && s.front()->next_offset() <= offset; s = snapshot()) {
    if (auto r = delete_oldest(s.front()); !r) return r;
  }
  return epochs_->truncate_from_start(offset.value);
}

Result<void> PartitionLog::become_leader(int32_t epoch) {
  std::lock_guard lock(writer_mu_);
  if (auto r = epochs_->assign(epoch, end_offset().value); !r) return r;
  leader_epoch_.store(epoch, std::memory_order_release);
  return {};
}

Result<RetentionResult> PartitionLog::apply_retention() {
  std::lock_guard lock(writer_mu_);
  RetentionResult result;
  const auto& cfg = options_.config;
  // Kafka applies neither retention.ms nor retention.bytes to a compacted topic, whose records
  // its users expect to keep until a newer value of the key replaces them. Sluice does not
  // compact user topics, so it keeps every record of them.
  if (cfg.cleanup_policy == config::CleanupPolicy::compact) return result;
  const int64_t now = now_ms();
  auto segments = snapshot();
  uint64_t total = 0;
  for (const auto& s : segments) total += s->size_bytes();
  for (size_t i = 0; i + 1 < segments.size(); ++i) {  // never the active segment
    const auto& s = segments[i];
    const bool expired = cfg.retention_ms >= 0 && s->max_timestamp() >= 0 &&
                         now - s->max_timestamp() > cfg.retention_ms;
    const bool over_size = cfg.retention_bytes >= 0 &&
                           total - s->size_bytes() >= static_cast<uint64_t>(cfg.retention_bytes);
    if (!expired && !over_size) break;
    total -= s->size_bytes();
    result.bytes_deleted += s->size_bytes();
    ++result.segments_deleted;
    if (auto r = delete_oldest(s); !r) return r.error();
  }
  return result;
}

Result<Offset> PartitionLog::flush() {
  std::lock_guard lock(flush_mu_);
  if (offline_.load()) return Errc::log_offline;
  // Read before sealing: every segment that holds offsets below `end` was rolled to before
  // `end` was published, so seal_rolled() below syncs its directory entry.
  const Offset end = end_offset();
  const int64_t messages = appended_messages_.load(std::memory_order_relaxed);
  if (auto r = seal_rolled(); !r) {
    offline_.store(true);
    return r.error();
  }
  const Offset flushed = flushed_offset();
  if (end <= flushed) return end;
  last_flush_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                    std::memory_order_relaxed);
  const auto segments = snapshot();
  // Every byte counted here was written before the syncs below began, so is durable after.
  std::vector<uint64_t> sizes(segments.size());
  for (size_t i = 0; i < segments.size(); ++i) sizes[i] = segments[i]->size_bytes();
  for (const auto& s : segments) {
    if (s->next_offset() <= flushed || s->base_offset() > end) continue;
    if (auto r = options_.sync(s->fd()); !r) {
      offline_.store(true);
      return r.error();
    }
  }
  const bool advanced = flushed_offset_.exchange(end.value, std::memory_order_acq_rel) < end.value;
  flushed_messages_.store(messages, std::memory_order_relaxed);
  if (options_.cache_retain_bytes >= 0) drop_cached_pages(segments, sizes);
  if (advanced && options_.on_flushed) options_.on_flushed(*this);
  return end;
}

void PartitionLog::drop_cached_pages(std::span<const SegmentPtr> segments,
                                     std::span<const uint64_t> sizes) {
  auto keep = static_cast<uint64_t>(options_.cache_retain_bytes);
  // Newest first: skip the retained window, then drop up to its start. Each segment remembers
  // how far it was dropped, and the walk stops at the first segment wholly behind the window
  // with nothing new to drop: the walk that dropped it went on through every older one.
  for (size_t i = segments.size(); i-- > 0;) {
    if (sizes[i] == 0) continue;
    if (keep >= sizes[i]) {
      keep -= sizes[i];
      continue;
    }
    // A segment with a newer one after it is sealed: it can go whole once behind the window.
    const bool whole = keep == 0 && i + 1 < segments.size();
    const bool dropped =
        segments[i]->drop_cached_pages(whole ? segment::Segment::kWholeFile : sizes[i] - keep);
    if (!dropped && keep == 0) break;
    keep = 0;
  }
}

Result<void> PartitionLog::close() {
  if (auto r = flush(); !r) return r.error();
  std::lock_guard lock(writer_mu_);
  return active_->close_indexes();
}

}  // namespace sluice::broker
