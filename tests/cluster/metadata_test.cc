// The cluster's pure metadata: replica placement and the values brokers write to etcd.
#include "cluster/metadata.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

namespace sluice::cluster {
namespace {

TEST(AssignReplicasTest, EveryPartitionHasDistinctReplicasAndLeadersSpreadEvenly) {
  for (int32_t n = 1; n <= 5; ++n) {
    std::vector<int32_t> brokers;
    for (int32_t b = 1; b <= n; ++b) brokers.push_back(b * 10);
    for (int32_t rf = 1; rf <= n; ++rf) {
      const auto placed = assign_replicas(brokers, 4 * n, rf, 1);
      ASSERT_EQ(placed.size(), static_cast<size_t>(4 * n));
      std::map<int32_t, int> leaders;
      for (const auto& replicas : placed) {
        ASSERT_EQ(replicas.size(), static_cast<size_t>(rf));
        EXPECT_EQ(std::set<int32_t>(replicas.begin(), replicas.end()).size(), replicas.size())
            << n << " brokers, replication factor " << rf;
        ++leaders[replicas.front()];
      }
      for (const auto& [b, count] : leaders) EXPECT_EQ(count, 4) << b;
    }
  }
}

TEST(TopicAssignmentTest, AnAssignmentThatPlacesTwoReplicasOnOneBrokerIsRefused) {
  EXPECT_TRUE(parse_topic_assignment(R"({"id":"a","partitions":1,"replicas":[[1,2]]})"));
  EXPECT_FALSE(parse_topic_assignment(R"({"id":"a","partitions":1,"replicas":[[1,2,1]]})"));
}

TEST(BrokerRegistrationTest, ARegistrationNamesTheRevisionItsStorageWasCreatedAt) {
  BrokerRegistration me{3, "http://h:1", "inc", false, 42};
  auto parsed = parse_broker_registration(to_json(me));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->storage_revision, 42);
  EXPECT_FALSE(parsed->clean_start);
  // One written before the field existed: storage of unknown age.
  parsed = parse_broker_registration(
      R"({"id":3,"url":"http://h:1","incarnation":"inc","clean_start":true})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->storage_revision, 0);
  EXPECT_TRUE(parsed->clean_start);
}

}  // namespace
}  // namespace sluice::cluster
