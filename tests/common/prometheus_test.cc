#include "common/prometheus.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

namespace sluice {
namespace {

using Type = PrometheusWriter::Type;

TEST(PrometheusWriterTest, FamiliesHaveHelpAndTypeAndTheirSamplesTogether) {
  PrometheusWriter w;
  w.family("app_requests_total", Type::counter, "Requests.");
  w.sample({{"route", "/a"}}, uint64_t{3});
  w.sample({{"route", "/b"}}, uint64_t{4});
  w.family("app_queue_depth", Type::gauge, "Queued items.");
  w.sample({}, 2.5);
  EXPECT_EQ(w.text(),
            "# HELP app_requests_total Requests.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{route=\"/a\"} 3\n"
            "app_requests_total{route=\"/b\"} 4\n"
            "# HELP app_queue_depth Queued items.\n"
            "# TYPE app_queue_depth gauge\n"
            "app_queue_depth 2.5\n");
}

TEST(PrometheusWriterTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(PrometheusWriter::escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  PrometheusWriter w;
  w.family("app_lag", Type::gauge, "Lag,\nper group \\ topic.");
  w.sample({{"group", "g\"1"}, {"topic", "t"}}, int64_t{-1});
  EXPECT_EQ(w.text(),
            "# HELP app_lag Lag,\\nper group \\\\ topic.\n"
            "# TYPE app_lag gauge\n"
            "app_lag{group=\"g\\\"1\",topic=\"t\"} -1\n");
}

TEST(PrometheusWriterTest, HistogramWritesCumulativeBucketsInfSumAndCount) {
  PrometheusWriter w;
  w.family("app_duration_seconds", Type::histogram, "Durations.");
  const std::array<double, 2> bounds{0.5, 1};
  const std::array<uint64_t, 2> cumulative{1, 3};
  w.histogram({{"route", "/x"}}, bounds, cumulative, 2.25, 4);
  EXPECT_EQ(w.text(),
            "# HELP app_duration_seconds Durations.\n"
            "# TYPE app_duration_seconds histogram\n"
            "app_duration_seconds_bucket{route=\"/x\",le=\"0.5\"} 1\n"
            "app_duration_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
            "app_duration_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
            "app_duration_seconds_sum{route=\"/x\"} 2.25\n"
            "app_duration_seconds_count{route=\"/x\"} 4\n");
}

TEST(PrometheusWriterDeathTest, AFamilyWrittenTwiceIsABug) {
  EXPECT_DEATH(
      {
        PrometheusWriter w;
        w.family("app_x", Type::gauge, "x");
        w.family("app_x", Type::gauge, "x");
      },
      "written twice");
}

TEST(PrometheusWriterDeathTest, OnlyCountersEndInTotal) {
  EXPECT_DEATH(
      {
        PrometheusWriter w;
        w.family("app_partitions_total", Type::gauge, "x");
      },
      "only counters");
  EXPECT_DEATH(
      {
        PrometheusWriter w;
        w.family("app_requests", Type::counter, "x");
      },
      "only counters");
}

}  // namespace
}  // namespace sluice
