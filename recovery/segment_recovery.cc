#include "recovery/segment_recovery.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "common/check.h"
#include "common/clock.h"
#include "common/file.h"
#include "recovery/errors.h"
#include "recovery/quarantine.h"
#include "segment/errors.h"
#include "segment/segment.h"

namespace sluice::recovery {
namespace {

namespace fs = std::filesystem;
using segment::kIndexSuffix;
using segment::kLogSuffix;
using segment::kTimeIndexSuffix;

// Rebuilt entries must increase, start at the segment's first batch and stay inside it.
bool entries_cover(const SegmentScan& scan) {
  const auto& e = scan.offset_entries;
  if (scan.batches > 0 && (e.empty() || e.front().position.value != 0)) return false;
  for (size_t i = 1; i < e.size(); ++i) {
    if (!(e[i - 1].offset < e[i].offset && e[i - 1].position < e[i].position)) return false;
  }
  // The entry every index starts with, (base, 0), is the only one allowed in an empty log.
  return e.empty() || e.back().position.value == 0 || e.back().position.value < scan.valid_bytes;
}

}  // namespace

std::string PartitionDir::name() const { return segment::partition_dir_name(topic, partition); }

std::optional<PartitionDir> parse_partition_dir(const fs::path& path) {
  auto parsed = segment::parse_partition_dir_name(path.filename().string());
  if (!parsed) return std::nullopt;
  return PartitionDir{path, std::move(parsed->first), parsed->second};
}

SegmentRecovery::SegmentRecovery(PartitionDir dir, SegmentRecoverySettings settings)
    : dir_(std::move(dir)), settings_(std::move(settings)) {
  report_.name = dir_.name();
  report_.dir = dir_.path;
  report_.mode = settings_.recovery_point ? "checkpoint" : "full";
}

fs::path SegmentRecovery::file(Offset base, std::string_view suffix) const {
  return dir_.path / segment::segment_file_name(base, suffix);
}

Result<PartitionReport> SegmentRecovery::run() {
  if (auto r = classify(); !r) return r.error();
  if (auto r = drop_empty_middle_segments(); !r) return r.error();
  auto cut = scan_segments();
  if (!cut) return cut.error();
  if (*cut) {
    if (auto r = apply_cut(**cut); !r) return r.error();
  }
  if (auto r = check_indexes(); !r) return r.error();
  if (auto r = reconcile_epochs(); !r) return r.error();
  if (dir_changed_) {
    if (auto r = fsync_dir(dir_.path); !r) return r.error();
  }
  report_.segments = segments_.size();
  if (!segments_.empty() && segments_.back().scan) {
    report_.next_offset = segments_.back().scan->next_offset;
  }
  return report_;
}

Result<void> SegmentRecovery::remove_file(const fs::path& path, std::string what) {
  what = fmt::format("{}: {}", path.filename().string(), what);
  if (settings_.read_only) {
    report_.problems.push_back(what);
    return {};
  }
  std::error_code ec;
  if (!fs::remove(path, ec) && ec) return ec;
  dir_changed_ = true;
  report_.problems.push_back(what + "; removed");
  return {};
}

Result<void> SegmentRecovery::classify() {
  std::set<int64_t> logs;
  std::vector<std::pair<fs::path, int64_t>> indexes;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_.path, ec)) {
    const fs::path& p = entry.path();
    const std::string name = p.filename().string();
    if (!entry.is_regular_file(ec)) {
      report_.ignored.push_back(name + " (not a regular file)");
    } else if (name.ends_with(segment::kTempSuffix) || name.ends_with(segment::kDeletedSuffix)) {
      report_.strays.push_back(name);
      if (auto r = remove_file(p, name.ends_with(segment::kTempSuffix)
                                      ? "leftover temporary file"
                                      : "segment file left by retention");
          !r) {
        return r;
      }
    } else if (auto base = segment::parse_segment_file_name(name, kLogSuffix)) {
      logs.insert(base->value);
      segments_.push_back({*base, entry.file_size(ec), std::nullopt});
    } else if (auto ib = segment::parse_segment_file_name(name, kIndexSuffix)) {
      indexes.emplace_back(p, ib->value);
    } else if (auto tb = segment::parse_segment_file_name(name, kTimeIndexSuffix)) {
      indexes.emplace_back(p, tb->value);
    } else if (name != segment::kTopicConfigFile && name != segment::kLogStartOffsetFile &&
               name != segment::kLeaderEpochFile) {
      report_.ignored.push_back(name);
    }
  }
  if (ec) return ec;
  for (const auto& [p, base] : indexes) {
    if (logs.contains(base)) continue;
    report_.strays.push_back(p.filename().string());
    if (auto r = remove_file(p, "index without a .log"); !r) return r;
  }
  std::sort(segments_.begin(), segments_.end(),
            [](const SegmentFiles& a, const SegmentFiles& b) { return a.base < b.base; });
  return {};
}

