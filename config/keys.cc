// The key tables: the single list of every configuration key with its validator, the field it
// sets, its default and its doc. Parsing, --help and config/sluice.properties all follow it.

#include "config/detail/keys.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "common/check.h"
#include "config/config.h"

namespace sluice::config::detail {
namespace {

constexpr int64_t kMsPerMinute = 60 * 1000;
constexpr int64_t kMsPerHour = 60 * kMsPerMinute;
constexpr std::string_view kUnlimited = "-1 = unlimited";
constexpr IntRange kAtLeastOne{1};
constexpr IntRange kThreads{1, 4096};

template <class C, class T>
Key<C> int_key(std::string_view name, T C::*field, IntRange range, std::string_view default_value,
               std::string_view doc) {
  return {
      name, default_value, doc,
      [field, range](C& c, std::string_view v) { c.*field = static_cast<T>(parse_int(v, range)); },
      [field](const C& c) { return std::to_string(c.*field); }};
}

template <class C>
Key<C> bool_key(std::string_view name, bool C::*field, std::string_view default_value,
                std::string_view doc) {
  return {name, default_value, doc, [field](C& c, std::string_view v) { c.*field = parse_bool(v); },
          [field](const C& c) { return std::string(c.*field ? "true" : "false"); }};
}

template <class C, class T>
Key<C> enum_key(std::string_view name, T C::*field, T (*parse)(std::string_view),
                std::string_view default_value, std::string_view doc) {
  return {name, default_value, doc,
          [field, parse](C& c, std::string_view v) { c.*field = parse(v); },
          [field](const C& c) { return to_string(c.*field); }};
}

Key<BrokerConfig> string_key(std::string_view name, std::string BrokerConfig::*field,
                             std::string_view default_value, std::string_view doc) {
  return {name,
          default_value,
          doc,
          [field](BrokerConfig& b, std::string_view v) { b.*field = std::string(v); },
          {}};
}

Key<BrokerConfig> choice_key(std::string_view name, std::string BrokerConfig::*field,
                             std::span<const std::string_view> allowed,
                             std::string_view default_value, std::string_view doc) {
  return {name,
          default_value,
          doc,
          [field, allowed](BrokerConfig& b, std::string_view v) {
            b.*field = std::string(allowed[parse_choice(v, allowed)]);
          },
          {}};
}

constexpr std::string_view kClientAuth[] = {"none", "requested", "required"};
constexpr std::string_view kProtocols[] = {"TLSv1.2", "TLSv1.3"};

// A broker log.* key that sets the topic default of the same meaning, validated by the topic key.
Key<BrokerConfig> topic_default(std::string_view name, std::string_view topic_name) {
  const Key<TopicConfig>* topic = find_key(topic_keys(), topic_name);
  SLUICE_CHECK(topic != nullptr, "no topic key {}", topic_name);
  return {name, topic->default_value, topic->doc,
          [set = topic->set](BrokerConfig& b, std::string_view v) { set(b.topic_defaults, v); },
          [get = topic->get](const BrokerConfig& b) { return get(b.topic_defaults); }};
}

// log.retention.hours and log.retention.minutes: a coarser spelling of log.retention.ms.
Key<BrokerConfig> retention_in(std::string_view name, int64_t unit_ms,
                               std::string_view default_value, std::string_view doc) {
  return {name,
          default_value,
          doc,
          [unit_ms](BrokerConfig& b, std::string_view v) {
            const int64_t n = parse_int(v, {-1, INT64_MAX / unit_ms, kUnlimited});
            b.topic_defaults.retention_ms = n == -1 ? -1 : n * unit_ms;
          },
          {}};
}

std::vector<Key<TopicConfig>> make_topic_keys() {
  using T = TopicConfig;
  return {
      int_key("segment.bytes", &T::segment_bytes, {1024, INT32_MAX}, "1073741824",
              "Size at which the active segment file is rolled."),
      int_key("segment.ms", &T::segment_ms, {1}, "604800000",
              "Age at which the active segment is rolled even if not full."),
      int_key("segment.index.bytes", &T::segment_index_bytes, {12, int64_t{1} << 31}, "10485760",
              "Maximum size of a segment's offset index and time index files."),
      int_key("index.interval.bytes", &T::index_interval_bytes, {0}, "4096",
              "Bytes appended between two offset index entries (0 = index every batch)."),
      int_key("retention.ms", &T::retention_ms, {-1, INT64_MAX, kUnlimited}, "604800000",
              "Age after which closed segments are deleted (-1 = keep forever)."),
      int_key("retention.bytes", &T::retention_bytes, {-1, INT64_MAX, kUnlimited}, "-1",
              "Partition size beyond which the oldest segments are deleted (-1 = no limit)."),
      int_key("max.message.bytes", &T::max_message_bytes, {0, INT32_MAX}, "1048588",
              "Largest record batch accepted, in bytes."),
      enum_key("message.timestamp.type", &T::message_timestamp_type, parse_timestamp_type,
               "CreateTime",
               "CreateTime keeps the producer's timestamps; LogAppendTime stamps the broker's."),
      enum_key("cleanup.policy", &T::cleanup_policy, parse_cleanup_policy, "delete",
               "delete, or compact: kept whole, never cut by retention (not compacted)."),
      int_key("flush.messages", &T::flush_messages, {1}, "9223372036854775807",
              "Force an fdatasync after this many unflushed messages."),
      int_key("flush.ms", &T::flush_ms, {0}, "9223372036854775807",
              "Under log.flush.policy=interval, sync this long after the last sync at most, when "
              "shorter "
              "than log.flush.interval.ms."),
      bool_key("preallocate", &T::preallocate, "true",
               "Reserve disk blocks 8 MiB ahead of the active segment's end (the file size stays "
               "that of its batches); released when the segment is closed."),
      int_key("min.insync.replicas", &T::min_insync_replicas, {1, 1000}, "2",
              "Cluster mode: acks=all is refused (error_code 50303) while fewer replicas than "
              "this are in sync; clamped to the replication factor."),
      bool_key("unclean.leader.election.enable", &T::unclean_leader_election_enable, "false",
               "Cluster mode: whether a replica outside the in-sync set may lead when no "
               "in-sync one is alive (acknowledged records may then be lost)."),
  };
}

// Grouped as in sluice.properties: server, HTTP, topic defaults, flushing, recovery, consumers.
std::vector<Key<BrokerConfig>> make_broker_keys() {
  using B = BrokerConfig;
  return {
      {"log.dirs",
       "./data",
       "Comma-separated data directories; partitions are spread over them.",
       [](B& b, std::string_view v) { b.log_dirs = parse_dir_list(v); },
       {}},
      int_key("broker.id", &B::broker_id, {0, INT32_MAX}, "0", "This broker's id."),
      {"listeners",
       "http://127.0.0.1:8080",
       "Where the HTTP API listens: comma-separated [NAME=]http://host:port or "
       "[NAME=]https://host:port (TLS); a listener's name is its scheme unless NAME= is given.",
       [](B& b, std::string_view v) {
         parse_listeners(v);
         b.listeners = std::string(v);
       },
       {}},
      string_key("ssl.certificate.location", &B::ssl_certificate_location, "",
                 "https listeners: the server certificate (PEM, chain after it); re-read on "
                 "SIGHUP."),
      string_key("ssl.key.location", &B::ssl_key_location, "",
                 "https listeners: the certificate's private key (PEM); re-read on SIGHUP."),
      string_key("ssl.key.password", &B::ssl_key_password, "",
                 "https listeners: the password of an encrypted private key."),
      string_key("ssl.ca.location", &B::ssl_ca_location, "",
                 "https listeners: CA certificates (PEM) that client certificates must chain to; "
                 "in cluster mode also other brokers' https certificates (empty: the system's "
                 "CAs)."),
      choice_key("ssl.client.auth", &B::ssl_client_auth, kClientAuth, "none",
                 "https listeners: ask clients for a certificate: none, requested (verified when "
                 "sent) or required (the handshake fails without one)."),
      choice_key("ssl.protocol.min", &B::ssl_protocol_min, kProtocols, "TLSv1.2",
                 "https listeners: the oldest TLS version accepted: TLSv1.2 or TLSv1.3."),
      {"ssl.cipher.suites",
       kDefaultCipherSuites,
       "https listeners: TLS 1.2 cipher list in OpenSSL syntax, in order of preference (TLS 1.3 "
       "prefers AES-128-GCM, then AES-256-GCM and ChaCha20-Poly1305).",
       [](B& b, std::string_view v) {
         if (v.empty()) throw ConfigError("'' is not a cipher list (allowed: OpenSSL syntax)");
         b.ssl_cipher_suites = std::string(v);
       },
       {}},
      choice_key("authentication.method", &B::authentication_method, kAuthMethods, "none",
                 "Who a client is: none, basic (HTTP Basic against "
                 "authentication.basic.users.file) or mtls (the client certificate's CN); "
                 "listener.name.<name>.authentication.method overrides it per listener."),
      string_key("authentication.basic.users.file", &B::authentication_basic_users_file, "",
                 "authentication.method=basic: the users file (sluice user add); re-read when "
                 "it changes."),
      string_key("ssl.principal.mapping.rules", &B::ssl_principal_mapping_rules, "DEFAULT",
                 "authentication.method=mtls: how a client certificate's subject (RFC 2253) "
                 "becomes a principal: RULE:pattern/replacement/[L|U] entries tried in order, "
                 "DEFAULT for the CN (docs/SECURITY.md)."),
      bool_key("authorizer.enable", &B::authorizer_enable, "false",
               "Decide every request by the ACLs (the v3 ACL API manages them); false: every "
               "authenticated principal may do everything."),
      {"super.users", "",
       "authorizer.enable: principals that may do everything, separated by ';' "
       "(User:admin;User:ops).",
       [](B& b, std::string_view v) {
         std::vector<std::string> users;
         while (!v.empty()) {
           const auto semicolon = v.find(';');
           std::string_view one = v.substr(0, semicolon);
           while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
           while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
           if (!one.empty()) {
             const auto colon = one.find(':');
             if (colon == std::string_view::npos || colon == 0 || colon + 1 == one.size()) {
               throw ConfigError(
                   fmt::format("'{}' is not a principal (allowed: Type:name, as "
                               "User:admin)",
                               one));
             }
             users.emplace_back(one);
           }
           v = semicolon == std::string_view::npos ? std::string_view{} : v.substr(semicolon + 1);
         }
         b.super_users = std::move(users);
       },
       [](const B& b) { return fmt::format("{}", fmt::join(b.super_users, ";")); }},
      bool_key("allow.everyone.if.no.acl.found", &B::allow_everyone_if_no_acl_found, "false",
               "authorizer.enable: a resource no ACL names is open to every principal."),
      int_key("num.network.threads", &B::num_network_threads, kThreads, "number of CPU threads",
              "Threads serving HTTP connections."),
      int_key("max.connections", &B::max_connections, {1, INT32_MAX}, "10000",
              "Connections served at once; one past it is answered 503 (error_code 50301) "
              "and closed."),
      int_key("max.request.size", &B::max_request_size, kAtLeastOne, "67108864",
              "Largest HTTP request body accepted, in bytes."),
      int_key("http.max.header.bytes", &B::max_header_bytes, {1, INT32_MAX}, "16384",
              "Largest HTTP request header block accepted, in bytes."),
      int_key("http.read.timeout.ms", &B::read_timeout_ms, kAtLeastOne, "30000",
              "Time allowed to read one request once it has started arriving."),
      int_key("http.write.timeout.ms", &B::write_timeout_ms, kAtLeastOne, "30000",
              "Time allowed to send one reply; a client that stops reading is dropped."),
      int_key("connections.idle.timeout.ms", &B::idle_timeout_ms, kAtLeastOne, "60000",
              "Idle connections are closed after this long."),
      int_key("num.partitions", &B::num_partitions, {1, INT32_MAX}, "1",
              "Partitions of an automatically created topic."),
      {"auto.create.topics.enable",
       "true",
       "Create a topic on its first produce.",
       [](B& b, std::string_view v) { b.auto_create_topics_enable = parse_bool(v); },
       {}},
      topic_default("log.segment.bytes", "segment.bytes"),
      topic_default("log.roll.ms", "segment.ms"),
      topic_default("log.index.size.max.bytes", "segment.index.bytes"),
      topic_default("log.index.interval.bytes", "index.interval.bytes"),
      // Hours, then minutes, then ms: a later key wins, as in Kafka.
      retention_in("log.retention.hours", kMsPerHour, "168",
                   "Retention in hours; log.retention.minutes and log.retention.ms take priority."),
      retention_in("log.retention.minutes", kMsPerMinute, "",
                   "Retention in minutes (unset by default); log.retention.ms takes priority."),
      topic_default("log.retention.ms", "retention.ms"),
      topic_default("log.retention.bytes", "retention.bytes"),
      int_key("log.retention.check.interval.ms", &B::log_retention_check_interval_ms, kAtLeastOne,
              "300000", "How often retention looks for segments to delete."),
      topic_default("message.max.bytes", "max.message.bytes"),
      topic_default("log.message.timestamp.type", "message.timestamp.type"),
      topic_default("log.cleanup.policy", "cleanup.policy"),
      topic_default("log.preallocate", "preallocate"),
      enum_key("log.flush.policy", &B::log_flush_policy, parse_flush_policy, "always",
               "always: fdatasync before acknowledging; interval: the flusher syncs periodically."),
      {"log.flush.interval.messages",
       "9223372036854775807",
       "Default flush.messages for topics: fdatasync after this many unflushed messages.",
       [](B& b, std::string_view v) {
         b.log_flush_interval_messages = parse_int(v, kAtLeastOne);
         b.topic_defaults.flush_messages = b.log_flush_interval_messages;
       },
       {}},
      {"log.flush.interval.ms",
       "1000",
       "Flusher period under log.flush.policy=interval; when set, also the topics' flush.ms.",
       [](B& b, std::string_view v) {
         b.log_flush_interval_ms = parse_int(v, kAtLeastOne);
         b.topic_defaults.flush_ms = b.log_flush_interval_ms;
       },
       {}},
      int_key("log.cache.retain.bytes", &B::log_cache_retain_bytes, {-1, INT64_MAX, kUnlimited},
              "268435456",
              "Flushed bytes at the end of each partition kept in the page cache; older ones are "
              "dropped from it after each flush, so new writes reuse their pages (-1 = keep all; "
              "the kernel decides)."),
      bool_key("log.direct.io", &B::log_direct_io, "true",
               "Records produced with acks=all are written by the flusher, all those queued "
               "meanwhile in one write, whole 4 KiB blocks with O_DIRECT, bypassing the page "
               "cache; false: producers write them into the page cache and the flusher syncs."),
      int_key("num.recovery.threads", &B::num_recovery_threads, kThreads, "number of CPU threads",
              "Threads recovering partitions at start-up."),
      enum_key("recovery.mode", &B::recovery_mode, parse_recovery_mode, "full",
               "full: validate every segment at start-up; checkpoint: only those after the "
               "recovery checkpoint."),
      int_key("consumer.request.timeout.ms", &B::consumer_request_timeout_ms, {0}, "1000",
              "Longest a consumer fetch waits for records before answering."),
      int_key("consumer.instance.timeout.ms", &B::consumer_instance_timeout_ms, kAtLeastOne,
              "300000", "Consumer instances idle for this long are removed."),
      int_key("consumer.auto.commit.interval.ms", &B::consumer_auto_commit_interval_ms, kAtLeastOne,
              "5000",
              "With auto.commit.enable, a fetch commits the positions when this long has passed."),
      {"consumer.partition.assignment.strategy",
       "range",
       "How a group's partitions are shared: range or roundrobin.",
       [](B& b, std::string_view v) {
         static constexpr std::string_view kStrategies[] = {"range", "roundrobin"};
         b.consumer_assignment_strategy = kStrategies[parse_choice(v, kStrategies)];
       },
       {}},
      {"etcd.endpoints",
       "",
       "Cluster mode: comma-separated etcd client URLs (http://host:port, or https://host:port "
       "for TLS with the etcd.ssl.* keys); empty runs a standalone broker.",
       [](B& b, std::string_view v) { b.etcd_endpoints = parse_listener_list(v); },
       {}},
      {"etcd.prefix",
       "/sluice",
       "Cluster mode: the etcd key prefix under which the cluster keeps its metadata.",
       [](B& b, std::string_view v) { b.etcd_prefix = parse_key_prefix(v); },
       {}},
      string_key("etcd.ssl.ca.location", &B::etcd_ssl_ca_location, "",
                 "Cluster mode, https etcd endpoints: CA certificates (PEM) etcd's certificate "
                 "must chain to; empty: the system's CAs."),
      string_key("etcd.ssl.certificate.location", &B::etcd_ssl_certificate_location, "",
                 "Cluster mode, https etcd endpoints: the client certificate (PEM) this broker "
                 "presents to an etcd that asks for one (--client-cert-auth)."),
      string_key("etcd.ssl.key.location", &B::etcd_ssl_key_location, "",
                 "Cluster mode, https etcd endpoints: the client certificate's private key (PEM)."),
      string_key("etcd.ssl.key.password", &B::etcd_ssl_key_password, "",
                 "Cluster mode, https etcd endpoints: the password of an encrypted client key."),
      string_key("inter.broker.listener.name", &B::inter_broker_listener_name, "",
                 "Cluster mode: the listener (by name) whose URL this broker registers for other "
                 "brokers (replica fetches, forwarded requests) when advertised.listeners is "
                 "empty; an https one makes that traffic TLS. Empty: the first plain listener."),
      {"advertised.listeners",
       "",
       "Cluster mode: the URL other brokers and clients reach this broker at "
       "(http://host:port, or https://host:port: then brokers talk to it over TLS); empty: the "
       "listener inter.broker.listener.name names, with the port it bound.",
       [](B& b, std::string_view v) {
         b.advertised_listeners = v.empty() ? "" : parse_listener(v);
       },
       {}},
      int_key("broker.session.timeout.ms", &B::broker_session_timeout_ms, {2000, 3600000}, "3000",
              "Cluster mode: a broker that stops renewing its etcd lease for this long is dead "
              "(rounded up to whole seconds)."),
      int_key("broker.heartbeat.interval.ms", &B::broker_heartbeat_interval_ms, {50, 600000}, "500",
              "Cluster mode: how often a broker renews its etcd lease."),
      int_key("default.replication.factor", &B::default_replication_factor, {1, 1000}, "1",
              "Cluster mode: replicas of each partition of a topic created without a "
              "replication_factor."),
      int_key("offsets.topic.replication.factor", &B::offsets_topic_replication_factor, {1, 1000},
              "3",
              "Cluster mode: replicas of each partition of __consumer_offsets, fewer when fewer "
              "brokers are alive when the first consumer instance creates it."),
      {"cluster.request.routing",
       "forward",
       "Cluster mode: a request for a partition another broker leads is forwarded to it "
       "(forward) or answered 307 with its URL (redirect).",
       [](B& b, std::string_view v) {
         static constexpr std::string_view kModes[] = {"forward", "redirect"};
         b.cluster_request_routing = kModes[parse_choice(v, kModes)];
       },
       {}},
      int_key("cluster.leader.wait.ms", &B::cluster_leader_wait_ms, {0, 600000}, "5000",
              "Cluster mode: how long a request for a partition without a leader waits for one "
              "before 503 (error_code 50302)."),
      {"cluster.auth.token",
       "",
       "Cluster mode: a secret every broker of the cluster shares; when set, replica fetches and "
       "forwarded requests must carry it (X-Sluice-Cluster-Token), else 401 (error_code 40101); "
       "it also authenticates brokers on listeners that ask clients for credentials.",
       [](B& b, std::string_view v) { b.cluster_auth_token = std::string(v); },
       {}},
      topic_default("min.insync.replicas", "min.insync.replicas"),
      topic_default("unclean.leader.election.enable", "unclean.leader.election.enable"),
      int_key("log.scrub.bytes.per.second", &B::log_scrub_bytes_per_second, {0, int64_t{1} << 40},
              "52428800",
              "How fast the background scrub re-reads sealed segments to check every batch "
              "(damage is repaired from an in-sync replica in cluster mode); 0 turns it off."),
      int_key("request.timeout.ms", &B::request_timeout_ms, {1, 3600000}, "30000",
              "Cluster mode: how long acks=all waits for the in-sync replicas before 503 "
              "(error_code 50304: the records may still appear)."),
      int_key("replica.lag.time.max.ms", &B::replica_lag_time_max_ms, {100, 3600000}, "10000",
              "Cluster mode: a follower not caught up with its leader for this long leaves the "
              "in-sync replica set."),
      int_key("replica.fetch.wait.max.ms", &B::replica_fetch_wait_max_ms, {0, 30000}, "500",
              "Cluster mode: how long a follower's fetch waits on the leader for new records."),
      int_key("replica.fetch.max.bytes", &B::replica_fetch_max_bytes, {1024, 67108864}, "1048576",
              "Cluster mode: the most bytes of batches one follower fetch asks for."),
      int_key("replica.fetch.backoff.ms", &B::replica_fetch_backoff_ms, {0, 60000}, "200",
              "Cluster mode: a follower waits this long after a failed fetch."),
      bool_key("auto.leader.rebalance.enable", &B::auto_leader_rebalance_enable, "true",
               "Cluster mode: the controller moves leadership back to a partition's preferred "
               "(first) replica once it is in sync."),
      int_key("leader.imbalance.check.interval.seconds",
              &B::leader_imbalance_check_interval_seconds, {1, 86400}, "300",
              "Cluster mode: how often the controller looks for leaders to move back."),
      {"log.level",
       "info",
       "Logging level: trace, debug, info, warn or error.",
       [](B& b, std::string_view v) {
         static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error"};
         b.log_level = kLevels[parse_choice(v, kLevels)];
       },
       {}},
  };
}

template <class C>
std::vector<KeyDoc> docs_of(std::span<const Key<C>> keys) {
  std::vector<KeyDoc> docs;
  for (const auto& k : keys) docs.push_back({k.name, k.default_value, k.doc});
  return docs;
}

}  // namespace

std::span<const Key<TopicConfig>> topic_keys() {
  static const std::vector<Key<TopicConfig>> keys = make_topic_keys();
  return keys;
}

std::span<const Key<BrokerConfig>> broker_keys() {
  static const std::vector<Key<BrokerConfig>> keys = make_broker_keys();
  return keys;
}

}  // namespace sluice::config::detail

namespace sluice::config {

std::span<const KeyDoc> broker_key_docs() {
  static const std::vector<KeyDoc> docs = detail::docs_of(detail::broker_keys());
  return docs;
}

std::span<const KeyDoc> topic_key_docs() {
  static const std::vector<KeyDoc> docs = detail::docs_of(detail::topic_keys());
  return docs;
}

}  // namespace sluice::config
