#pragma once

#include <algorithm>
#include <boost/system/result.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/types.h"

// Broker and topic configuration. Kafka's property names wherever Kafka has the concept.
//
// Everything here is plain data plus pure functions; nothing is shared or mutated after
// start-up, so any thread may read a BrokerConfig or TopicConfig it holds.
namespace sluice::config {

// OpenSSL cipher list for TLS 1.2 when ssl.cipher.suites is not set: forward-secret AEAD only.
// (TLS 1.3 always uses OpenSSL's own AEAD suites.)
// AES-128-GCM first: on CPUs with AES-NI it is the fastest suite (about 1.6x AES-256-GCM here).
inline constexpr std::string_view kDefaultCipherSuites =
    "ECDHE+AESGCM+AES128:ECDHE+AESGCM:ECDHE+CHACHA20";

// A bad key or value at start-up or in a topic override. The message names the source (file:line,
// --set or environment variable), the key, the offending value and what is allowed.
class ConfigError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
  ConfigError() : runtime_error(std::string()) {}  // Result<T>::error() of a value needs one
};

// What a non-throwing entry returns: the value, or the ConfigError it would have thrown (for
// request paths, where a bad value is the client's input rather than a start-up failure).
// value() on an error throws that ConfigError.
template <class T>
using Result = boost::system::result<T, ConfigError>;
[[noreturn]] void throw_exception_from_error(const ConfigError& error,
                                             const boost::source_location& location);

enum class FlushPolicy { always, interval };
enum class RecoveryMode { full, checkpoint };
enum class CleanupPolicy { del, compact };  // "delete" | "compact" (kept whole: not compacted)

// The default for the thread-count keys: one per hardware thread, at least one.
inline int32_t default_thread_count() noexcept {
  return static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));
}

// Per-topic settings (Kafka topic-level names in comments). Defaults come from the broker's
// log.* keys; topic.properties holds a topic's overrides.
struct TopicConfig {
  int64_t segment_bytes = 1 << 30;                // segment.bytes [1024, 2^31-1]
  int64_t segment_ms = 7 * 24 * 3600 * 1000LL;    // segment.ms >= 1
  int64_t segment_index_bytes = 10 << 20;         // segment.index.bytes [12, 2^31]
  int64_t index_interval_bytes = 4096;            // index.interval.bytes >= 0
  int64_t retention_ms = 7 * 24 * 3600 * 1000LL;  // retention.ms (-1 = unlimited)
  int64_t retention_bytes = -1;                   // retention.bytes (-1 = unlimited)
  int64_t max_message_bytes = 1048588;            // max.message.bytes >= 0
  TimestampType message_timestamp_type = TimestampType::create_time;  // message.timestamp.type
  CleanupPolicy cleanup_policy = CleanupPolicy::del;                  // cleanup.policy
  int64_t flush_messages = INT64_MAX;                                 // flush.messages >= 1
  int64_t flush_ms = INT64_MAX;                                       // flush.ms >= 0
  bool preallocate = true;                                            // preallocate
  // Cluster mode: acks=all needs this many in-sync replicas (clamped to the replication factor).
  int32_t min_insync_replicas = 2;              // min.insync.replicas [1, 1000]
  bool unclean_leader_election_enable = false;  // unclean.leader.election.enable
  bool operator==(const TopicConfig&) const = default;
};