Result<void> SegmentRecovery::drop_empty_middle_segments() {
  std::vector<SegmentFiles> kept;
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (segments_[i].size != 0 || i + 1 == segments_.size()) {
      kept.push_back(segments_[i]);
      continue;
    }
    const Offset base = segments_[i].base;
    report_.strays.push_back(segment::segment_file_name(base, kLogSuffix));
    ++report_.segments_removed;
    if (auto r = remove_file(file(base, kLogSuffix), "empty segment before the last one"); !r) {
      return r;
    }
    for (auto suffix : {kIndexSuffix, kTimeIndexSuffix}) {
      std::error_code ec;
      if (!fs::exists(file(base, suffix), ec)) continue;
      if (auto r = remove_file(file(base, suffix), "index of an empty segment"); !r) return r;
    }
  }
  segments_ = std::move(kept);
  return {};
}

Result<ExistingIndexes> SegmentRecovery::read_indexes(Offset base) const {
  ExistingIndexes out;
  for (bool time : {false, true}) {
    auto bytes = read_file(file(base, time ? kTimeIndexSuffix : kIndexSuffix));
    if (!bytes && bytes.error() != std::errc::no_such_file_or_directory) return bytes.error();
    if (bytes) (time ? out.time_bytes : out.offset_bytes) = std::move(*bytes);
  }
  return out;
}

bool SegmentRecovery::trusted(size_t i) const {
  return settings_.recovery_point && i + 1 < segments_.size() &&
         segments_[i + 1].base <= *settings_.recovery_point;
}

Result<std::optional<SegmentRecovery::Cut>> SegmentRecovery::scan_segments() {
  std::optional<Offset> expected;
  std::optional<int32_t> last_epoch;  // of the batches before; unknown past a trusted segment
  for (size_t i = 0; i < segments_.size(); ++i) {
    SegmentFiles& seg = segments_[i];
    if (expected && seg.base != *expected) {
      const std::error_code ec = seg.base < *expected ? Errc::segment_overlap : Errc::segment_gap;
      return Cut{i, 0, true,
                 fmt::format("{}: {} (starts at offset {}, previous ends at {})",
                             segment::segment_file_name(seg.base, kLogSuffix), ec.message(),
                             seg.base.value, expected->value)};
    }
    if (trusted(i)) {
      ++report_.segments_skipped;
      expected = segments_[i + 1].base;
      if (settings_.bytes_done) settings_.bytes_done->fetch_add(seg.size);
      if (settings_.segments_done) settings_.segments_done->fetch_add(1);
      last_epoch.reset();
      continue;
    }
    auto existing = read_indexes(seg.base);
    if (!existing) return existing.error();
    auto scan = scan_segment(file(seg.base, kLogSuffix), seg.base, settings_.options, *existing,
                             settings_.bytes_done, last_epoch);
    if (!scan) return scan.error();
    // A bad batch in a segment before the last: a replica's copy may replace it.
    if (!scan->clean() && i + 1 < segments_.size() && settings_.repair && !settings_.read_only) {
      if (auto r = repair(i, *existing, last_epoch, *scan); !r) return r.error();
    }
    if (!scan->epochs.empty()) last_epoch = scan->epochs.back().epoch;
    if (settings_.segments_done) settings_.segments_done->fetch_add(1);
    ++report_.segments_scanned;
    report_.batches += scan->batches;
    report_.records += scan->records;
    report_.bytes_scanned += scan->file_bytes;
    expected = scan->next_offset;
    seg.scan = std::move(*scan);
    if (!seg.scan->clean()) {
      return Cut{i, seg.scan->valid_bytes, false,
                 fmt::format("{}: {}", segment::segment_file_name(seg.base, kLogSuffix),
                             seg.scan->describe_error())};
    }
  }
  return std::optional<Cut>{};
}

