#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

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

  // `route` must have static storage (a route pattern literal): it is kept as a key.
  void record_request(std::string_view route, unsigned status, double seconds, uint64_t bytes_in,
                      uint64_t bytes_out);
  void add_records_appended(uint64_t n) {
    records_appended_.fetch_add(n, std::memory_order_relaxed);
  }

  // Everything: requests, latency, bytes, records; partition gauges and fsync figures when
  // the broker is up; `recovery` is appended as is (already in exposition format).
  std::string render(broker::Broker* broker, std::string_view recovery) const;

 private:
  mutable std::mutex mu_;
  // Keyed by views of static route patterns, so counting a request allocates nothing.
  std::map<std::pair<std::string_view, unsigned>, uint64_t> requests_;  // guarded by mu_
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> latency_counts_{};
  std::atomic<uint64_t> latency_sum_ns_{0};
  std::atomic<uint64_t> bytes_in_{0};
  std::atomic<uint64_t> bytes_out_{0};
  std::atomic<uint64_t> records_appended_{0};
};

}  // namespace sluice::net