// Everything the broker reads at start-up. topic_defaults comes from the log.* keys:
// log.segment.bytes, log.roll.ms, log.index.size.max.bytes, log.index.interval.bytes,
// log.retention.{ms,minutes,hours}, log.retention.bytes, message.max.bytes,
// log.message.timestamp.type, log.cleanup.policy, log.preallocate,
// log.flush.interval.{messages,ms}.
// As in Kafka, log.retention.ms beats log.retention.minutes beats log.retention.hours
// whatever their sources. log.flush.interval.{messages,ms} set both the broker field and
// the topic default; left unset, flush_ms stays unlimited and the flusher runs every 1000 ms.
struct BrokerConfig {
  std::vector<std::string> log_dirs = {"./data"};         // log.dirs (comma-separated)
  int32_t broker_id = 0;                                  // broker.id
  int32_t num_partitions = 1;                             // num.partitions >= 1
  FlushPolicy log_flush_policy = FlushPolicy::always;     // log.flush.policy always|interval
  int64_t log_flush_interval_messages = INT64_MAX;        // log.flush.interval.messages
  int64_t log_flush_interval_ms = 1000;                   // log.flush.interval.ms (flusher period)
  int64_t log_retention_check_interval_ms = 300000;       // log.retention.check.interval.ms
  int64_t log_cache_retain_bytes = 256 << 20;             // log.cache.retain.bytes (-1 = all)
  bool log_direct_io = true;                              // log.direct.io
  int32_t num_recovery_threads = default_thread_count();  // num.recovery.threads >= 1
  RecoveryMode recovery_mode = RecoveryMode::full;        // recovery.mode full|checkpoint
  int32_t num_network_threads = default_thread_count();   // num.network.threads >= 1
  std::string listeners = "http://127.0.0.1:8080";        // listeners (parse_listeners)
  bool auto_create_topics_enable = true;                  // auto.create.topics.enable
  int64_t max_request_size = 64 << 20;                    // max.request.size
  int64_t max_header_bytes = 16384;                       // http.max.header.bytes
  int64_t idle_timeout_ms = 60000;                        // connections.idle.timeout.ms
  int64_t read_timeout_ms = 30000;                        // http.read.timeout.ms
  int64_t write_timeout_ms = 30000;                       // http.write.timeout.ms
  int32_t max_connections = 10000;                        // max.connections
  int64_t consumer_request_timeout_ms = 1000;             // consumer.request.timeout.ms
  int64_t consumer_instance_timeout_ms = 300000;          // consumer.instance.timeout.ms
  int64_t consumer_auto_commit_interval_ms = 5000;        // consumer.auto.commit.interval.ms
  std::string consumer_assignment_strategy = "range";     // consumer.partition.assignment.strategy
  std::string log_level = "info";                         // log.level trace|debug|info|warn|error
  int64_t log_scrub_bytes_per_second = 52428800;          // log.scrub.bytes.per.second (0: off)
  // Cluster mode (docs/CLUSTER.md): empty etcd.endpoints is a standalone broker.
  std::string etcd_endpoints;                       // etcd.endpoints: http://host:port,...
  std::string etcd_prefix = "/sluice";              // etcd.prefix
  std::string etcd_ssl_ca_location;                 // etcd.ssl.ca.location (PEM)
  std::string etcd_ssl_certificate_location;        // etcd.ssl.certificate.location (PEM)
  std::string etcd_ssl_key_location;                // etcd.ssl.key.location (PEM)
  std::string etcd_ssl_key_password;                // etcd.ssl.key.password
  std::string inter_broker_listener_name;           // inter.broker.listener.name
  std::string advertised_listeners;                 // advertised.listeners (from listeners)
  int64_t broker_session_timeout_ms = 3000;         // broker.session.timeout.ms
  int64_t broker_heartbeat_interval_ms = 500;       // broker.heartbeat.interval.ms
  int32_t default_replication_factor = 1;           // default.replication.factor
  int32_t offsets_topic_replication_factor = 3;     // offsets.topic.replication.factor
  std::string cluster_request_routing = "forward";  // cluster.request.routing forward|redirect
  int64_t cluster_leader_wait_ms = 5000;            // cluster.leader.wait.ms
  std::string cluster_auth_token;                   // cluster.auth.token (empty: none)
  int64_t request_timeout_ms = 30000;               // request.timeout.ms (acks=all wait)
  int64_t replica_lag_time_max_ms = 10000;          // replica.lag.time.max.ms
  int64_t replica_fetch_wait_max_ms = 500;          // replica.fetch.wait.max.ms
  int64_t replica_fetch_max_bytes = 1048576;        // replica.fetch.max.bytes
  int64_t replica_fetch_backoff_ms = 200;           // replica.fetch.backoff.ms
  bool auto_leader_rebalance_enable = true;         // auto.leader.rebalance.enable
  int64_t leader_imbalance_check_interval_seconds = 300;  // leader.imbalance.check.interval.seconds
  // TLS of the https:// listeners (docs/SECURITY.md), with librdkafka's names.
  std::string ssl_certificate_location;                 // ssl.certificate.location (PEM)
  std::string ssl_key_location;                         // ssl.key.location (PEM)
  std::string ssl_key_password;                         // ssl.key.password
  std::string ssl_ca_location;                          // ssl.ca.location (PEM, client CAs)
  std::string ssl_client_auth = "none";                 // ssl.client.auth none|requested|required
  std::string ssl_protocol_min = "TLSv1.2";             // ssl.protocol.min TLSv1.2|TLSv1.3
  std::string ssl_cipher_suites{kDefaultCipherSuites};  // ssl.cipher.suites (OpenSSL syntax)
  // Who a client is: none, basic (HTTP Basic against the users file) or mtls (client
  // certificate). authentication.method applies to every listener that has no
  // listener.name.<name>.authentication.method of its own (keyed by listener name).
  std::string authentication_method = "none";                          // none|basic|mtls
  std::map<std::string, std::string> listener_authentication_methods;  // name -> method
  std::string authentication_basic_users_file;          // authentication.basic.users.file
  std::string ssl_principal_mapping_rules = "DEFAULT";  // ssl.principal.mapping.rules (mtls)
  // Authorization (docs/SECURITY.md): ACLs decide each request when enabled.
  bool authorizer_enable = false;               // authorizer.enable
  std::vector<std::string> super_users;         // super.users: "User:a;User:b"
  bool allow_everyone_if_no_acl_found = false;  // allow.everyone.if.no.acl.found
  TopicConfig topic_defaults;
  bool operator==(const BrokerConfig&) const = default;

