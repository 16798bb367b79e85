#include <gtest/gtest.h>

#include "broker/broker.h"

namespace sluice::broker {
namespace {

TEST(SyncStatsTest, EachSyncCountsOnceInTheBucketOfItsDuration) {
  SyncStats stats;
  stats.record(50'000);         // 50 us: at or below the first bound
  stats.record(100'000);        // exactly a bound belongs to that bucket
  stats.record(7'000'000);      // 7 ms: the 10 ms bucket
  stats.record(3'000'000'000);  // 3 s: past every bound
  EXPECT_EQ(stats.count.load(), 4u);
  EXPECT_EQ(stats.max_ns.load(), 3'000'000'000u);
  EXPECT_EQ(stats.total_ns.load(), 3'007'150'000u);
  EXPECT_EQ(stats.in_bucket[0].load(), 2u);
  size_t ten_ms = 0;
  while (SyncStats::kBuckets[ten_ms] != 0.01) ++ten_ms;
  EXPECT_EQ(stats.in_bucket[ten_ms].load(), 1u);
  EXPECT_EQ(stats.in_bucket.back().load(), 1u);
  uint64_t sum = 0;
  for (const auto& b : stats.in_bucket) sum += b.load();
  EXPECT_EQ(sum, 4u);
}

}  // namespace
}  // namespace sluice::broker
