// The sluice command: `sluice serve` runs the broker; later subcommands inspect and repair
// data directories.
#include <fmt/ranges.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.h"
#include "common/prometheus.h"
#include "config/config.h"
#include "net/router.h"
#include "net/server.h"
#include "recovery/cli.h"
#include "recovery/log_dir_lock.h"
#include "recovery/log_recovery.h"

extern char** environ;

namespace {

constexpr const char* kUsage =
    "usage: sluice <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE] [--set key=value]...   run the broker\n"
    "  verify --log-dir DIR [--topic T] [--json]      check data files, read-only\n"
    "  recover --log-dir DIR [--threads N]            run start-up recovery, no server\n"
    "  dump FILE.log|FILE.index|FILE.timeindex [--print-data]\n"
    "\n"
    "`sluice serve --help` lists every configuration key with its default.\n";

void print_serve_help() {
  std::printf(
      "usage: sluice serve [--config FILE] [--set key=value]...\n"
      "\n"
      "Configuration: built-in defaults, then FILE (Java properties), then SLUICE_* environment\n"
      "variables (SLUICE_LOG_SEGMENT_BYTES sets log.segment.bytes), then --set, later wins.\n"
      "\nbroker keys:\n");
  for (const auto& key : sluice::config::broker_key_docs()) {
    std::printf("  %-36s %-24s %s\n", std::string(key.name).c_str(),
                std::string(key.default_value).c_str(), std::string(key.doc).c_str());
  }
  std::printf("\ntopic keys (per-topic overrides):\n");
  for (const auto& key : sluice::config::topic_key_docs()) {
    std::printf("  %-36s %-24s %s\n", std::string(key.name).c_str(),
                std::string(key.default_value).c_str(), std::string(key.doc).c_str());
  }
}

constexpr std::chrono::milliseconds kShutdownGrace{5000};

// "http://host:port" (config validated the shape) -> server options with every limit.
std::optional<sluice::net::ServerOptions> server_options_from(
    const sluice::config::BrokerConfig& config) {
  std::string_view rest = config.listeners;
  rest.remove_prefix(std::string_view("http://").size());
  const auto colon = rest.rfind(':');
  sluice::net::ServerOptions o;
  o.host = std::string(rest.substr(0, colon));
  if (o.host.size() >= 2 && o.host.front() == '[') o.host = o.host.substr(1, o.host.size() - 2);
  o.port = static_cast<uint16_t>(std::stoi(std::string(rest.substr(colon + 1))));
  o.threads = config.num_network_threads;
  o.max_request_bytes = static_cast<uint64_t>(config.max_request_size);
  o.max_header_bytes = static_cast<uint32_t>(config.max_header_bytes);
  o.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  o.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  o.write_timeout = std::chrono::milliseconds(config.write_timeout_ms);
  o.max_connections = config.max_connections;
  return o;
}

std::string progress_json(const sluice::recovery::RecoveryProgress& p) {
  return fmt::format(
      "{{\"state\":\"running\",\"partitions_done\":{},\"partitions_total\":{},"
      "\"segments_done\":{},\"segments_total\":{},\"bytes_done\":{},\"bytes_total\":{},"
      "\"mb_per_s\":{:.1f}}}",
      p.partitions_done.load(), p.partitions_total.load(), p.segments_done.load(),
      p.segments_total.load(), p.bytes_done.load(), p.bytes_total.load(),
      p.current_mb_per_s.load());
}

// The recovery gauges: how much work there is (partitions, segments, bytes) and how much is done.
std::string progress_metrics(const sluice::recovery::RecoveryProgress& p) {
  using Type = sluice::PrometheusWriter::Type;
  sluice::PrometheusWriter w;
  auto gauge = [&w](std::string_view name, std::string_view help, uint64_t value) {
    w.family(name, Type::gauge, help);
    w.sample({}, value);
  };
  gauge("sluice_recovery_partitions", "Partitions start-up recovery has to check.",
        p.partitions_total.load());
  gauge("sluice_recovery_partitions_done", "Partitions start-up recovery has checked.",
        p.partitions_done.load());
  gauge("sluice_recovery_segments", "Segments start-up recovery has to check.",
        p.segments_total.load());
  gauge("sluice_recovery_segments_done", "Segments start-up recovery has checked.",
        p.segments_done.load());
  gauge("sluice_recovery_bytes", "Segment bytes start-up recovery has to check.",
        p.bytes_total.load());
  gauge("sluice_recovery_bytes_done", "Segment bytes start-up recovery has checked.",
        p.bytes_done.load());
  return w.take();
}

struct ServeArgs {
  std::optional<std::filesystem::path> config_file;
  std::vector<std::string> sets;
  bool help = false;
};

// Returns nullopt (after printing why) on a usage error.
std::optional<ServeArgs> parse_serve_args(int argc, char** argv) {
  ServeArgs args;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      args.help = true;
    } else if ((arg == "--config" || arg == "--set") && i + 1 < argc) {
      if (arg == "--config") {
        args.config_file = argv[++i];
      } else {
        args.sets.emplace_back(argv[++i]);
      }
    } else if (arg.starts_with("--set=")) {
      args.sets.emplace_back(arg.substr(6));
    } else if (arg.starts_with("--config=")) {
      args.config_file = std::string(arg.substr(9));
    } else {
      std::fprintf(stderr, "sluice serve: unexpected argument '%s'\n", argv[i]);
      return std::nullopt;
    }
  }
  return args;
}

