// `sluice verify`, `sluice recover` and `sluice dump`: recovery/ does the work and returns what
// it found; this prints it.

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "app/commands.h"
#include "recovery/dump.h"
#include "recovery/log_dir_lock.h"
#include "recovery/log_recovery.h"

namespace sluice::app {
namespace {

namespace fs = std::filesystem;
using recovery::LogRecovery;
using recovery::LogRecoveryOptions;
using recovery::RecoveryReport;

// The broker's settings (log.dirs, topic defaults, recovery threads and mode) from --config,
// or the built-in defaults; --log-dir replaces log.dirs. nullopt after printing a ConfigError.
std::optional<LogRecoveryOptions> options_from(const LogDirArgs& args, std::string_view command) {
  config::BrokerConfig broker;
  try {
    if (args.config_file) broker = config::load_broker_config(args.config_file, {}, nullptr);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "sluice {}: {}\n", command, e.what());
    return std::nullopt;
  }
  LogRecoveryOptions options = recovery::log_recovery_options(broker);
  if (!args.log_dirs.empty()) options.log_dirs = args.log_dirs;
  return options;
}

// Silences the recovery logger while a command prints its own output; restores it after.
class QuietLogger {
 public:
  explicit QuietLogger(spdlog::level::level_enum level)
      : log_(recovery::recovery_logger()), old_(log_->level()) {
    log_->set_level(level);
  }
  ~QuietLogger() { log_->set_level(old_); }
  QuietLogger(const QuietLogger&) = delete;
  QuietLogger& operator=(const QuietLogger&) = delete;

