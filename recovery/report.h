#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "config/config.h"

namespace sluice::recovery {

// How thoroughly recovery checks segments (recovery.mode): full scans every segment;
// checkpoint, after a clean stop, trusts the segments wholly below the recovery point.
using RecoveryMode = config::RecoveryMode;

// What recovery did (or, read-only, would do) to one partition.
struct PartitionReport {
  std::string name;  // "<topic>-<partition>"
  std::filesystem::path dir;
  uint64_t segments = 0;          // .log files kept
  uint64_t segments_scanned = 0;  // fully validated
  uint64_t segments_skipped = 0;  // trusted below the recovery point (checkpoint mode)
  uint64_t segments_removed = 0;  // cut whole or empty in the middle
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t bytes_scanned = 0;
  uint64_t bytes_quarantined = 0;
  uint64_t indexes_rebuilt = 0;           // index files written (or, read-only, found wrong)
  Offset next_offset;                     // where the next append lands
  std::string mode;                       // "full" or "checkpoint"
  std::optional<std::string> truncation;  // why the log was cut, if it was
  bool cut_sealed = false;                // the cut began before the last segment
  std::vector<std::string> repairs;       // damage replaced from a replica's copy
  std::vector<std::string> strays;        // stray files removed (or to remove)
  std::vector<std::string> ignored;       // files left alone
  std::vector<std::string> problems;      // every defect found, repaired or not
  std::string failure;                    // an I/O error that stopped recovery of it

  bool clean() const { return problems.empty() && failure.empty(); }
};

// The report of one run over all log dirs.
struct RecoveryReport {
  std::vector<std::filesystem::path> log_dirs;
  RecoveryMode mode = RecoveryMode::full;
  bool read_only = false;
  std::vector<bool> clean_shutdown;  // per log dir: was .clean_shutdown there
  std::vector<PartitionReport> partitions;
  double duration_s = 0;

  uint64_t total_bytes_scanned() const;
  uint64_t total_bytes_quarantined() const;
  double mb_per_s() const;
  bool failed() const;  // some partition could not be recovered
};

std::string to_json(const PartitionReport& p);
// The whole report; with log_dir, only that log dir's partitions (for its recovery-report.json).
std::string to_json(const RecoveryReport& report, const std::filesystem::path* log_dir = nullptr);

}  // namespace sluice::recovery
