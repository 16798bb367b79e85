// Topics in cluster mode: defined in etcd through any broker, held by every broker, their
// partitions led by the brokers the assignment names and elected again when one goes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/cluster_state.h"

namespace sluice::testing {
namespace {

const std::map<std::string, std::string> kJson = {{"Content-Type", "application/json"}};

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class ClusterTopicsTest : public ClusterFixture {
 protected:
  void start(int brokers) {
    for (int id = 1; id <= brokers; ++id) brokers_.push_back(start_broker(id));
    ASSERT_TRUE(eventually([&] {
      return cluster_state(brokers_[0]->port()).brokers.size() == static_cast<size_t>(brokers);
    }));
    cluster_id_ = cluster_state(brokers_[0]->port()).cluster_id;
  }
  HttpResponse create(BrokerProcess& b, const std::string& body) {
    return http_request(b.port(), "POST", "/v3/clusters/" + cluster_id_ + "/topics", body, kJson);
  }
  // Every partition of `topic` as every broker sees it, once all agree and each has a leader.
  std::map<int64_t, PartitionInfo> settled(const std::string& topic, int64_t partitions) {
    std::map<int64_t, PartitionInfo> agreed;
    EXPECT_TRUE(eventually([&] {
      std::vector<std::map<int64_t, PartitionInfo>> seen;
      for (auto& b : brokers_) {
        std::map<int64_t, PartitionInfo> mine;
        for (auto& [tp, info] : cluster_state(b->port()).partitions) {
          if (tp.first == topic && info.leader >= 0) mine[tp.second] = info;
        }
        if (static_cast<int64_t>(mine.size()) != partitions) return false;
        seen.push_back(std::move(mine));
      }
      for (auto& s : seen) {
        for (auto& [p, info] : s) {
          if (info.leader != seen[0][p].leader || info.isr != seen[0][p].isr) return false;
        }
      }
      agreed = seen[0];
      return true;
    })) << brokers_[0]->output();
    return agreed;
  }

  std::vector<std::unique_ptr<BrokerProcess>> brokers_;
  std::string cluster_id_;
};

TEST_F(ClusterTopicsTest, ATopicCreatedThroughOneBrokerIsOnEveryBrokerWithItsLeadersSpread) {
  start(3);
  if (HasFatalFailure()) return;
  auto r = create(*brokers_[1], R"({"topic_name":"orders","partitions_count":6})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto partitions = settled("orders", 6);
  std::map<int64_t, int> led;
  for (auto& [p, info] : partitions) {
    ASSERT_EQ(info.replicas.size(), 1u);
    EXPECT_EQ(info.leader, info.replicas[0]);
    EXPECT_EQ(info.isr, info.replicas);
    EXPECT_EQ(info.leader_epoch, 0);
    ++led[info.leader];
  }
  EXPECT_EQ(led, (std::map<int64_t, int>{{1, 2}, {2, 2}, {3, 2}}));  // spread evenly
  for (auto& b : brokers_) {
    auto topic = http_request(b->port(), "GET", "/v3/clusters/" + cluster_id_ + "/topics/orders");
    EXPECT_EQ(topic.status, 200) << topic.body;
    EXPECT_NE(topic.body.find(R"("replication_factor":1)"), std::string::npos) << topic.body;
    // v2 and v3 show the same leaders as /v1/cluster, on every broker.
    for (auto& [p, info] : partitions) {
      const auto leader = std::to_string(info.leader);
      auto v2 = http_request(b->port(), "GET", "/topics/orders/partitions/" + std::to_string(p));
      EXPECT_NE(v2.body.find(R"("leader":)" + leader + R"(,"replicas":[{"broker":)" + leader +
                             R"(,"leader":true,"in_sync":true}])"),
                std::string::npos)
          << v2.body;
      auto v3 = http_request(b->port(), "GET",
                             "/v3/clusters/" + cluster_id_ + "/topics/orders/partitions/" +
                                 std::to_string(p) + "/replicas");
      EXPECT_NE(v3.body.find(R"("broker_id":)" + leader + R"(,"is_leader":true,"is_in_sync":true)"),
                std::string::npos)
          << v3.body;
    }
  }
  // The name is the cluster's now: a second create through another broker is refused.
  auto again = create(*brokers_[2], R"({"topic_name":"orders","partitions_count":2})");
  EXPECT_EQ(again.status, 409) << again.body;
}

TEST_F(ClusterTopicsTest, AReplicationFactorAboveTheLiveBrokersIsRefusedNamingBoth) {
  start(2);
  if (HasFatalFailure()) return;
  auto r = create(*brokers_[0], R"({"topic_name":"big","replication_factor":3})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("replication_factor 3 is larger than the 2 brokers alive"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(http_request(brokers_[1]->port(), "GET", "/v3/clusters/" + cluster_id_ + "/topics/big")
                .status,
            404);
}

TEST_F(ClusterTopicsTest, ConfigChangesAndDeletionReachEveryBroker) {
  start(2);
  if (HasFatalFailure()) return;
  ASSERT_EQ(create(*brokers_[0], R"({"topic_name":"logs","partitions_count":2})").status, 201);
  settled("logs", 2);
  const std::string config = "/v3/clusters/" + cluster_id_ + "/topics/logs/configs/retention.ms";
  auto set = http_request(brokers_[0]->port(), "PUT", config, R"({"value":"3600000"})", kJson);
  ASSERT_EQ(set.status, 204) << set.body;
  EXPECT_TRUE(eventually([&] {
    return http_request(brokers_[1]->port(), "GET", config).body.find("\"3600000\"") !=
           std::string::npos;
  })) << http_request(brokers_[1]->port(), "GET", config).body;

  auto removed =
      http_request(brokers_[1]->port(), "DELETE", "/v3/clusters/" + cluster_id_ + "/topics/logs");
  ASSERT_EQ(removed.status, 204) << removed.body;
  EXPECT_TRUE(eventually([&] {
    return http_request(brokers_[0]->port(), "GET", "/v3/clusters/" + cluster_id_ + "/topics/logs")
                   .status == 404 &&
           cluster_state(brokers_[0]->port()).partitions.empty();
  })) << brokers_[0]->output();
}

TEST_F(ClusterTopicsTest, ADeadLeadersPartitionsGoOfflineAndComeBackWithItAtANewEpoch) {
  start(2);
  if (HasFatalFailure()) return;
  ASSERT_EQ(create(*brokers_[0], R"({"topic_name":"t","partitions_count":4})").status, 201);
  auto before = settled("t", 4);
  int64_t on_two = -1;  // a partition broker 2 leads
  for (auto& [p, info] : before) {
    if (info.leader == 2) on_two = p;
  }
  ASSERT_GE(on_two, 0);
  const std::string path = "/topics/t/partitions/" + std::to_string(on_two);
  const std::map<std::string, std::string> v2 = {
      {"Content-Type", "application/vnd.kafka.json.v2+json"}};
  ASSERT_EQ(
      http_request(brokers_[0]->port(), "POST", path, R"({"records":[{"value":1}]})", v2).status,
      200);
  brokers_[1]->kill9();
  // Broker 2's lease expires; its partitions have no other replica: offline, not moved.
  ASSERT_TRUE(eventually([&] {
    auto s = cluster_state(brokers_[0]->port());
    for (auto& [tp, info] : s.partitions) {
      if (before[tp.second].leader == 2 && info.leader != -1) return false;
      if (before[tp.second].leader == 1 && info.leader != 1) return false;
    }
    return s.brokers.size() == 1;
  })) << brokers_[0]->output();
  brokers_[1]->restart();
  auto after = settled("t", 4);
  for (auto& [p, info] : after) {
    EXPECT_EQ(info.leader, before[p].leader) << p;
    // Each change of leader (to none, and back) raised the epoch.
    EXPECT_EQ(info.leader_epoch, before[p].leader == 2 ? 2 : 0) << p;
  }
  // The new epoch is in the partition's history from the offset where it began, and in the
  // batches written under it.
  const auto checkpoint =
      brokers_[1]->data_dir() / ("t-" + std::to_string(on_two)) / "leader-epoch-checkpoint";
  EXPECT_TRUE(eventually([&] { return read_text(checkpoint) == "0\n2\n0 0\n2 1\n"; }))
      << read_text(checkpoint);
  ASSERT_EQ(
      http_request(brokers_[0]->port(), "POST", path, R"({"records":[{"value":2}]})", v2).status,
      200);
  auto dump = run_sluice({"dump", (brokers_[1]->data_dir() / ("t-" + std::to_string(on_two)) /
                                   "00000000000000000000.log")
                                      .string()});
  EXPECT_NE(dump.output.find("baseOffset: 0 lastOffset: 0 count: 1 partitionLeaderEpoch: 0 "),
            std::string::npos)
      << dump.output;
  EXPECT_NE(dump.output.find("baseOffset: 1 lastOffset: 1 count: 1 partitionLeaderEpoch: 2 "),
            std::string::npos)
      << dump.output;
}

// etcd restarts keep leases (etcd renews them to their full TTL when it comes back): no broker
// is taken for dead, no partition changes leader or epoch, and writes go on.
TEST_F(ClusterTopicsTest, AnEtcdRestartChangesNoLeader) {
  start(2);
  if (HasFatalFailure()) return;
  ASSERT_EQ(create(*brokers_[0], R"({"topic_name":"e","partitions_count":4})").status, 201);
  auto before = settled("e", 4);
  etcd_.kill9();
  etcd_.start();
  // Both brokers renew their leases and watch again; give an expiry time to show itself.
  ASSERT_TRUE(eventually([&] { return cluster_state(brokers_[1]->port()).brokers.size() == 2; }));
  std::this_thread::sleep_for(3s);
  auto after = settled("e", 4);
  for (auto& [p, info] : after) {
    EXPECT_EQ(info.leader, before[p].leader) << p;
    EXPECT_EQ(info.leader_epoch, before[p].leader_epoch) << p;
  }
  const std::map<std::string, std::string> v2 = {
      {"Content-Type", "application/vnd.kafka.json.v2+json"}};
  auto r =
      http_request(brokers_[0]->port(), "POST", "/topics/e", R"({"records":[{"value":1}]})", v2);
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace sluice::testing
