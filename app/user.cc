// `sluice user add|remove`: the users file of HTTP Basic authentication.

#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "app/commands.h"
#include "net/http/users_file.h"

namespace sluice::app {
namespace {

// One line from standard input, without its line ending; on a terminal, prompts on standard
// error and does not echo what is typed. nullopt when input ends before a line.
std::optional<std::string> read_password(const std::string& name) {
  const bool terminal = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (terminal) {
    fmt::print(stderr, "Password for {}: ", name);
    std::fflush(stderr);
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (terminal) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    fmt::print(stderr, "\n");
  }
  if (!got && line.empty()) return std::nullopt;
  if (line.ends_with('\r')) line.pop_back();
  return line;
}

}  // namespace

int user(const UserArgs& args) {
  if (!net::valid_user_name(args.name)) {
    fmt::print(stderr,
               "sluice user: '{}' is not a valid user name (1 to 255 bytes, no ':', whitespace "
               "or control characters)\n",
               args.name);
    return 2;
  }
  try {
    std::error_code ec;
    const bool exists = std::filesystem::exists(args.users_file, ec);
    net::Users users = exists ? net::read_users_file(args.users_file) : net::Users{};
    if (args.remove) {
      if (users.erase(args.name) == 0) {
        fmt::print(stderr, "sluice user remove: no user '{}' in '{}'\n", args.name,
                   args.users_file.string());
        return 1;
      }
      net::write_users_file(args.users_file, users);
      fmt::print("removed user '{}' from '{}'\n", args.name, args.users_file.string());
      return 0;
    }
    const auto password = read_password(args.name);
    if (!password || password->empty()) {
      fmt::print(stderr, "sluice user add: no password given (one line on standard input)\n");
      return 1;
    }
    const bool replaced = users.contains(args.name);
    users[args.name] = net::hash_password(*password);
    net::write_users_file(args.users_file, users);
    fmt::print("{} user '{}' in '{}'\n", replaced ? "replaced" : "added", args.name,
               args.users_file.string());
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sluice user: {}\n", e.what());
    return 1;
  }
}

}  // namespace sluice::app
