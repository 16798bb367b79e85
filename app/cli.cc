#include "app/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "app/commands.h"
#include "config/config.h"

namespace sluice::app {
namespace {

// `sluice serve --help` ends with every configuration key and its default.
std::string configuration_keys() {
  std::string out =
      "Configuration: built-in defaults, then FILE (Java properties), then SLUICE_* environment\n"
      "variables (SLUICE_LOG_SEGMENT_BYTES sets log.segment.bytes), then --set, later wins.\n"
      "\nbroker keys:\n";
  for (const auto& key : config::broker_key_docs()) {
    out += fmt::format("  {:<36} {:<24} {}\n", key.name, key.default_value, key.doc);
  }
  out += "\ntopic keys (per-topic overrides):\n";
  for (const auto& key : config::topic_key_docs()) {
    out += fmt::format("  {:<36} {:<24} {}\n", key.name, key.default_value, key.doc);
  }
  return out;
}

// CLI11 fills plain variables; these say which options were given.
struct Given {
  CLI::Option* config = nullptr;
  std::string config_file;
};

void add_log_dir_options(CLI::App& command, LogDirArgs& args, Given& given) {
  command
      .add_option("--log-dir", args.log_dirs, "A log dir (repeat for several); replaces log.dirs")
      ->type_name("DIR")
      ->allow_extra_args(false);
  given.config = command.add_option("--config", given.config_file, "The broker's properties file")
                     ->type_name("FILE");
}

// --log-dir or --config must name the dirs; prints why not.
bool has_log_dirs(const LogDirArgs& args, std::string_view command) {
  if (!args.log_dirs.empty() || args.config_file) return true;
  fmt::print(stderr, "sluice {}: --log-dir DIR or --config FILE is required\n", command);
  return false;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app("Sluice, a Kafka-style log broker that speaks the Kafka REST Proxy API.", "sluice");
  app.require_subcommand(1);

  ServeArgs serve_args;
  Given serve_given;
  auto* serve_cmd = app.add_subcommand("serve", "Run the broker");
  serve_given.config =
      serve_cmd->add_option("--config", serve_given.config_file, "Java properties file")
          ->type_name("FILE");
  serve_cmd->add_option("--set", serve_args.sets, "Set one configuration key (repeat for several)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  serve_cmd->footer(configuration_keys());

  LogDirArgs verify_args;
  Given verify_given;
  auto* verify_cmd = app.add_subcommand(
      "verify", "Check the data files, strictly read-only: exit 0 clean, 1 damage, 2 usage");
  add_log_dir_options(*verify_cmd, verify_args, verify_given);
  std::string topic;
  auto* topic_opt =
      verify_cmd->add_option("--topic", topic, "Only this topic's partitions")->type_name("TOPIC");
  verify_cmd->add_flag("--json", verify_args.json, "Print the report as JSON");

  LogDirArgs recover_args;
  Given recover_given;
  auto* recover_cmd = app.add_subcommand(
      "recover", "Run the start-up recovery without the server: exit 0, 1 if it failed");
  add_log_dir_options(*recover_cmd, recover_args, recover_given);
  int threads = 1;
  auto* threads_opt =
      recover_cmd->add_option("--threads", threads, "Recovery threads")->check(CLI::PositiveNumber);
  std::string mode = "full";
  auto* mode_opt = recover_cmd
                       ->add_option("--mode", mode,
                                    "full: check every segment; checkpoint: trust those below "
                                    "the recovery point after a clean stop")
                       ->check(CLI::IsMember({"full", "checkpoint"}))
                       ->type_name("MODE");

  DumpArgs dump_args;
  auto* dump_cmd = app.add_subcommand(
      "dump", "Print a segment's batches or an index's entries: exit 1 when the file is damaged");
  dump_cmd->add_option("FILE", dump_args.file, "A .log, .index or .timeindex file")->required();
  dump_cmd->add_flag("--print-data", dump_args.print_data, "Print every record of each batch");

  UserArgs user_args;
  auto* user_cmd = app.add_subcommand(
      "user", "Manage the users file of HTTP Basic authentication (authentication.method=basic)");
  user_cmd->require_subcommand(1);
  auto* user_add = user_cmd->add_subcommand(
      "add", "Add or replace a user; the password is one line on standard input");
  auto* user_remove = user_cmd->add_subcommand("remove", "Remove a user");
  for (auto* command : {user_add, user_remove}) {
    command->add_option("NAME", user_args.name, "The user name")->required();
    command->add_option("--users-file", user_args.users_file, "The users file")
        ->required()
        ->type_name("FILE");
  }

  app.footer("`sluice <command> --help` describes a command.");  // after the commands: not theirs
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the error and a pointer to --help to stderr
    return 2;
  }
  auto given_config = [](const Given& g) {
    return *g.config ? std::optional<std::filesystem::path>(g.config_file) : std::nullopt;
  };
  if (*serve_cmd) {
    serve_args.config_file = given_config(serve_given);
    return serve(serve_args);
  }
  if (*verify_cmd) {
    verify_args.config_file = given_config(verify_given);
    if (*topic_opt) verify_args.topic = topic;
    return has_log_dirs(verify_args, "verify") ? verify(verify_args) : 2;
  }
  if (*recover_cmd) {
    recover_args.config_file = given_config(recover_given);
    if (*threads_opt) recover_args.threads = threads;
    if (*mode_opt) {
      recover_args.mode =
          mode == "full" ? config::RecoveryMode::full : config::RecoveryMode::checkpoint;
    }
    return has_log_dirs(recover_args, "recover") ? recover(recover_args) : 2;
  }
  if (*user_cmd) {
    user_args.remove = static_cast<bool>(*user_remove);
    return user(user_args);
  }
  return dump(dump_args);
}

}  // namespace sluice::app
