#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "recovery/checkpoint.h"
#include "recovery/report.h"
#include "recovery/segment_recovery.h"

namespace spdlog {
class logger;
}

namespace sluice::recovery {

struct LogRecoveryOptions {
  std::vector<std::filesystem::path> log_dirs;  // log.dirs
  int threads = 1;                              // num.recovery.threads
  RecoveryMode mode = RecoveryMode::full;       // recovery.mode
  config::TopicConfig topic_defaults;           // the broker's log.* topic defaults
  // The settings of one partition; by default partition_options(topic_defaults, dir).
  std::function<Result<RecoveryOptions>(const PartitionDir&)> options_for;
  bool read_only = false;            // verify: change nothing, write no report
  std::optional<std::string> topic;  // only this topic's partitions
  int progress_interval_ms = 2000;   // how often progress is logged
  RepairFn repair;                   // SegmentRecoverySettings::repair
};

// Counters of a run in progress; every field may be read from any thread at any time.
struct RecoveryProgress {
  std::atomic<uint64_t> partitions_total{0};
  std::atomic<uint64_t> partitions_done{0};
  std::atomic<uint64_t> segments_total{0};
  std::atomic<uint64_t> segments_done{0};
  std::atomic<uint64_t> bytes_total{0};
  std::atomic<uint64_t> bytes_done{0};
  std::atomic<double> current_mb_per_s{0};  // over the last progress interval
};

// The recovery settings of a topic configuration.
RecoveryOptions recovery_options(const config::TopicConfig& topic);

// A partition's settings: <dir>/topic.properties (if any) layered over `defaults`. A malformed
// file or bad value is Errc::bad_topic_config (the ConfigError's message is logged).
[[nodiscard]] Result<RecoveryOptions> partition_options(const config::TopicConfig& defaults,
                                                        const PartitionDir& dir);

// log.dirs, num.recovery.threads, recovery.mode and the topic defaults of a broker config.
LogRecoveryOptions log_recovery_options(const config::BrokerConfig& broker);

// Every partition directory under log_dir, sorted by name; other entries are skipped.
std::vector<PartitionDir> discover_partitions(const std::filesystem::path& log_dir);

// Recovers every partition of every log dir before the broker takes traffic: consumes each
// log dir's .clean_shutdown (so a crash during recovery is never taken for a clean stop),
// reads the recovery points in checkpoint mode, and runs a SegmentRecovery per partition on
// `threads` std::threads. Writes <log.dir>/recovery-report.json atomically and logs one line
// per partition, progress every ~2 s and the totals (logger "recovery").
//
// Threading: run() is called once, from one thread, which it blocks until every partition is
// done; progress() may be read concurrently from any thread. Nothing else may touch the log
// dirs while run() is in progress.
class LogRecovery {
 public:
  explicit LogRecovery(LogRecoveryOptions options);

  // The report; partitions that failed carry their error in `failure` (see failed()). An error
  // is returned only when a log dir itself cannot be read or the report cannot be written.
  [[nodiscard]] Result<RecoveryReport> run();
  const RecoveryProgress& progress() const { return progress_; }

 private:
  struct Job {
    PartitionDir dir;
    size_t log_dir_index = 0;
  };

  [[nodiscard]] Result<void> prepare();
  void run_job(const Job& job, PartitionReport& out);
  void run_workers();
  [[nodiscard]] Result<void> write_reports(const RecoveryReport& report);

  LogRecoveryOptions options_;
  RecoveryProgress progress_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<Job> jobs_;
  std::vector<PartitionReport> reports_;  // one per job; each written by one worker
  std::vector<bool> clean_shutdown_;      // per log dir
  std::vector<RecoveryPoints> points_;    // per log dir (checkpoint mode after a clean stop)
};

// The "recovery" logger, created from the default logger if nobody registered it.
std::shared_ptr<spdlog::logger> recovery_logger();

}  // namespace sluice::recovery
