// Value parsers and enum spellings shared by the key tables.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string>
#include <system_error>

#include "common/http_url.h"
#include "config/config.h"
#include "config/detail/keys.h"

namespace sluice::config {
namespace {

// Each enum's spellings, indexed by the enumerator's value.
constexpr std::array<std::string_view, 2> kFlushPolicyNames = {"always", "interval"};
constexpr std::array<std::string_view, 2> kRecoveryModeNames = {"full", "checkpoint"};
constexpr std::array<std::string_view, 2> kCleanupPolicyNames = {"delete", "compact"};
constexpr std::array<std::string_view, 2> kTimestampTypeNames = {"CreateTime", "LogAppendTime"};
static_assert(static_cast<int>(FlushPolicy::interval) == 1);
static_assert(static_cast<int>(RecoveryMode::checkpoint) == 1);
static_assert(static_cast<int>(CleanupPolicy::compact) == 1);
static_assert(static_cast<int>(TimestampType::log_append_time) == 1);

template <class E, size_t N>
std::string name_of(E e, const std::array<std::string_view, N>& names) {
  return std::string(names.at(static_cast<size_t>(e)));
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::string to_string(FlushPolicy p) { return name_of(p, kFlushPolicyNames); }
std::string to_string(RecoveryMode m) { return name_of(m, kRecoveryModeNames); }
std::string to_string(CleanupPolicy p) { return name_of(p, kCleanupPolicyNames); }
std::string to_string(TimestampType t) { return name_of(t, kTimestampTypeNames); }

namespace detail {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string describe(const IntRange& r) {
  std::string text;
  if (r.min != INT64_MIN && r.max != INT64_MAX) {
    text = fmt::format("integer in [{}, {}]", r.min, r.max);
  } else if (r.min != INT64_MIN) {
    text = fmt::format("integer >= {}", r.min);
  } else if (r.max != INT64_MAX) {
    text = fmt::format("integer <= {}", r.max);
  } else {
    text = "integer";
  }
  if (!r.note.empty()) text += fmt::format(", {}", r.note);
  return text;
}

int64_t parse_int(std::string_view v, const IntRange& r) {
  int64_t n = 0;
  const char* end = v.data() + v.size();
  auto [ptr, ec] = std::from_chars(v.data(), end, n);
  if (v.empty() || ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    throw ConfigError(fmt::format("'{}' is not an integer (allowed: {})", v, describe(r)));
  }
  if (ec == std::errc::result_out_of_range || n < r.min || n > r.max) {
    throw ConfigError(fmt::format("'{}' is out of range (allowed: {})", v, describe(r)));
  }
  return n;
}

bool parse_bool(std::string_view v) {
  auto equals_lower = [v](std::string_view word) {
    if (v.size() != word.size()) return false;
    for (size_t i = 0; i < v.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(v[i])) != word[i]) return false;
    }
    return true;
  };
  if (equals_lower("true")) return true;
  if (equals_lower("false")) return false;
  throw ConfigError(fmt::format("'{}' is not a boolean (allowed: true, false)", v));
}

size_t parse_choice(std::string_view v, std::span<const std::string_view> allowed) {
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (allowed[i] == v) return i;
  }
  throw ConfigError(
      fmt::format("'{}' is not a valid value (allowed: {})", v, fmt::join(allowed, ", ")));
}

std::string parse_listener(std::string_view v) {
  auto bad = [v] {
    return ConfigError(
        fmt::format("'{}' is not a valid URL (allowed: http://host:port or https://host:port, "
                    "port 0..65535)",
                    v));
  };
  const bool tls = v.starts_with("https://");
  if (!tls && !v.starts_with("http://")) throw bad();
  std::string_view rest = v.substr(tls ? 8 : 7);
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) throw bad();
  std::string_view host = rest.substr(0, colon);
  std::string_view port = rest.substr(colon + 1);
  const bool bracketed = host.starts_with('[') && host.ends_with(']') && host.size() > 2;
  if (host.empty() || host.find_first_of("/ ") != std::string_view::npos ||
      (!bracketed && host.find_first_of("[]:") != std::string_view::npos)) {
    throw bad();
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos) {
    throw bad();
  }
  int port_number = 0;
  std::from_chars(port.data(), port.data() + port.size(), port_number);
  if (port_number > 65535) throw bad();
  return std::string(v);
}

}  // namespace detail

