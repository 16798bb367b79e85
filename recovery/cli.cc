#include "recovery/cli.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "recovery/log_dir_lock.h"
#include "recovery/log_recovery.h"

namespace sluice::recovery {
namespace {

struct Args {
  std::optional<std::filesystem::path> config;
  std::vector<std::filesystem::path> log_dirs;
  std::optional<std::string> topic;
  bool json = false;
  std::optional<int> threads;
  std::optional<RecoveryMode> mode;
};

bool parse_int(std::string_view s, int& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

// Parses the flags `allowed` names; prints a message and returns nullopt on a usage error.
std::optional<Args> parse_args(int argc, char** argv, std::string_view command,
                               std::string_view allowed) {
  Args args;
  auto need_value = [&](int i) { return i + 1 < argc; };
  for (int i = 0; i < argc; ++i) {
    const std::string_view flag = argv[i];
    const bool known = allowed.find(fmt::format(" {} ", flag)) != std::string_view::npos;
    bool ok = known;
    if (ok && flag == "--json") {
      args.json = true;
    } else if (ok && !need_value(i)) {
      ok = false;
    } else if (ok && flag == "--log-dir") {
      args.log_dirs.emplace_back(argv[++i]);
    } else if (ok && flag == "--config") {
      args.config = argv[++i];
    } else if (ok && flag == "--topic") {
      args.topic = argv[++i];
    } else if (ok && flag == "--threads") {
      int n = 0;
      ok = parse_int(argv[++i], n) && n >= 1;
      args.threads = n;
    } else if (ok && flag == "--mode") {
      const std::string_view m = argv[++i];
      ok = m == "full" || m == "checkpoint";
      args.mode = m == "full" ? RecoveryMode::full : RecoveryMode::checkpoint;
    }
    if (!ok) {
      fmt::print(stderr, "sluice {}: bad or incomplete argument '{}' (allowed: {})\n", command,
                 flag, allowed);
      return std::nullopt;
    }
  }
  if (args.log_dirs.empty() && !args.config) {
    fmt::print(stderr, "sluice {}: --log-dir DIR or --config FILE is required\n", command);
    return std::nullopt;
  }
  return args;
}

// The broker's settings (log.dirs, topic defaults, recovery threads and mode) from --config,
// or the built-in defaults; --log-dir replaces log.dirs. nullopt after printing a ConfigError.
std::optional<LogRecoveryOptions> options_from(const Args& args, std::string_view command) {
  config::BrokerConfig broker;
  try {
    if (args.config) broker = config::load_broker_config(args.config, {}, nullptr);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "sluice {}: {}\n", command, e.what());
    return std::nullopt;
  }
  LogRecoveryOptions options = log_recovery_options(broker);
  if (!args.log_dirs.empty()) options.log_dirs = args.log_dirs;
  return options;
}

// Silences the recovery logger while a command prints its own output; restores it after.
class QuietLogger {
 public:
  explicit QuietLogger(spdlog::level::level_enum level)
      : log_(recovery_logger()), old_(log_->level()) {
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

}  // namespace

int run_verify(int argc, char** argv) {
  auto args = parse_args(argc, argv, "verify", " --config --log-dir --topic --json ");
  if (!args) return 2;
  auto options = options_from(*args, "verify");
  if (!options) return 2;
  // verify changes nothing, so a running broker does not stop it; its answer may be stale.
  for (const auto& dir : options->log_dirs) {
    if (const auto holder = log_dir_lock_holder(dir)) {
      const std::string pid = *holder > 0 ? fmt::format("pid {}", *holder) : "pid unknown";
      fmt::print(stderr,
                 "sluice verify: warning: a broker ({}) is running on {}; it may write while "
                 "this reads, so the newest segments can look torn\n",
                 pid, dir.string());
    }
  }
  QuietLogger quiet(spdlog::level::off);
  options->mode = RecoveryMode::full;
  options->threads = 1;
  options->topic = args->topic;
  options->read_only = true;
  options->progress_interval_ms = 60'000;
  auto report = LogRecovery(std::move(*options)).run();
  if (!report) {
    fmt::print(stderr, "sluice verify: {}\n", report.error().message());
    return 2;
  }
  if (args->json) {
    fmt::print("{}", to_json(*report));
  } else {
    print_table(*report);
  }
  for (const auto& p : report->partitions) {
    if (!p.clean()) return 1;
  }
  return 0;
}

int run_recover(int argc, char** argv) {
  auto args = parse_args(argc, argv, "recover", " --config --log-dir --threads --mode ");
  if (!args) return 2;
  auto options = options_from(*args, "recover");
  if (!options) return 2;
  if (args->threads) options->threads = *args->threads;
  if (args->mode) options->mode = *args->mode;
  std::vector<LogDirLock> locks;  // held until recovery is done, as the broker holds them
  try {
    for (const auto& dir : options->log_dirs) locks.push_back(LogDirLock::acquire(dir));
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

}  // namespace sluice::recovery