 private:
  std::shared_ptr<spdlog::logger> log_;
  spdlog::level::level_enum old_;
};

void print_table(const RecoveryReport& report) {
  fmt::print("{:<40} {:>9} {:>10} {:>12} {:>14} {:>9}\n", "PARTITION", "SEGMENTS", "BATCHES",
             "RECORDS", "BYTES", "PROBLEMS");
  for (const auto& p : report.partitions) {
    const size_t problems = p.problems.size() + (p.failure.empty() ? 0 : 1);
    fmt::print("{:<40} {:>9} {:>10} {:>12} {:>14} {:>9}\n", p.name, p.segments, p.batches,
               p.records, p.bytes_scanned, problems);
    for (const auto& problem : p.problems) fmt::print("    {}\n", problem);
    for (const auto& ignored : p.ignored) fmt::print("    ignored: {}\n", ignored);
    if (!p.failure.empty()) fmt::print("    failed: {}\n", p.failure);
  }
}

// Printable ASCII as is; backslash and every other byte as \\ or \xNN.
std::string escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (u < 0x20 || u >= 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_nullable(const std::optional<std::string>& s) {
  return s ? escape(*s) : std::string("null");
}

void print_batches(const std::vector<recovery::DumpedBatch>& batches) {
  for (const auto& b : batches) {
    const auto& h = b.header;
    const bool append_time = h.timestamp_type() == TimestampType::log_append_time;
    const std::string_view label = append_time ? "LogAppendTime" : "CreateTime";
    fmt::print(
        "baseOffset: {} lastOffset: {} count: {} partitionLeaderEpoch: {} position: {} {}: {} "
        "size: {} checksum: {:016x} valid: true\n",
        h.base_offset.value, h.last_offset().value, h.record_count, h.leader_epoch, b.position,
        label, h.max_timestamp, h.size_bytes(), h.checksum);
    for (const auto& r : b.records) {
      std::string hs;
      for (const auto& [key, value] : r.headers) {
        if (!hs.empty()) hs += ", ";
        hs += fmt::format("{}={}", escape(key), escape_nullable(value));
      }
      fmt::print("| offset: {} {}: {} key: {} value: {} headers: [{}]\n", r.offset.value, label,
                 r.timestamp_ms, escape_nullable(r.key), escape_nullable(r.value), hs);
    }
  }
}

}  // namespace

int verify(const LogDirArgs& args) {
  auto options = options_from(args, "verify");
  if (!options) return 2;
  // verify changes nothing, so a running broker does not stop it; its answer may be stale.
  for (const auto& dir : options->log_dirs) {
    if (const auto holder = recovery::log_dir_lock_holder(dir)) {
      const std::string pid = *holder > 0 ? fmt::format("pid {}", *holder) : "pid unknown";
      fmt::print(stderr,
                 "sluice verify: warning: a broker ({}) is running on {}; it may write while "
                 "this reads, so the newest segments can look torn\n",
                 pid, dir.string());
    }
  }
  QuietLogger quiet(spdlog::level::off);
  options->mode = recovery::RecoveryMode::full;
  options->threads = 1;
  options->topic = args.topic;
  options->read_only = true;
  options->progress_interval_ms = 60'000;
  const auto log_dirs = options->log_dirs;
  auto report = LogRecovery(std::move(*options)).run();
  if (!report) {
    fmt::print(stderr, "sluice verify: {}\n", report.error().message());
    return 2;
  }
  // An empty table would read as "clean": a topic with no partition here is a usage error.
  if (args.topic && report->partitions.empty()) {
    std::vector<std::string> dirs;
    for (const auto& d : log_dirs) dirs.push_back(d.string());
    fmt::print(stderr, "sluice verify: no partition of topic '{}' in {}\n", *args.topic,
               fmt::join(dirs, ", "));
    return 2;
  }
  if (args.json) {
    fmt::print("{}", to_json(*report));
  } else {
    print_table(*report);
  }
  for (const auto& p : report->partitions) {
    if (!p.clean()) return 1;
  }
  return 0;
}

int recover(const LogDirArgs& args) {
  auto options = options_from(args, "recover");
  if (!options) return 2;
  if (args.threads) options->threads = *args.threads;
  if (args.mode) options->mode = *args.mode;
  std::vector<recovery::LogDirLock> locks;  // held until recovery is done, as the broker holds them
  try {
    for (const auto& dir : options->log_dirs) locks.push_back(recovery::LogDirLock::acquire(dir));
  } catch (const std::exception& e) {
    fmt::print(stderr, "sluice recover: {}\n", e.what());
    return 1;
  }
  auto report = [&] {
    QuietLogger quiet(spdlog::level::warn);
    return LogRecovery(std::move(*options)).run();
  }();
  if (!report) {
    fmt::print(stderr, "sluice recover: {}\n", report.error().message());
    return 1;
  }
  print_table(*report);
  fmt::print("{} partitions, {} bytes scanned, {} bytes quarantined, {:.2f} s, {:.0f} MB/s\n",
             report->partitions.size(), report->total_bytes_scanned(),
             report->total_bytes_quarantined(), report->duration_s, report->mb_per_s());
  return report->failed() ? 1 : 0;
}

int dump(const DumpArgs& args) {
  const auto kind = recovery::dump_kind(args.file);
  if (!kind) {
    fmt::print(stderr, "sluice dump: {} is not a .log, .index or .timeindex file\n",
               args.file.filename().string());
    return 2;
  }
  auto dumped = recovery::dump_file(args.file, *kind, args.print_data);
  if (!dumped) {
    fmt::print(stderr, "sluice dump: {}: {}\n", args.file.string(), dumped.error().message());
    return 1;
  }
  fmt::print("Dumping {}\n", args.file.string());
  print_batches(dumped->batches);
  for (const auto& e : dumped->offsets) {
    fmt::print("offset: {} position: {}\n", e.offset.value, e.position.value);
  }
  for (const auto& e : dumped->times) {
    fmt::print("timestamp: {} offset: {}\n", e.timestamp_ms, e.offset.value);
  }
  if (dumped->defect) {
    fmt::print("error at position {}: {}\n", dumped->defect->position, dumped->defect->what);
    return 1;
  }
  return 0;
}

}  // namespace sluice::app
