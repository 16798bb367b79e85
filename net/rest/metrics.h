#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace sluice::cluster {
class ClusterNode;
}  // namespace sluice::cluster

namespace sluice::broker {
class Broker;
}

namespace sluice::net {

// Request counters and latency for /metrics, in Prometheus text exposition format.
// Threading: record_* are thread-safe and cheap; render() takes a consistent-enough snapshot.
class Metrics {
 public:
  static constexpr std::array<double, 16> kLatencyBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};

  // `route` is the matched route's pattern ("/topics/{}"), never the raw path, so the label
  // has a fixed set of values; it must have static storage: it is kept as a key.
  void record_request(std::string_view route, unsigned status, double seconds, uint64_t bytes_in,
                      uint64_t bytes_out);
  void add_records_appended(uint64_t n) {
    records_appended_.fetch_add(n, std::memory_order_relaxed);
  }

  // Everything: requests, latency, bytes, records; partition gauges and fsync figures when
  // the broker is up; in cluster mode (`cluster` set) the replication of the partitions this
  // broker leads; `recovery` is appended as is (whole families in exposition format, none of
  // them one of these).
  std::string render(broker::Broker* broker, const cluster::ClusterNode* cluster,
                     std::string_view recovery) const;

 private:
  struct RouteStats {
    std::map<unsigned, uint64_t> requests;                              // by status
    std::array<uint64_t, kLatencyBuckets.size() + 1> latency_counts{};  // the last one: +Inf
    double latency_sum_s = 0;
  };

  mutable std::mutex mu_;
  // Keyed by views of static route patterns, so counting a request allocates nothing once a
  // route and status have been seen.
  std::map<std::string_view, RouteStats> routes_;  // guarded by mu_
  std::atomic<uint64_t> bytes_in_{0};
  std::atomic<uint64_t> bytes_out_{0};
  std::atomic<uint64_t> records_appended_{0};
};

}  // namespace sluice::net
