// `sluice serve`: the broker, from its configuration to a clean stop.

#include <fmt/ranges.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/commands.h"
#include "app/listeners.h"
#include "broker/acl_store.h"
#include "broker/broker.h"
#include "cluster/acl_store.h"
#include "cluster/node.h"
#include "cluster/replicas.h"
#include "cluster/topics.h"
#include "common/prometheus.h"
#include "config/config.h"
#include "net/http/server.h"
#include "net/rest/router.h"
#include "recovery/log_dir_lock.h"
#include "recovery/log_recovery.h"

extern char** environ;

namespace sluice::app {
namespace {

constexpr std::chrono::milliseconds kShutdownGrace{5000};

std::string progress_json(const recovery::RecoveryProgress& p) {
  return fmt::format(
      "{{\"state\":\"running\",\"partitions_done\":{},\"partitions_total\":{},"
      "\"segments_done\":{},\"segments_total\":{},\"bytes_done\":{},\"bytes_total\":{},"
      "\"mb_per_s\":{:.1f}}}",
      p.partitions_done.load(), p.partitions_total.load(), p.segments_done.load(),
      p.segments_total.load(), p.bytes_done.load(), p.bytes_total.load(),
      p.current_mb_per_s.load());
}

// The recovery gauges: how much work there is (partitions, segments, bytes) and how much is done.
std::string progress_metrics(const recovery::RecoveryProgress& p) {
  using Type = PrometheusWriter::Type;
  PrometheusWriter w;
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

}  // namespace

int serve(const ServeArgs& args) {
  tune_malloc();
  config::BrokerConfig config;
  try {
    config = config::load_broker_config(args.config_file, args.sets, environ);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "sluice: configuration error: %s\n", e.what());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  // Block the stop signals before any thread starts, so only sigwait below receives them.
  // A peer that closes its connection while a reply goes out with sendfile(2) (a consumer, or
  // a follower broker that stops) must cost that connection an EPIPE, not the broker its life.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // not a stop: re-reads certificates and the users file
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Each log dir is locked before anything listens or reads a file, so a second broker on the
  // same dirs stops here; the locks are held until the process exits.
  std::vector<recovery::LogDirLock> locks;
  for (const auto& dir : config.log_dirs) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      spdlog::critical("log.dirs: cannot create '{}': {}", dir, ec.message());
      return 1;
    }
    try {
      locks.push_back(recovery::LogDirLock::acquire(dir));
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
      return 1;
    }
  }