std::vector<Listener> parse_listeners(std::string_view value) {
  std::vector<Listener> listeners;
  std::string_view rest = value;
  for (;;) {
    const size_t comma = rest.find(',');
    const std::string_view entry = detail::trim(rest.substr(0, comma));
    auto bad = [entry](std::string_view why) {
      return ConfigError(
          fmt::format("'{}' is not a valid listener{} (allowed: [NAME=]http://host:port or "
                      "[NAME=]https://host:port, port 0..65535, comma-separated)",
                      entry, why));
    };
    Listener l;
    std::string_view url = entry;
    if (const size_t eq = entry.find('='); eq != std::string_view::npos) {
      l.name = std::string(entry.substr(0, eq));
      url = entry.substr(eq + 1);
      if (l.name.empty() ||
          l.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos) {
        throw bad(": a name is lower-case letters, digits, '_' and '-'");
      }
    }
    l.tls = url.starts_with("https://");
    // The https listener is checked in the http form parse_listener knows.
    const std::string plain = l.tls ? "http://" + std::string(url.substr(8)) : std::string(url);
    try {
      detail::parse_listener(plain);
    } catch (const ConfigError&) {
      throw bad("");
    }
    auto address = parse_http_url(plain);
    if (!address) throw bad("");
    l.host = std::move(address->host);
    l.port = address->port;
    if (l.name.empty()) l.name = l.tls ? "https" : "http";
    for (const auto& other : listeners) {
      if (other.name == l.name) {
        throw ConfigError(fmt::format(
            "'{}': two listeners are named '{}' (name one of them: NAME=scheme://host:port)", value,
            l.name));
      }
    }
    listeners.push_back(std::move(l));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return listeners;
}

namespace detail {

std::string_view listener_of_auth_key(std::string_view key) {
  constexpr std::string_view kPrefix = "listener.name.";
  constexpr std::string_view kSuffix = ".authentication.method";
  if (!key.starts_with(kPrefix) || !key.ends_with(kSuffix) ||
      key.size() <= kPrefix.size() + kSuffix.size()) {
    return {};
  }
  return key.substr(kPrefix.size(), key.size() - kPrefix.size() - kSuffix.size());
}

void check_security(const BrokerConfig& c) {
  const auto listeners = parse_listeners(c.listeners);
  for (const auto& entry : c.listener_authentication_methods) {
    const std::string& name = entry.first;
    if (std::none_of(listeners.begin(), listeners.end(),
                     [&name](const Listener& l) { return l.name == name; })) {
      throw ConfigError(fmt::format(
          "listener.name.{}.authentication.method: no listener is named '{}' (listeners = {})",
          name, name, c.listeners));
    }
  }
  if (const auto& name = c.inter_broker_listener_name;
      !name.empty() && std::none_of(listeners.begin(), listeners.end(),
                                    [&name](const Listener& l) { return l.name == name; })) {
    throw ConfigError(
        fmt::format("inter.broker.listener.name: no listener is named '{}' "
                    "(listeners = {})",
                    name, c.listeners));
  }
  bool basic = false;
  for (const auto& l : listeners) {
    const std::string& method = c.authentication_method_of(l.name);
    basic = basic || method == "basic";
    if (l.tls && (c.ssl_certificate_location.empty() || c.ssl_key_location.empty())) {
      throw ConfigError(
          fmt::format("listeners: the https listener '{}' needs ssl.certificate.location and "
                      "ssl.key.location",
                      l.name));
    }
    if (method == "mtls" && !l.tls) {
      throw ConfigError(
          fmt::format("listener '{}': authentication.method=mtls needs an https listener", l.name));
    }
    if (method == "mtls" && (c.ssl_ca_location.empty() || c.ssl_client_auth == "none")) {
      throw ConfigError(
          fmt::format("listener '{}': authentication.method=mtls needs ssl.ca.location and "
                      "ssl.client.auth=requested or required",
                      l.name));
    }
  }
  if (basic && c.authentication_basic_users_file.empty()) {
    throw ConfigError(
        "authentication.method=basic needs authentication.basic.users.file (sluice user add)");
  }
}

std::string parse_listener_list(std::string_view v) {
  std::string_view rest = v;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.ends_with('/')) entry.remove_suffix(1);
    parse_listener(entry);
  }
  return std::string(v);
}

std::string parse_key_prefix(std::string_view v) {
  if (v.size() < 2 || !v.starts_with('/') || v.ends_with('/') ||
      v.find_first_of(" \t\n") != std::string_view::npos) {
    throw ConfigError(fmt::format(
        "'{}' is not a valid key prefix (allowed: '/' then a name, no trailing '/')", v));
  }
  return std::string(v);
}

std::vector<std::string> parse_dir_list(std::string_view v) {
  std::vector<std::string> dirs;
  std::string_view rest = v;
  for (;;) {
    const size_t comma = rest.find(',');
    std::string_view dir = trim(rest.substr(0, comma));
    if (dir.empty()) {
      throw ConfigError(fmt::format(
          "'{}' is not a valid directory list (allowed: comma-separated non-empty paths)", v));
    }
    dirs.emplace_back(dir);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return dirs;
}

FlushPolicy parse_flush_policy(std::string_view v) {
  return static_cast<FlushPolicy>(parse_choice(v, kFlushPolicyNames));
}

RecoveryMode parse_recovery_mode(std::string_view v) {
  return static_cast<RecoveryMode>(parse_choice(v, kRecoveryModeNames));
}

CleanupPolicy parse_cleanup_policy(std::string_view v) {
  return static_cast<CleanupPolicy>(parse_choice(v, kCleanupPolicyNames));
}

TimestampType parse_timestamp_type(std::string_view v) {
  return static_cast<TimestampType>(parse_choice(v, kTimestampTypeNames));
}

}  // namespace detail
}  // namespace sluice::config
