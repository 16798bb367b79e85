#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/types.h"
#include "recovery/damage.h"
#include "recovery/quarantine.h"
#include "recovery/report.h"
#include "recovery/segment_scan.h"

namespace sluice::recovery {

// A partition directory, "<topic>-<partition>" under a log dir.
struct PartitionDir {
  std::filesystem::path path;
  std::string topic;
  int32_t partition = 0;

  std::string name() const;
};

// Parses a directory name: topic is everything before the last '-' and matches
// [a-zA-Z0-9._-]{1,249} (not "." or ".."), partition is the decimal after it. nullopt for any
// other name, including "quarantine" and "*.deleted".
std::optional<PartitionDir> parse_partition_dir(const std::filesystem::path& path);

struct SegmentRecoverySettings {
  RecoveryOptions options;
  bool read_only = false;  // verify: open everything O_RDONLY, change nothing, report problems
  // Checkpoint mode after a clean stop: segments whose offsets all lie below this are trusted
  // (not scanned, index files kept as they are).
  std::optional<Offset> recovery_point;
  std::filesystem::path quarantine_dir;            // <log.dir>/quarantine/<topic>-<partition>
  std::atomic<uint64_t>* bytes_done = nullptr;     // progress, if given
  std::atomic<uint64_t>* segments_done = nullptr;  // progress, if given
  // Replaces a bad batch in a segment before the last from a replica's copy (damage.h); the
  // segment is then scanned again. Without it, or when it fails, the log is cut there.
  RepairFn repair;
};

// Validates, cuts and re-indexes the segments of one partition directory, so that afterwards
// every .log holds only whole valid batches with contiguous offsets, segment base offsets
// follow each other without gap or overlap, and every .index/.timeindex is a valid index of
// its .log (recovery/index_check.h; a sealed segment's trimmed). An index that is not is
// rebuilt by the indexing rule with the partition's settings, as segment::Segment writes it
// (sealed segments trimmed with the seal's time entry; the last, active one preallocated to
// segment.index.bytes).
//
// At the first bad or incomplete batch (or a segment that does not start where the previous
// one ends), the bytes from there to the end of that segment and every later segment are
// copied to quarantine_dir and fsynced; only then is the segment truncated at the end of its
// last valid batch (fsynced) and the later segments deleted (directory fsynced). Rebuilt
// indexes are written to a temporary name, fsynced and renamed. Stray files (*.tmp,
// *.deleted, index files without a .log, empty .log files before the last segment) are
// removed; unknown names are left alone and reported as ignored. A valid index is not
// rewritten, however densely it was written, so recovering a recovered directory changes
// nothing, and neither does recovering under another index.interval.bytes.
//
// read_only: nothing is opened for writing or created; every defect is listed in the
// report's problems instead of repaired.
//
// Threading: one thread per SegmentRecovery; nobody else may use the directory meanwhile.
class SegmentRecovery {
 public:
  SegmentRecovery(PartitionDir dir, SegmentRecoverySettings settings);

  // Recovers the partition. An I/O failure stops it and is returned (the directory is then
  // left with whatever was fully done: copies always precede removals).
  [[nodiscard]] Result<PartitionReport> run();

 private:
  struct SegmentFiles {
    Offset base;
    uint64_t size = 0;
    std::optional<SegmentScan> scan;  // absent when trusted (checkpoint mode)
  };
  struct Cut {
    size_t segment = 0;
    uint64_t position = 0;
    bool whole = false;  // remove the segment itself too (it does not fit the sequence)
    std::string reason;
  };

  [[nodiscard]] Result<void> classify();
  [[nodiscard]] Result<void> remove_file(const std::filesystem::path& path, std::string what);
  [[nodiscard]] Result<void> drop_empty_middle_segments();
  [[nodiscard]] Result<std::optional<Cut>> scan_segments();
  // Hands the damage `scan` found in segment i (not the last) to settings_.repair; once a
  // replica's copy replaced it, scans the segment again into `scan`.
  [[nodiscard]] Result<void> repair(size_t i, const ExistingIndexes& existing,
                                    std::optional<int32_t> previous_epoch, SegmentScan& scan);
  // Describes the cut (quarantine plan, log line, report) without touching a file.
  QuarantineCut plan_cut(const Cut& cut);
  [[nodiscard]] Result<void> apply_cut(const Cut& cut);
  [[nodiscard]] Result<void> remove_segment_files(Offset base);
  [[nodiscard]] Result<ExistingIndexes> read_indexes(Offset base) const;
  [[nodiscard]] Result<void> check_indexes();
  // Brings leader-epoch-checkpoint in line with the log: entries past its end dropped, a
  // malformed file (or a missing one where batches carry epochs above 0) rebuilt from the
  // batch headers scanned.
  [[nodiscard]] Result<void> reconcile_epochs();
  // with_time_index: rewrite a valid .index too, because its .timeindex is rebuilt.
  [[nodiscard]] Result<void> check_index(const SegmentFiles& seg, bool sealed, bool time,
                                         bool with_time_index);
  bool trusted(size_t i) const;
  std::filesystem::path file(Offset base, std::string_view suffix) const;

  PartitionDir dir_;
  SegmentRecoverySettings settings_;
  PartitionReport report_;
  std::vector<SegmentFiles> segments_;
  bool dir_changed_ = false;  // entries removed: fsync the directory before returning
};

}  // namespace sluice::recovery
