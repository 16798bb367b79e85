// The sluice command: `sluice serve` runs the broker; later subcommands inspect and repair
// data directories.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.h"
#include "config/config.h"

extern char** environ;

namespace {

constexpr const char* kUsage =
    "usage: sluice <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE] [--set key=value]...   run the broker\n"
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

int serve(int argc, char** argv) {
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

  sluice::broker::Broker broker(config);
  if (auto r = broker.start(); !r) {
    spdlog::critical("start-up failed: {}", r.error().message());
    return 1;
  }
  spdlog::info(
      "broker core running: {} topics in {}; the HTTP front end is not part of this "
      "build yet, so nothing listens on {}",
      broker.topics().list().size(), config.log_dirs.front(), config.listeners);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("received {}, stopping", strsignal(signal));
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
  std::fprintf(stderr, "sluice: unknown command '%s'\n\n%s", argv[1], kUsage);
  return 2;
}