  // The listener is up first, so /healthz, /readyz and /metrics answer while the logs are
  // being recovered; data endpoints answer 503 until the broker is published to the router.
  net::ApiContext ctx;
  // Brokers vouch for the principals of the requests they forward with the cluster's token:
  // without one, a forwarded request could claim any principal.
  if (config.authorizer_enable && !config.etcd_endpoints.empty() &&
      config.cluster_auth_token.empty()) {
    spdlog::critical(
        "authorizer.enable in cluster mode needs cluster.auth.token: brokers vouch with it for "
        "the principals of the requests they forward");
    return 2;
  }
  auto authorizer = std::make_shared<broker::Authorizer>(broker::Authorizer::Options{
      config.authorizer_enable, config.super_users, config.allow_everyone_if_no_acl_found});
  ctx.authorizer = authorizer;
  net::Router router(ctx);
  std::optional<net::ServerOptions> server_options;
  try {
    server_options = server_options_from(config);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 2;
  }
  // What /v1/recovery and the recovery gauges show. Set before the listeners open, since they
  // answer from the first moment (the network threads read these functions while this thread
  // goes on), and declared before the server, so they outlive it.
  std::mutex report_mu;
  std::string report_json;  // guarded by report_mu; set once recovery is done
  const recovery::RecoveryProgress not_started;
  std::atomic<const recovery::RecoveryProgress*> recovery_progress{&not_started};
  ctx.recovery_json = [&] {
    std::lock_guard lock(report_mu);
    return report_json.empty() ? progress_json(*recovery_progress.load(std::memory_order_acquire))
                               : report_json;
  };
  ctx.recovery_metrics = [&] {
    return progress_metrics(*recovery_progress.load(std::memory_order_acquire));
  };
  net::HttpServer server(
      *server_options,
      [&router](net::Request request, net::RequestContext context) {
        return router.handle(std::move(request), std::move(context));
      },
      [&ctx](const net::Request& header, const net::RequestContext& context) {
        return net::start_produce_stream(header, context, ctx);
      });
  try {
    server.start();
  } catch (const std::system_error& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  // Brokers and clients reach this one at the listener inter.broker.listener.name names (an
  // https one makes the traffic between brokers TLS), by default at its first plain listener,
  // else at its first listener.
  const auto& listeners = server_options->listeners;
  size_t advertised = listeners.size();
  for (size_t i = 0; i < listeners.size(); ++i) {
    spdlog::info("listening on {} (listener {}, authentication {})",
                 listener_url(*server_options, server, i), listeners[i].name,
                 config.authentication_method_of(listeners[i].name));
    if (listeners[i].name == config.inter_broker_listener_name) advertised = i;
  }
  for (size_t i = 0; i < listeners.size() && advertised == listeners.size(); ++i) {
    if (!listeners[i].tls) advertised = i;
  }
  if (advertised == listeners.size()) advertised = 0;

  // Every append wakes the long-polling fetches of its partition, whatever path made it.
  broker::Broker::Hooks hooks;
  hooks.on_append = [&ctx](const broker::PartitionLog& log) { ctx.waiters.notify(&log); };
  broker::Broker broker(config, std::move(hooks));
  ctx.advertised_url = config.advertised_listeners.empty()
                           ? listener_url(*server_options, server, advertised)
                           : config.advertised_listeners;

  // Cluster mode: the cluster id comes from etcd (a data directory of another cluster is
  // refused) before recovery, which repairs damaged segments from the other replicas.
  std::unique_ptr<cluster::ClusterNode> node;
  if (!config.etcd_endpoints.empty()) {
    auto endpoints = cluster::parse_etcd_endpoints(config.etcd_endpoints);
    auto local = broker::stored_cluster_id(config.log_dirs);
    if (!endpoints || !local) {
      spdlog::critical("etcd.endpoints: {}",
                       endpoints ? "unreadable meta.properties" : endpoints.error());
      server.stop(std::chrono::milliseconds(0));
      return 2;
    }
    cluster::ClusterNode::Options o;
    try {
      // Brokers verify each other with the CAs of ssl.ca.location and present their own
      // certificate to a broker that asks for one; etcd with etcd.ssl.*.
      o.peer_tls =
          net::client_tls_context({"ssl", config.ssl_ca_location, config.ssl_certificate_location,
                                   config.ssl_key_location, config.ssl_key_password});
      o.etcd_tls = net::client_tls_context(
          {"etcd.ssl", config.etcd_ssl_ca_location, config.etcd_ssl_certificate_location,
           config.etcd_ssl_key_location, config.etcd_ssl_key_password});
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
      server.stop(std::chrono::milliseconds(0));
      return 2;
    }
    o.broker_id = config.broker_id;
    o.url = ctx.advertised_url;
    o.endpoints = std::move(*endpoints);
    o.prefix = config.etcd_prefix;
    o.session_timeout = std::chrono::milliseconds(config.broker_session_timeout_ms);
    o.heartbeat = std::chrono::milliseconds(config.broker_heartbeat_interval_ms);
    o.auto_leader_rebalance = config.auto_leader_rebalance_enable;
    o.topic_defaults = config.topic_defaults;
    o.leader_imbalance_interval =
        std::chrono::seconds(config.leader_imbalance_check_interval_seconds);
    node = std::make_unique<cluster::ClusterNode>(std::move(o));
    auto id = node->agree_cluster_id(local->value_or(broker::new_cluster_id()), *local);
    if (!id) {
      spdlog::critical("{}", id.error().message);
      server.stop(std::chrono::milliseconds(0));
      return 2;
    }
    broker.set_cluster_id(*id);
    broker.set_new_storage_revision(node->agreed_revision());
  }

  // Recovery runs before any data endpoint opens; /v1/recovery and /metrics show progress.
  auto recovery_options = recovery::log_recovery_options(config);
  if (node) {
    // A bad batch in a sealed segment is replaced by an in-sync replica's copy (the broker is
    // not registered yet: it is in no ISR and leads nothing until the log is whole).
    recovery_options.repair = [&node, &config](const recovery::SegmentDamage& damage) {
      return cluster::repair_from(damage, node->in_sync_peers(damage.topic, damage.partition),
                                  config.cluster_auth_token, node->peer_tls(),
                                  std::chrono::seconds(10));
    };
  }
  recovery::LogRecovery recovery(std::move(recovery_options));
  recovery_progress.store(&recovery.progress(), std::memory_order_release);
  auto report = recovery.run();
  if (!report) {
    spdlog::critical("recovery failed: {}", report.error().message());
    server.stop(std::chrono::milliseconds(0));
    return 1;
  }
  {
    std::lock_guard lock(report_mu);
    report_json = recovery::to_json(*report);
  }
  if (report->failed()) {
    for (const auto& p : report->partitions) {
      if (!p.failure.empty()) spdlog::critical("recovery of {} failed: {}", p.name, p.failure);
    }
    server.stop(std::chrono::milliseconds(0));
    return 1;
  }

  if (node) {
    node->set_clean_start(std::all_of(report->clean_shutdown.begin(), report->clean_shutdown.end(),
                                      [](bool clean) { return clean; }));
    // A log cut before its last segment lost records this broker had reported durable: its
    // old places in ISRs must not make it electable until it has caught up again.
    for (const auto& p : report->partitions) {
      if (!p.cut_sealed) continue;
      spdlog::warn(
          "{}: cut before its last segment; this broker leads no partition it held "
          "before until it is back in sync",
          p.name);
      broker.renew_storage();
    }
  }
  if (auto r = broker.start(); !r) {
    spdlog::critical("start-up failed: {}", r.error().message());
    server.stop(std::chrono::milliseconds(0));
    return 1;
  }
  std::unique_ptr<cluster::ReplicaManager> replicas;
  std::unique_ptr<cluster::ClusterTopics> cluster_topics;
  std::shared_ptr<cluster::EtcdAclStore> etcd_acls;  // cluster mode: the ACLs in etcd
  if (node) {
    cluster::ReplicaManager::Options ro;
    ro.on_high_watermark = [&ctx](const broker::PartitionLog& log) { ctx.waiters.notify(&log); };
    replicas = std::make_unique<cluster::ReplicaManager>(*node, broker, std::move(ro));
    replicas->start();
    broker.set_replication(replicas.get());
    ctx.replicas.store(replicas.get(), std::memory_order_release);
    cluster_topics = std::make_unique<cluster::ClusterTopics>(*node, broker, *replicas);
    // ACLs live in etcd: every view brings the latest.
    etcd_acls = std::make_shared<cluster::EtcdAclStore>(*node, *authorizer);
    node->on_view([topics = cluster_topics.get(), acls = etcd_acls](auto view) {
      acls->apply(*view);
      topics->on_view(std::move(view));
    });
    ctx.acl_store = etcd_acls;
    broker.admin().install(cluster_topics.get());
    node->set_storage_revision(broker.storage_revision());
    if (auto r = node->start(); !r) {
      spdlog::critical("{}", r.error().message);
      server.stop(std::chrono::milliseconds(0));
      replicas->stop();
      broker.set_replication(nullptr);
      (void)broker.stop();
      return 2;
    }
    // A group's coordinator is the leader of its partition of the offsets topic.
    broker.groups().coordinate(
        [node = node.get(), self = config.broker_id](int32_t partition) -> std::optional<int32_t> {
          if (node->fenced()) return std::nullopt;
          const auto view = node->view();
          const auto* state = view->partition(broker::kOffsetsTopic, partition);
          if (state == nullptr || state->leader != self) return std::nullopt;
          return state->leader_epoch;
        });
    ctx.cluster.store(node.get(), std::memory_order_release);
    // The scrub repairs damage from the partition's other in-sync replicas, leader first.
    broker.scrubber().set_repair([node = node.get(), &config](const recovery::SegmentDamage& d) {
      std::vector<cluster::RepairSource> sources;
      const auto view = node->view();
      if (const auto* state = view->partition(d.topic, d.partition)) {
        sources = cluster::repair_sources(*state, config.broker_id,
                                          [&](int32_t id) -> std::optional<std::string> {
                                            auto b = view->brokers.find(id);
                                            if (b == view->brokers.end()) return std::nullopt;
                                            return b->second.registration.url;
                                          });
      }
      return cluster::repair_from(d, sources, config.cluster_auth_token, node->peer_tls(),
                                  std::chrono::seconds(10));
    });
  }
  if (etcd_acls) {
    etcd_acls->apply(*node->view());
  } else if (config.authorizer_enable) {
    // A standalone broker keeps its ACLs in its (first) data directory.
    auto acls = std::make_shared<broker::FileAclStore>(
        std::filesystem::path(config.log_dirs.front()) / broker::FileAclStore::kFileName,
        *authorizer);
    if (auto failed = acls->load()) {
      spdlog::critical("{}", *failed);
      server.stop(std::chrono::milliseconds(0));
      (void)broker.stop();
      return 1;
    }
    ctx.acl_store = acls;
  }
  if (config.authorizer_enable) {
    spdlog::info("authorization on: {} ACLs, super users: {}", authorizer->acls()->size(),
                 config.super_users.empty()
                     ? "none"
                     : fmt::format("{}", fmt::join(config.super_users, ", ")));
  }
  ctx.broker.store(&broker, std::memory_order_release);
  spdlog::info("ready: {} topics in {}", broker.topics().list().size(),
               fmt::join(config.log_dirs, ","));
  int signal = 0;
  for (;;) {
    sigwait(&stop_signals, &signal);
    if (signal != SIGHUP) break;
    reload_security(*server_options);
  }
  spdlog::info("received {}, stopping", strsignal(signal));
  // The lease goes first, so the cluster moves this broker's leaderships at once.
  broker.scrubber().set_repair({});
  if (node) node->stop();
  if (replicas) replicas->stop();  // acks=all still waiting: not confirmed
  ctx.waiters.shut_down();  // parked long polls answer now instead of holding up the grace period
  server.stop(kShutdownGrace);
  ctx.broker.store(nullptr);
  broker.set_replication(nullptr);
  if (auto r = broker.stop(); !r) {
    spdlog::error("clean stop failed: {}", r.error().message());
    return 1;
  }
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace sluice::app
