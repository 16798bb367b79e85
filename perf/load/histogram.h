#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace sluice::load {

// Log-linear latency histogram of nanosecond values: exact below 64 ns, then 32 linear buckets
// per power of two, so a reported percentile is within 1.6% of the true value (bucket
// midpoints). Recording is a few relaxed atomic operations; one thread records, any thread may
// read (the live progress line reads while the run goes on).
class Histogram {
 public:
  static constexpr int kSubBits = 5;
  static constexpr size_t kSubBuckets = size_t{1} << kSubBits;
  // Indexes 0..63 hold exact values; above, (shift, mantissa) with shift 1..58.
  static constexpr size_t kBuckets = (63 - kSubBits) * kSubBuckets + 2 * kSubBuckets;

  void record(uint64_t ns) {
    counts_[index_of(ns)].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(ns, std::memory_order_relaxed);
    uint64_t seen = max_ns_.load(std::memory_order_relaxed);
    while (ns > seen && !max_ns_.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
    }
  }

  void merge_from(const Histogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) {
      const uint64_t n = other.counts_[i].load(std::memory_order_relaxed);
      if (n != 0) counts_[i].fetch_add(n, std::memory_order_relaxed);
    }
    count_.fetch_add(other.count(), std::memory_order_relaxed);
    sum_ns_.fetch_add(other.sum_ns_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    const uint64_t m = other.max_ns();
    if (m > max_ns()) max_ns_.store(m, std::memory_order_relaxed);
  }

  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t max_ns() const { return max_ns_.load(std::memory_order_relaxed); }
  double mean_ns() const {
    const uint64_t n = count();
    return n == 0 ? 0.0 : static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / n;
  }

  // The value at quantile q in [0, 1]: the midpoint of the bucket holding the ceil(q * count)-th
  // smallest value, capped by the largest value seen; 0 when empty.
  uint64_t percentile_ns(double q) const {
    uint64_t total = 0;
    for (const auto& c : counts_) total += c.load(std::memory_order_relaxed);
    if (total == 0) return 0;
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total) + 0.999999);
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i].load(std::memory_order_relaxed);
      if (seen >= rank) {
        const uint64_t mid = lower_bound(i) + (upper_bound(i) - lower_bound(i)) / 2;
        return mid < max_ns() ? mid : max_ns();
      }
    }
    return max_ns();
  }

  static size_t index_of(uint64_t v) {
    if (v < 2 * kSubBuckets) return static_cast<size_t>(v);
    const int shift = std::bit_width(v) - 1 - kSubBits;
    return static_cast<size_t>(shift) * kSubBuckets + static_cast<size_t>(v >> shift);
  }
  static uint64_t lower_bound(size_t index) {
    if (index < 2 * kSubBuckets) return index;
    const size_t shift = index / kSubBuckets - 1;
    const uint64_t mantissa = index % kSubBuckets + kSubBuckets;
    return mantissa << shift;
  }
  static uint64_t upper_bound(size_t index) {
    if (index < 2 * kSubBuckets) return index;
    return lower_bound(index) + (uint64_t{1} << (index / kSubBuckets - 1)) - 1;
  }

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<uint64_t> max_ns_{0};
};

}  // namespace sluice::load
