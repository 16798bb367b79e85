#include "recovery/log_recovery.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/file.h"
#include "recovery/checkpoint.h"
#include "recovery/errors.h"
#include "segment/layout.h"

namespace sluice::recovery {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Counts a partition's .log files and bytes for the progress totals.
void add_totals(const fs::path& dir, RecoveryProgress& progress) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!segment::parse_segment_file_name(name, segment::kLogSuffix)) continue;
    progress.segments_total.fetch_add(1);
    progress.bytes_total.fetch_add(entry.file_size(ec));
  }
}

std::string summary_line(const PartitionReport& p) {
  return fmt::format(
      "{}: {} segments ({} scanned, {} trusted), {} batches, {} records, {} bytes scanned, "
      "{} bytes quarantined, {} indexes rebuilt, {} strays, next offset {}{}{}",
      p.name, p.segments, p.segments_scanned, p.segments_skipped, p.batches, p.records,
      p.bytes_scanned, p.bytes_quarantined, p.indexes_rebuilt, p.strays.size(), p.next_offset.value,
      p.truncation ? "; cut: " + *p.truncation : std::string(),
      p.failure.empty() ? std::string() : "; FAILED: " + p.failure);
}

}  // namespace

std::shared_ptr<spdlog::logger> recovery_logger() {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto log = spdlog::get("recovery")) return log;
  auto log = spdlog::default_logger()->clone("recovery");
  spdlog::register_logger(log);
  return log;
}

RecoveryOptions recovery_options(const config::TopicConfig& topic) {
  return {static_cast<size_t>(topic.segment_index_bytes),
          static_cast<size_t>(topic.index_interval_bytes)};
}

Result<RecoveryOptions> partition_options(const config::TopicConfig& defaults,
                                          const PartitionDir& dir) {
  const fs::path file = dir.path / segment::kTopicConfigFile;
  std::error_code ec;
  if (!fs::exists(file, ec)) return recovery_options(defaults);
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return errno_code(EIO);
  try {
    const auto overrides = config::parse_properties(text.str(), file.string());
    return recovery_options(config::apply_topic_overrides(defaults, overrides));
  } catch (const config::ConfigError& e) {
    recovery_logger()->error("{}: {}", dir.name(), e.what());
    return Errc::bad_topic_config;
  }
}

LogRecoveryOptions log_recovery_options(const config::BrokerConfig& broker) {
  LogRecoveryOptions o;
  o.log_dirs.assign(broker.log_dirs.begin(), broker.log_dirs.end());
  o.threads = broker.num_recovery_threads;
  o.mode = broker.recovery_mode;
  o.topic_defaults = broker.topic_defaults;
  return o;
}

std::vector<PartitionDir> discover_partitions(const fs::path& log_dir) {
  std::vector<PartitionDir> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(log_dir, ec)) {
    if (!entry.is_directory(ec)) continue;
    if (auto dir = parse_partition_dir(entry.path())) out.push_back(std::move(*dir));
  }
  std::sort(out.begin(), out.end(),
            [](const PartitionDir& a, const PartitionDir& b) { return a.path < b.path; });
  return out;
}

LogRecovery::LogRecovery(LogRecoveryOptions options)
    : options_(std::move(options)), log_(recovery_logger()) {
  if (!options_.options_for) {
    options_.options_for = [defaults = options_.topic_defaults](const PartitionDir& dir) {
      return partition_options(defaults, dir);
    };
  }
  options_.threads = std::max(1, options_.threads);
  for (auto& dir : options_.log_dirs) {
    dir = dir.lexically_normal();
    if (!dir.has_filename() && dir.has_parent_path()) dir = dir.parent_path();
  }
}

Result<void> LogRecovery::prepare() {
  for (size_t i = 0; i < options_.log_dirs.size(); ++i) {
    const fs::path& dir = options_.log_dirs[i];
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      return ec ? ec : std::make_error_code(std::errc::not_a_directory);
    bool clean = fs::exists(dir / segment::kCleanShutdownFile, ec);
    if (!options_.read_only) {
      auto consumed = consume_clean_shutdown(dir);
      if (!consumed) return consumed.error();
      clean = *consumed;
    }
    clean_shutdown_.push_back(clean);
    RecoveryPoints points;
    if (options_.mode == RecoveryMode::checkpoint && clean && !options_.read_only) {
      auto read = read_recovery_checkpoint(dir);
      if (read) {
        points = std::move(*read);
      } else {
        log_->warn("{}: unreadable {} ({}); recovering fully", dir.string(),
                   segment::kRecoveryCheckpointFile, read.error().message());
      }
    }
    points_.push_back(std::move(points));
    for (auto& p : discover_partitions(dir)) {
      if (options_.topic && p.topic != *options_.topic) continue;
      add_totals(p.path, progress_);
      jobs_.push_back({std::move(p), i});
    }
  }
  progress_.partitions_total.store(jobs_.size());
  reports_.resize(jobs_.size());
  return {};
}