Result<void> SegmentRecovery::repair(size_t i, const ExistingIndexes& existing,
                                     std::optional<int32_t> previous_epoch, SegmentScan& scan) {
  const Offset base = segments_[i].base;
  const auto log_file = file(base, kLogSuffix);
  const SegmentDamage damage{dir_.topic,
                             dir_.partition,
                             log_file,
                             base,
                             scan.valid_bytes,
                             scan.next_offset,
                             segments_[i + 1].base,
                             scan.file_bytes,
                             scan.describe_error(),
                             settings_.quarantine_dir};
  const auto outcome = settings_.repair(damage);
  const std::string what = fmt::format("{}: {}", log_file.filename().string(), damage.reason);
  auto log = spdlog::get("recovery");
  if (!outcome.from_broker) {
    if (log) {
      log->warn("{}: {}; not repaired ({}): cut as a standalone log is", dir_.name(), what,
                outcome.detail);
    }
    return {};
  }
  report_.repairs.push_back(fmt::format("{}; repaired from broker {}", what, *outcome.from_broker));
  report_.problems.push_back(report_.repairs.back());
  report_.bytes_quarantined += damage.file_size - damage.position;
  if (log) log->warn("{}: {}", dir_.name(), report_.repairs.back());
  auto again = scan_segment(log_file, base, settings_.options, existing, nullptr, previous_epoch);
  if (!again) return again.error();
  scan = std::move(*again);
  return {};
}

Result<void> SegmentRecovery::reconcile_epochs() {
  if (segments_.empty() || !segments_.back().scan) return {};
  const int64_t end = segments_.back().scan->next_offset.value;
  bool all_scanned = true;
  std::vector<EpochEntry> from_batches;
  for (const auto& seg : segments_) {
    if (!seg.scan) {
      all_scanned = false;
      continue;
    }
    for (const auto& e : seg.scan->epochs) {
      if (seg.scan->valid_bytes == 0 || e.start_offset >= end) break;
      if (from_batches.empty() || e.epoch > from_batches.back().epoch) from_batches.push_back(e);
    }
  }
  auto epochs = LeaderEpochs::load(dir_.path);
  std::string rebuild_reason;
  if (!epochs) {
    if (epochs.error() != Errc::bad_checkpoint) return epochs.error();
    rebuild_reason = fmt::format("{} is malformed", segment::kLeaderEpochFile);
  } else if (epochs->entries().empty()) {
    const bool replicated = std::any_of(from_batches.begin(), from_batches.end(),
                                        [](const EpochEntry& e) { return e.epoch > 0; });
    if (!all_scanned || !replicated) return {};
    rebuild_reason = fmt::format("{} is missing", segment::kLeaderEpochFile);
  } else {
    const auto entries = epochs->entries();
    if (entries.back().start_offset < end) return {};
    if (settings_.read_only) return {};
    // Epochs the cut (or a crash before the log caught up) left without batches.
    return epochs->truncate_from_end(end);
  }
  const std::string problem = fmt::format("{}: rebuilt from the batch headers", rebuild_reason);
  report_.problems.push_back(problem);
  if (auto log = spdlog::get("recovery")) log->warn("{}: {}", dir_.name(), problem);
  if (settings_.read_only) return {};
  std::error_code ec;
  std::filesystem::remove(dir_.path / segment::kLeaderEpochFile, ec);
  auto fresh = LeaderEpochs::load(dir_.path);
  if (!fresh) return fresh.error();
  for (const auto& e : from_batches) {
    if (auto r = fresh->assign(e.epoch, e.start_offset); !r) return r;
  }
  return {};
}

QuarantineCut SegmentRecovery::plan_cut(const Cut& cut) {
  const auto& seg = segments_[cut.segment];
  QuarantineCut q{cut.reason, file(seg.base, kLogSuffix), cut.position, {}};
  uint64_t bytes = seg.size - std::min(seg.size, cut.position);
  for (size_t i = cut.segment + 1; i < segments_.size(); ++i) {
    q.later_files.push_back(file(segments_[i].base, kLogSuffix));
    bytes += segments_[i].size;
  }
  // A torn final batch is what a crash normally leaves; anything else is damage.
  const bool torn_tail = !cut.whole && q.later_files.empty() &&
                         seg.scan->error == make_error_code(segment::Errc::truncated);
  if (auto log = spdlog::get("recovery")) {
    log->log(torn_tail ? spdlog::level::info : spdlog::level::err,
             "{}: {} {} bytes ({} later segments): {}", dir_.name(),
             settings_.read_only ? "would cut" : "cutting", bytes, q.later_files.size(),
             cut.reason);
  }
  report_.truncation = cut.reason;
  report_.problems.push_back(cut.reason);
  report_.bytes_quarantined = bytes;
  return q;
}

