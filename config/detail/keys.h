#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

// The key tables that drive parsing, validation and docs, and the value parsers they share.
// Internal to config/.
namespace sluice::config::detail {

// Describes one configuration key of a config struct C. `set` parses and validates a value and
// stores it; on a bad value it throws ConfigError whose message is the value and what is
// allowed, without the key ("'abc' is not an integer (allowed: ...)"); callers prefix the key.
// `get` renders the current value in a form `set` accepts; every topic key has one, broker keys
// may leave it empty.
template <class C>
struct Key {
  std::string_view name;
  std::string_view default_value;
  std::string_view doc;
  std::function<void(C&, std::string_view)> set;
  std::function<std::string(const C&)> get;
};

// The keys in application order: where two keys write the same field (log.retention.hours,
// .minutes, .ms), the later one in the table wins.
std::span<const Key<BrokerConfig>> broker_keys();
std::span<const Key<TopicConfig>> topic_keys();

// Finds a key by exact name, or nullptr.
template <class C>
const Key<C>* find_key(std::span<const Key<C>> keys, std::string_view name) {
  for (const auto& k : keys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

// An inclusive integer range, rendered as "integer in [min, max]" or "integer >= min".
struct IntRange {
  int64_t min = INT64_MIN;
  int64_t max = INT64_MAX;
  std::string_view note = {};  // appended to the allowed text, e.g. "-1 = unlimited"
};

std::string describe(const IntRange& r);

// Decimal integer with an optional leading '-'; no trailing characters.
int64_t parse_int(std::string_view v, const IntRange& r);
// true or false, any case.
bool parse_bool(std::string_view v);
// One of `allowed`, exactly; returns its index.
size_t parse_choice(std::string_view v, std::span<const std::string_view> allowed);
// http://host:port with a non-empty host (IPv6 in brackets) and port 0..65535.
std::string parse_listener(std::string_view v);
// The values of authentication.method and listener.name.<name>.authentication.method.
inline constexpr std::string_view kAuthMethods[] = {"none", "basic", "mtls"};
// listener.name.<name>.authentication.method: the listener's name, or empty for another key.
std::string_view listener_of_auth_key(std::string_view key);
// Checks what no single key can: every https listener has a certificate and key, each
// listener.name.* key names a listener, basic has a users file, mtls a verified client
// certificate. Throws ConfigError naming the keys.
void check_security(const BrokerConfig& config);

// A comma-separated list of listeners (etcd.endpoints), validated one by one.
std::string parse_listener_list(std::string_view v);
// An etcd key prefix: "/name".
std::string parse_key_prefix(std::string_view v);
// Comma-separated, each entry trimmed and non-empty.
std::vector<std::string> parse_dir_list(std::string_view v);

FlushPolicy parse_flush_policy(std::string_view v);
RecoveryMode parse_recovery_mode(std::string_view v);
CleanupPolicy parse_cleanup_policy(std::string_view v);
TimestampType parse_timestamp_type(std::string_view v);

std::string_view trim(std::string_view s) noexcept;

}  // namespace sluice::config::detail
