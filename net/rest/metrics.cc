#include "net/rest/metrics.h"

#include <fmt/format.h>

#include "broker/broker.h"
#include "cluster/node.h"
#include "cluster/replicas.h"
#include "common/prometheus.h"

namespace sluice::net {

using Type = PrometheusWriter::Type;

void Metrics::record_request(std::string_view route, unsigned status, double seconds,
                             uint64_t bytes_in, uint64_t bytes_out) {
  size_t bucket = 0;
  while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
  {
    std::lock_guard lock(mu_);
    auto& stats = routes_[route];
    ++stats.requests[status];
    ++stats.latency_counts[bucket];
    stats.latency_sum_s += seconds;
  }
  bytes_in_.fetch_add(bytes_in, std::memory_order_relaxed);
  bytes_out_.fetch_add(bytes_out, std::memory_order_relaxed);
}

std::string Metrics::render(broker::Broker* broker, const cluster::ClusterNode* cluster,
                            std::string_view recovery) const {
  PrometheusWriter w;
  {
    std::lock_guard lock(mu_);
    w.family("sluice_http_requests_total", Type::counter,
             "HTTP requests answered, by route pattern and status.");
    for (const auto& [route, stats] : routes_) {
      for (const auto& [status, count] : stats.requests) {
        w.sample({{"route", route}, {"status", std::to_string(status)}}, count);
      }
    }
    w.family("sluice_http_request_duration_seconds", Type::histogram,
             "Time from a parsed request to its reply being ready, by route pattern.");
    for (const auto& [route, stats] : routes_) {
      std::array<uint64_t, kLatencyBuckets.size()> cumulative{};
      uint64_t sum = 0;
      for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
        sum += stats.latency_counts[i];
        cumulative[i] = sum;
      }
      sum += stats.latency_counts.back();
      w.histogram({{"route", route}}, kLatencyBuckets, cumulative, stats.latency_sum_s, sum);
    }
  }
  w.family("sluice_http_request_bytes_total", Type::counter, "Request body bytes read.");
  w.sample({}, bytes_in_.load());
  w.family("sluice_http_response_bytes_total", Type::counter,
           "Reply body bytes written, raw fetches included.");
  w.sample({}, bytes_out_.load());
  w.family("sluice_records_appended_total", Type::counter, "Records stored.");
  w.sample({}, records_appended_.load());
  if (broker != nullptr) {
    const auto& sync = broker->sync_stats();
    w.family("sluice_fsyncs_total", Type::counter, "fdatasync calls made for durability.");
    w.sample({}, sync.count.load());
    w.family("sluice_fsync_seconds_total", Type::counter, "Time spent in those fdatasync calls.");
    w.sample({}, static_cast<double>(sync.total_ns.load()) / 1e9);
    w.family("sluice_fsync_seconds_max", Type::gauge, "The longest fdatasync call so far.");
    w.sample({}, static_cast<double>(sync.max_ns.load()) / 1e9);
    w.family("sluice_fsync_duration_seconds", Type::histogram,
             "fdatasync calls made for durability, by how long they took.");
    std::array<uint64_t, broker::SyncStats::kBuckets.size()> cumulative{};
    uint64_t seen = 0;
    for (size_t i = 0; i < cumulative.size(); ++i) {
      seen += sync.in_bucket[i].load();
      cumulative[i] = seen;
    }
    seen += sync.in_bucket.back().load();
    w.histogram({}, broker::SyncStats::kBuckets, cumulative,
                static_cast<double>(sync.total_ns.load()) / 1e9, seen);

    const auto& scrub = broker->scrubber().counters();
    w.family("sluice_scrub_passes_total", Type::counter,
             "Whole passes of the background scrub over every sealed segment.");
    w.sample({}, scrub.passes.load());
    w.family("sluice_scrub_segments_total", Type::counter, "Sealed segments the scrub checked.");
    w.sample({}, scrub.segments.load());
    w.family("sluice_scrub_bytes_total", Type::counter, "Bytes the scrub read and checked.");
    w.sample({}, scrub.bytes.load());
    w.family("sluice_scrub_damaged_segments_total", Type::counter,
             "Sealed segments in which the scrub found a bad batch.");
    w.sample({}, scrub.damaged.load());
    w.family("sluice_scrub_repaired_segments_total", Type::counter,
             "Of those, the ones repaired from an in-sync replica's copy.");
    w.sample({}, scrub.repaired.load());

    const auto partitions = broker->topics().all_partitions();
    auto per_partition = [&](std::string_view name, std::string_view help, auto value) {
      w.family(name, Type::gauge, help);
      for (const auto& log : partitions) {
        w.sample({{"topic", log->topic()}, {"partition", std::to_string(log->partition())}},
                 value(*log));
      }
    };
    per_partition("sluice_partition_start_offset", "A partition's log start offset.",
                  [](const auto& log) { return log.start_offset().value; });
    per_partition("sluice_partition_end_offset",
                  "A partition's high watermark: the end of what consumers may read.",
                  [](const auto& log) { return log.high_watermark().value; });
    per_partition("sluice_partition_log_end_offset",
                  "A partition's log end offset (past the high watermark while replicas catch up).",
                  [](const auto& log) { return log.end_offset().value; });
    per_partition("sluice_partition_size_bytes", "A partition's bytes on disk.",
                  [](const auto& log) { return log.size_bytes(); });

    if (cluster != nullptr) {
      // Kafka's alerting figures, for the partitions this broker leads.
      const auto view = cluster->view();
      const int32_t self = broker->config().broker_id;
      int64_t under_replicated = 0;
      int64_t under_min_isr = 0;
      w.family("sluice_partition_in_sync_replicas", Type::gauge,
               "Cluster mode: the in-sync replicas of each partition this broker leads.");
      for (const auto& [tp, state] : view->partitions) {
        auto topic = view->topics.find(tp.first);
        if (state.leader != self || topic == view->topics.end() ||
            tp.second >= topic->second.partitions()) {
          continue;
        }
        const auto replicas = topic->second.replicas[static_cast<size_t>(tp.second)].size();
        w.sample({{"topic", tp.first}, {"partition", std::to_string(tp.second)}},
                 static_cast<int64_t>(state.isr.size()));
        if (state.isr.size() < replicas) ++under_replicated;
        auto log = broker->topics().partition(tp.first, tp.second);
        if (log && static_cast<int32_t>(state.isr.size()) <
                       cluster::ReplicaManager::effective_min_isr(
                           (*log)->config()->min_insync_replicas, replicas)) {
          ++under_min_isr;
        }
      }
      w.family("sluice_under_replicated_partitions", Type::gauge,
               "Cluster mode: partitions this broker leads whose ISR lacks some replica.");
      w.sample({}, under_replicated);
      w.family("sluice_under_min_isr_partitions", Type::gauge,
               "Cluster mode: partitions this broker leads whose ISR is below "
               "min.insync.replicas (acks=all is refused).");
      w.sample({}, under_min_isr);
    }

    w.family("sluice_consumer_group_lag", Type::gauge,
             "A partition's end offset less the group's committed offset.");
    auto& groups = broker->groups();
    for (const auto& name : groups.group_names()) {
      auto group = groups.describe(name);
      if (!group) continue;
      for (const auto& lag : groups.lags(*group)) {
        w.sample({{"group", name},
                  {"topic", lag.tp.topic},
                  {"partition", std::to_string(lag.tp.partition)}},
                 lag.lag());
      }
    }
  }
  std::string out = w.take();
  out += recovery;
  return out;
}

}  // namespace sluice::net