  // The authentication method of the listener named `name`.
  const std::string& authentication_method_of(const std::string& name) const {
    auto it = listener_authentication_methods.find(name);
    return it == listener_authentication_methods.end() ? authentication_method : it->second;
  }
};

// One entry of `listeners`: "[NAME=]http://host:port" or "[NAME=]https://host:port". A
// listener's name is its scheme ("http", "https") unless the entry names it; names are unique,
// and listener.name.<name>.* keys refer to them.
struct Listener {
  std::string name;
  bool tls = false;  // https
  std::string host;  // an IPv6 address without its brackets
  uint16_t port = 0;
  bool operator==(const Listener&) const = default;
};
// Parses a comma-separated `listeners` value; throws ConfigError naming the bad entry.
std::vector<Listener> parse_listeners(std::string_view value);

// Loads, each layer overriding the one before: built-in defaults <- the properties file (if
// given) <- SLUICE_* environment variables from `envp` (SLUICE_LOG_SEGMENT_BYTES ->
// log.segment.bytes: strip the prefix, lower-case, '_' -> '.'; `envp` may be null) <- `sets`
// ("key=value" strings from --set, later wins). Values are trimmed, and every SLUICE_* variable
// must name a key. Throws ConfigError on an unreadable file, a malformed line, an unknown key
// or a bad value, e.g.
//   "--set: log.segment.bytes: 'abc' is not an integer (allowed: integer in [1024, 2147483647])"
//   "sluice.properties:3: unknown configuration key 'log.segmnt.bytes'"
BrokerConfig load_broker_config(const std::optional<std::filesystem::path>& file,
                                const std::vector<std::string>& sets, const char* const* envp);

// Parses Java .properties text: `key=value` or `key: value` (the first '=' or ':' separates),
// `#` and `!` comment lines, blank lines, whitespace around keys and values trimmed; a repeated
// key keeps its last value. Throws ConfigError naming `source_name`:line on a line with no
// separator or an empty key. Used for the broker file and for each topic.properties.
std::map<std::string, std::string> parse_properties(std::string_view text,
                                                    std::string_view source_name);

// Applies topic-level overrides (segment.bytes, retention.ms, ...) on top of `defaults`.
// Throws ConfigError on an unknown name or a bad value.
TopicConfig apply_topic_overrides(const TopicConfig& defaults,
                                  const std::map<std::string, std::string>& overrides);
// The same without throwing: the error names the key, the value and what is allowed, e.g.
//   "retention.ms: 'soon' is not an integer (allowed: ...)".
[[nodiscard]] Result<TopicConfig> try_apply_topic_overrides(
    const TopicConfig& defaults, const std::map<std::string, std::string>& overrides);

// Every topic key -> its value, in the form apply_topic_overrides accepts; for topic.properties
// and the v3 configs API.
std::map<std::string, std::string> topic_config_to_map(const TopicConfig& c);

// The configuration spelling of each enum value ("always", "CreateTime", "delete", ...).
std::string to_string(FlushPolicy p);
std::string to_string(RecoveryMode m);
std::string to_string(CleanupPolicy p);
std::string to_string(TimestampType t);

// One key for --help and for config/sluice.properties: its name, default and a one-line doc.
struct KeyDoc {
  std::string_view name, default_value, doc;
};

// Every broker key (including the log.* topic defaults), in a stable order.
std::span<const KeyDoc> broker_key_docs();
// Every topic-level key, in a stable order.
std::span<const KeyDoc> topic_key_docs();

}  // namespace sluice::config