void LogRecovery::run_job(const Job& job, PartitionReport& out) {
  SegmentRecoverySettings settings;
  settings.read_only = options_.read_only;
  settings.quarantine_dir =
      options_.log_dirs[job.log_dir_index] / segment::kQuarantineDir / job.dir.name();
  settings.bytes_done = &progress_.bytes_done;
  settings.segments_done = &progress_.segments_done;
  settings.repair = options_.repair;
  const auto& points = points_[job.log_dir_index];
  if (auto it = points.find(job.dir.name()); it != points.end()) {
    settings.recovery_point = it->second;
  }
  Result<PartitionReport> r = std::error_code{};
  if (auto opts = options_.options_for(job.dir); opts) {
    settings.options = *opts;
    r = SegmentRecovery(job.dir, std::move(settings)).run();
  } else {
    r = opts.error();
  }
  if (r) {
    out = std::move(*r);
  } else {
    out.name = job.dir.name();
    out.dir = job.dir.path;
    out.failure = r.error().message();
  }
  const auto level = !out.failure.empty() ? spdlog::level::err
                     : out.truncation     ? spdlog::level::warn
                                          : spdlog::level::info;
  log_->log(level, "{}", summary_line(out));
}

void LogRecovery::run_workers() {
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::condition_variable cv;
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < jobs_.size(); i = next.fetch_add(1)) {
      run_job(jobs_[i], reports_[i]);
      progress_.partitions_done.fetch_add(1);
      std::lock_guard lock(mu);
      cv.notify_all();
    }
  };
  std::vector<std::jthread> workers;
  const size_t n = std::min<size_t>(static_cast<size_t>(options_.threads), jobs_.size());
  for (size_t i = 0; i < n; ++i) workers.emplace_back(work);
  const auto interval = std::chrono::milliseconds(options_.progress_interval_ms);
  uint64_t last_bytes = 0;
  auto last_time = Clock::now();
  std::unique_lock lock(mu);
  while (!cv.wait_for(lock, interval, [&] { return progress_.partitions_done == jobs_.size(); })) {
    const uint64_t bytes = progress_.bytes_done.load();
    const double rate = static_cast<double>(bytes - last_bytes) / 1e6 / seconds_since(last_time);
    progress_.current_mb_per_s.store(rate);
    last_bytes = bytes;
    last_time = Clock::now();
    log_->info("progress: {}/{} partitions, {}/{} segments, {}/{} MB, {:.0f} MB/s",
               progress_.partitions_done.load(), progress_.partitions_total.load(),
               progress_.segments_done.load(), progress_.segments_total.load(), bytes / 1000000,
               progress_.bytes_total.load() / 1000000, rate);
  }
}

Result<RecoveryReport> LogRecovery::run() {
  const auto start = Clock::now();
  if (auto r = prepare(); !r) return r.error();
  log_->info("recovering {} partitions ({} MB) in {} log dirs on {} threads, mode {}", jobs_.size(),
             progress_.bytes_total.load() / 1000000, options_.log_dirs.size(), options_.threads,
             config::to_string(options_.mode));
  run_workers();
  RecoveryReport report;
  report.log_dirs = options_.log_dirs;
  report.mode = options_.mode;
  report.read_only = options_.read_only;
  report.clean_shutdown = clean_shutdown_;
  report.partitions = std::move(reports_);
  report.duration_s = seconds_since(start);
  log_->info(
      "recovered {} partitions: {} bytes scanned, {} bytes quarantined in {:.2f} s "
      "({:.0f} MB/s){}",
      report.partitions.size(), report.total_bytes_scanned(), report.total_bytes_quarantined(),
      report.duration_s, report.mb_per_s(), report.failed() ? "; SOME FAILED" : "");
  if (!options_.read_only) {
    // The report documents the recovery; failing to write it (a full disk) must not keep the
    // broker from starting on logs that were recovered.
    if (auto r = write_reports(report); !r) {
      log_->error("could not write {}: {}", segment::kRecoveryReportFile, r.error().message());
    }
  }
  return report;
}

Result<void> LogRecovery::write_reports(const RecoveryReport& report) {
  for (const auto& dir : options_.log_dirs) {
    if (auto r = write_file_atomically(dir / segment::kRecoveryReportFile, to_json(report, &dir));
        !r) {
      return r;
    }
  }
  return {};
}

}  // namespace sluice::recovery