// Request bodies (100 KB for a 1000-record produce) are freed as soon as they are answered,
// which left free space at the top of a thread's malloc arena each time: glibc gave it back
// with madvise(MADV_DONTNEED) on every tenth request, and each call flushed the TLBs of both
// CPUs (4.4% of the broker's time under raw produce) before the next body faulted the pages in
// again. Keeping up to 16 MiB free per arena stops that. Setting the trim threshold also turns
// off glibc's moving mmap threshold, so that one is set too: bodies above 4 MiB get their own
// mapping, which is returned when they are freed.
void tune_malloc() {
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
}

int serve(int argc, char** argv) {
  tune_malloc();
  auto args = parse_serve_args(argc, argv);
  if (!args) return 2;
  if (args->help) {
    print_serve_help();
    return 0;
  }
  sluice::config::BrokerConfig config;
  try {
    config = sluice::config::load_broker_config(args->config_file, args->sets, environ);
  } catch (const sluice::config::ConfigError& e) {
    std::fprintf(stderr, "sluice: configuration error: %s\n", e.what());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Each log dir is locked before anything listens or reads a file, so a second broker on the
  // same dirs stops here; the locks are held until the process exits.
  std::vector<sluice::recovery::LogDirLock> locks;
  for (const auto& dir : config.log_dirs) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      spdlog::critical("log.dirs: cannot create '{}': {}", dir, ec.message());
      return 1;
    }
    try {
      locks.push_back(sluice::recovery::LogDirLock::acquire(dir));
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
      return 1;
    }
  }

  // The listener is up first, so /healthz, /readyz and /metrics answer while the logs are
  // being recovered; data endpoints answer 503 until the broker is published to the router.
  sluice::net::ApiContext ctx;
  sluice::net::Router router(ctx);
  auto server_options = server_options_from(config);
  if (!server_options) return 2;
  sluice::net::HttpServer server(
      *server_options,
      [&router](sluice::net::Request request) { return router.handle(std::move(request)); },
      [&ctx](const sluice::net::Request& header) {
        return sluice::net::start_produce_stream(header, ctx);
      });
  try {
    server.start();
  } catch (const std::system_error& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  spdlog::info("listening on http://{}:{}", server_options->host, server.port());

  // Recovery runs before any data endpoint opens; /v1/recovery and /metrics show progress.
  sluice::recovery::LogRecovery recovery(sluice::recovery::log_recovery_options(config));
  std::mutex report_mu;
  std::string report_json;  // guarded by report_mu; set once recovery is done
  ctx.recovery_json = [&] {
    std::lock_guard lock(report_mu);
    return report_json.empty() ? progress_json(recovery.progress()) : report_json;
  };
  ctx.recovery_metrics = [&] { return progress_metrics(recovery.progress()); };
  auto report = recovery.run();
  if (!report) {
    spdlog::critical("recovery failed: {}", report.error().message());
    server.stop(std::chrono::milliseconds(0));
    return 1;
  }
  {
    std::lock_guard lock(report_mu);
    report_json = sluice::recovery::to_json(*report);
  }
  if (report->failed()) {
    for (const auto& p : report->partitions) {
      if (!p.failure.empty()) spdlog::critical("recovery of {} failed: {}", p.name, p.failure);
    }
    server.stop(std::chrono::milliseconds(0));
    return 1;
  }

  sluice::broker::Broker broker(config);
  if (auto r = broker.start(); !r) {
    spdlog::critical("start-up failed: {}", r.error().message());
    server.stop(std::chrono::milliseconds(0));
    return 1;
  }
  ctx.broker.store(&broker, std::memory_order_release);
  spdlog::info("ready: {} topics in {}", broker.topics().list().size(),
               fmt::join(config.log_dirs, ","));
  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("received {}, stopping", strsignal(signal));
  ctx.waiters.shut_down();  // parked long polls answer now instead of holding up the grace period
  server.stop(kShutdownGrace);
  ctx.broker.store(nullptr);
  if (auto r = broker.stop(); !r) {
    spdlog::error("clean stop failed: {}", r.error().message());
    return 1;
  }
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "serve") return serve(argc - 2, argv + 2);
  if (command == "verify") return sluice::recovery::run_verify(argc - 2, argv + 2);
  if (command == "recover") return sluice::recovery::run_recover(argc - 2, argv + 2);
  if (command == "dump") return sluice::recovery::run_dump(argc - 2, argv + 2);
  std::fprintf(stderr, "sluice: unknown command '%s'\n\n%s", argv[1], kUsage);
  return 2;
}
