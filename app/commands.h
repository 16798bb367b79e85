#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace sluice::app {

// The subcommands of `sluice`, with their arguments parsed. Each returns the process's exit
// code: 0 success, 1 the command failed or found damage, 2 a usage error (after printing it).

struct ServeArgs {
  std::optional<std::filesystem::path> config_file;
  std::vector<std::string> sets;  // key=value
};
// Runs the broker until SIGTERM or SIGINT.
int serve(const ServeArgs& args);

// verify and recover take the broker's settings (log.dirs, topic defaults, threads, mode) from
// --config when given, else the built-in defaults; --log-dir replaces log.dirs, and each
// partition's topic.properties is layered over the topic defaults.
struct LogDirArgs {
  std::optional<std::filesystem::path> config_file;
  std::vector<std::filesystem::path> log_dirs;
  std::optional<std::string> topic;          // verify
  bool json = false;                         // verify
  std::optional<int> threads;                // recover
  std::optional<config::RecoveryMode> mode;  // recover
};
// Checks every partition strictly read-only and prints a table or JSON: 0 clean, 1 damage, 2
// a usage error (an unreadable log dir, or --topic naming no partition there).
int verify(const LogDirArgs& args);
// The start-up recovery without the server; prints the summary: 0, or 1 when it failed or
// another process holds a log dir.
int recover(const LogDirArgs& args);

struct DumpArgs {
  std::filesystem::path file;
  bool print_data = false;
};
// Prints a segment's batches (and records) or an index's entries: 1 when the file is damaged
// (after printing what came before and the error's position) or unreadable.
int dump(const DumpArgs& args);

struct UserArgs {
  bool remove = false;  // add (or replace) otherwise
  std::string name;
  std::filesystem::path users_file;
};
// Adds or replaces a user of HTTP Basic authentication in the users file, the password read
// as one line from standard input (prompted for without echo on a terminal), or removes one:
// 0 done, 1 failed (no such user, no password, an unreadable file), 2 a bad user name.
int user(const UserArgs& args);

}  // namespace sluice::app
