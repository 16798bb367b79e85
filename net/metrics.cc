#include "net/metrics.h"

#include <fmt/format.h>

#include "broker/broker.h"

namespace sluice::net {
namespace {

// A Prometheus label value: backslash, double quote and newline escaped. Group names are
// whatever a client put in a path.
std::string label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void Metrics::record_request(std::string_view route, unsigned status, double seconds,
                             uint64_t bytes_in, uint64_t bytes_out) {
  {
    std::lock_guard lock(mu_);
    ++requests_[{route, status}];
  }
  size_t bucket = 0;
  while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
  latency_counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  bytes_in_.fetch_add(bytes_in, std::memory_order_relaxed);
  bytes_out_.fetch_add(bytes_out, std::memory_order_relaxed);
}

std::string Metrics::render(broker::Broker* broker, std::string_view recovery) const {
  std::string out;
  auto line = [&out](std::string_view text) {
    out += text;
    out += '\n';
  };
  line("# HELP sluice_http_requests_total HTTP requests served, by route and status.");
  line("# TYPE sluice_http_requests_total counter");
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, count] : requests_) {
      line(fmt::format("sluice_http_requests_total{{route=\"{}\",status=\"{}\"}} {}", key.first,
                       key.second, count));
    }
  }
  line("# HELP sluice_http_request_duration_seconds Time from request read to reply ready.");
  line("# TYPE sluice_http_request_duration_seconds histogram");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    cumulative += latency_counts_[i].load(std::memory_order_relaxed);
    line(fmt::format("sluice_http_request_duration_seconds_bucket{{le=\"{}\"}} {}",
                     kLatencyBuckets[i], cumulative));
  }
  cumulative += latency_counts_.back().load(std::memory_order_relaxed);
  line(fmt::format("sluice_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}", cumulative));
  line(fmt::format("sluice_http_request_duration_seconds_sum {}",
                   static_cast<double>(latency_sum_ns_.load()) / 1e9));
  line(fmt::format("sluice_http_request_duration_seconds_count {}", cumulative));
  line("# TYPE sluice_http_request_bytes_total counter");
  line(fmt::format("sluice_http_request_bytes_total {}", bytes_in_.load()));
  line("# TYPE sluice_http_response_bytes_total counter");
  line(fmt::format("sluice_http_response_bytes_total {}", bytes_out_.load()));
  line("# TYPE sluice_records_appended_total counter");
  line(fmt::format("sluice_records_appended_total {}", records_appended_.load()));
  if (broker != nullptr) {
    const auto& sync = broker->sync_stats();
    line("# HELP sluice_fsyncs_total fdatasync calls made for durability.");
    line("# TYPE sluice_fsyncs_total counter");
    line(fmt::format("sluice_fsyncs_total {}", sync.count.load()));
    line("# TYPE sluice_fsync_seconds_total counter");
    line(fmt::format("sluice_fsync_seconds_total {}",
                     static_cast<double>(sync.total_ns.load()) / 1e9));
    line("# TYPE sluice_fsync_seconds_max gauge");
    line(fmt::format("sluice_fsync_seconds_max {}", static_cast<double>(sync.max_ns.load()) / 1e9));
    line("# TYPE sluice_partition_end_offset gauge");
    line("# TYPE sluice_partition_start_offset gauge");
    line("# TYPE sluice_partition_size_bytes gauge");
    for (const auto& log : broker->topics().all_partitions()) {
      const auto labels =
          fmt::format("topic=\"{}\",partition=\"{}\"", log->topic(), log->partition());
      line(fmt::format("sluice_partition_end_offset{{{}}} {}", labels, log->end_offset().value));
      line(
          fmt::format("sluice_partition_start_offset{{{}}} {}", labels, log->start_offset().value));
      line(fmt::format("sluice_partition_size_bytes{{{}}} {}", labels, log->size_bytes()));
    }
    line(
        "# HELP sluice_consumer_group_lag A partition's end offset less the group's committed "
        "offset.");
    line("# TYPE sluice_consumer_group_lag gauge");
    auto& groups = broker->groups();
    for (const auto& name : groups.group_names()) {
      auto group = groups.describe(name);
      if (!group) continue;
      for (const auto& lag : groups.lags(*group)) {
        line(fmt::format(
            "sluice_consumer_group_lag{{group=\"{}\",topic=\"{}\",partition=\"{}\"}} {}",
            label_value(name), lag.tp.topic, lag.tp.partition, lag.lag()));
      }
    }
  }
  out += recovery;
  return out;
}

}  // namespace sluice::net