Result<void> SegmentRecovery::apply_cut(const Cut& cut) {
  const QuarantineCut q = plan_cut(cut);
  report_.cut_sealed = cut.segment + 1 < segments_.size();
  const size_t keep = cut.whole ? cut.segment : cut.segment + 1;
  report_.segments_removed += segments_.size() - keep;
  if (settings_.read_only) {
    segments_.resize(keep);
    return {};
  }
  auto copied = quarantine(settings_.quarantine_dir, q, wall_clock_ms());
  if (!copied) return copied.error();
  report_.bytes_quarantined = *copied;
  if (!cut.whole) {
    auto f = File::open(q.first_file, O_RDWR);
    if (!f) return f.error();
    if (auto r = f->truncate(cut.position); !r) return r;
    if (auto r = f->sync(); !r) return r;
    segments_[cut.segment].size = cut.position;
    segments_[cut.segment].scan->file_bytes = cut.position;
  }
  for (size_t i = keep; i < segments_.size(); ++i) {
    if (auto r = remove_segment_files(segments_[i].base); !r) return r;
  }
  segments_.resize(keep);
  dir_changed_ = true;
  return {};
}

Result<void> SegmentRecovery::remove_segment_files(Offset base) {
  for (auto suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) {
    std::error_code ec;
    if (!fs::remove(file(base, suffix), ec) && ec) return ec;
  }
  return {};
}

Result<void> SegmentRecovery::check_indexes() {
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (!segments_[i].scan) continue;
    const SegmentScan& scan = *segments_[i].scan;
    const bool sealed = i + 1 < segments_.size();
    // A rebuilt .timeindex follows the rebuilt .index's entries; beside a kept .index of the
    // active segment it may stop short of that one's last entry, which Segment::open relies on.
    // Then the .index is rebuilt too, so the pair comes from one rule.
    const int64_t rebuilt_reach =
        scan.time_entries.empty() ? -1 : scan.time_entries.back().timestamp_ms;
    const bool with_time = !sealed && !scan.time_index.problem.empty() &&
                           rebuilt_reach < scan.largest_at_last_offset_entry;
    if (auto r = check_index(segments_[i], sealed, false, with_time); !r) return r;
    if (auto r = check_index(segments_[i], sealed, true, false); !r) return r;
  }
  return {};
}

Result<void> SegmentRecovery::check_index(const SegmentFiles& seg, bool sealed, bool time,
                                          bool with_time_index) {
  const SegmentScan& scan = *seg.scan;
  const fs::path path = file(seg.base, time ? kTimeIndexSuffix : kIndexSuffix);
  const IndexVerdict& verdict = time ? scan.time_index : scan.offset_index;
  std::string why = verdict.problem;
  // A sealed segment's index is read-only and never trimmed again: preallocated room is waste.
  if (why.empty() && sealed && !verdict.trimmed) why = "not trimmed, though its segment is sealed";
  if (why.empty() && sealed && time && !verdict.reaches_end) {
    why = "too sparse: the segment is sealed, and its largest timestamp has no entry";
  }
  if (why.empty() && with_time_index && !settings_.read_only) {
    why = "valid, but written again with the rebuilt .timeindex";
  }
  if (why.empty()) return {};
  ++report_.indexes_rebuilt;
  if (settings_.read_only) {
    report_.problems.push_back(fmt::format("{}: {}", path.filename().string(), why));
    return {};
  }
  const auto& opts = settings_.options;
  SLUICE_CHECK(entries_cover(scan), "rebuilt index of {} does not cover the log", path.string());
  const std::string bytes =
      time ? time_index_bytes(scan, opts, sealed) : offset_index_bytes(scan, opts, sealed);
  if (auto r = write_file_atomically(path, bytes); !r) {
    // A full disk may have no room for the new index beside the old one. The old one is wrong
    // or missing anyway and is derived from the log: remove it and write the new one in its
    // room (a crash in between leaves it missing, which the next recovery rebuilds again).
    if (r.error() != std::errc::no_space_on_device || !verdict.present) return r;
    std::error_code ec;
    if (!fs::remove(path, ec) && ec) return ec;
    if (auto again = write_file_atomically(path, bytes); !again) return again;
  }
  auto back = read_file(path);
  if (!back) return back.error();
  if (*back != bytes) return std::make_error_code(std::errc::io_error);
  report_.problems.push_back(fmt::format("{}: {}; rebuilt", path.filename().string(), why));
  return {};
}

}  // namespace sluice::recovery
