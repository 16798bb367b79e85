// Brokers joining a cluster through a real etcd: registration, controller election, the
// metadata every broker answers, leaving, and the start-ups that must be refused.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "tests/cluster/cluster_state.h"
#include "tests/cluster/etcd_process.h"
#include "tests/net/broker_process.h"
#include "tests/net/http_client.h"
#include "tests/temp_dir.h"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;

class MembershipTest : public ClusterFixture {
 protected:
  std::string etcd_key(const std::string& key) {
    auto r = http_request(etcd_.client_port(), "POST", "/v3/kv/range",
                          "{\"key\":\"" + base64_encode(key) + "\"}");
    return r.body;
  }
  // `sluice serve` as a second broker would run it, on its own data directory, to completion.
  CommandResult serve_once(int id, const std::filesystem::path& dir) {
    std::vector<std::string> args = {"serve", "--set", "log.dirs=" + dir.string(), "--set",
                                     "listeners=http://127.0.0.1:0"};
    for (const auto& s : sets(id)) {
      args.push_back("--set");
      args.push_back(s);
    }
    return run_sluice(args, 60s);
  }
};

TEST_F(MembershipTest, ThreeBrokersRegisterAndEveryOneShowsTheSameCluster) {
  std::vector<std::unique_ptr<BrokerProcess>> brokers;
  for (int id = 1; id <= 3; ++id) brokers.push_back(start_broker(id));
  ClusterState first;
  ASSERT_TRUE(eventually([&] {
    first = cluster_state(brokers[0]->port());
    return first.brokers.size() == 3 && first.controller >= 1;
  })) << brokers[0]->output();
  EXPECT_EQ(first.controller, 1);  // the first to campaign wins
  for (int id = 1; id <= 3; ++id) {
    EXPECT_EQ(first.brokers[id], "http://127.0.0.1:" + std::to_string(brokers[id - 1]->port()));
  }
  for (auto& b : brokers) {
    ASSERT_TRUE(eventually([&] {
      auto s = cluster_state(b->port());
      return s.brokers == first.brokers && s.controller == first.controller &&
             s.cluster_id == first.cluster_id;
    })) << b->output();
    // The REST Proxy's views agree: v2 broker ids, v3 brokers with host and port.
    auto v2 = http_request(b->port(), "GET", "/brokers");
    EXPECT_EQ(v2.body, R"({"brokers":[1,2,3]})");
    auto v3 = http_request(b->port(), "GET", "/v3/clusters/" + first.cluster_id + "/brokers");
    ASSERT_EQ(v3.status, 200) << v3.body;
    for (auto& other : brokers) {
      EXPECT_NE(v3.body.find("\"port\":" + std::to_string(other->port())), std::string::npos)
          << v3.body;
    }
    auto cluster = http_request(b->port(), "GET", "/v3/clusters/" + first.cluster_id);
    EXPECT_NE(cluster.body.find("/brokers/1\""), std::string::npos) << cluster.body;
  }
}

TEST_F(MembershipTest, ABrokerStoppedWithSigtermLeavesAtOnceAndTheControllerMoves) {
  auto one = start_broker(1);
  auto two = start_broker(2);
  ASSERT_TRUE(eventually([&] { return cluster_state(two->port()).brokers.size() == 2; }));
  ASSERT_EQ(cluster_state(two->port()).controller, 1);
  EXPECT_EQ(one->terminate(), 0) << one->output();
  // The lease was revoked before the broker exited: its registration is gone already, not
  // after the session timeout.
  EXPECT_EQ(etcd_key("/sluice/brokers/1").find("\"kvs\""), std::string::npos)
      << etcd_key("/sluice/brokers/1");
  EXPECT_TRUE(eventually([&] {
    auto s = cluster_state(two->port());
    return s.brokers.size() == 1 && s.controller == 2;
  })) << two->output();
}

TEST_F(MembershipTest, ABrokerKilledComesBackUnderItsIdOnceItsOldRegistrationExpires) {
  // A session long enough that the old registration is certainly still there when the
  // restarted broker (slow to start under a sanitizer) tries to register.
  BrokerProcess::Options o;
  o.sets = sets(1);
  o.sets.push_back("broker.session.timeout.ms=6000");
  auto one = std::make_unique<BrokerProcess>(o);
  auto two = start_broker(2);
  ASSERT_TRUE(eventually([&] { return cluster_state(two->port()).brokers.size() == 2; }));
  one->kill9();
  one->restart();  // waits (bounded) for the dead registration to expire, then registers
  ASSERT_TRUE(eventually([&] {
    auto s = cluster_state(two->port());
    return s.brokers.size() == 2 &&
           s.brokers[1] == "http://127.0.0.1:" + std::to_string(one->port());
  })) << one->output();
  EXPECT_NE(one->output().find("still registered"), std::string::npos) << one->output();
}

TEST_F(MembershipTest, ASecondBrokerWithALiveBrokersIdRefusesToStart) {
  auto one = start_broker(1);
  TempDir other;
  auto result = serve_once(1, other.path());
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("broker.id 1 is held by a live broker"), std::string::npos)
      << result.output;
  // The live broker is untouched.
  EXPECT_EQ(cluster_state(one->port()).brokers.size(), 1u);
  EXPECT_EQ(http_request(one->port(), "GET", "/readyz").status, 200);
}

TEST_F(MembershipTest, ADataDirectoryOfAnotherClusterIsRefused) {
  auto one = start_broker(1);
  const auto id = cluster_state(one->port()).cluster_id;
  // A standalone broker's data directory names a cluster of its own.
  TempDir dir;
  {
    BrokerProcess::Options o;
    o.data_dir = dir.path();
    BrokerProcess standalone(o);
  }
  auto result = serve_once(2, dir.path());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("holds cluster " + id), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("refusing to join another cluster"), std::string::npos)
      << result.output;
}

TEST_F(MembershipTest, BrokersRewatchAfterAnEtcdRestartAndKeepTheirRegistrations) {
  auto one = start_broker(1);
  auto two = start_broker(2);
  ASSERT_TRUE(eventually([&] { return cluster_state(one->port()).brokers.size() == 2; }));
  etcd_.kill9();
  etcd_.start();
  // A broker that joins after the restart is seen by the others: their watches came back.
  auto three = start_broker(3);
  EXPECT_TRUE(eventually([&] {
    auto s = cluster_state(one->port());
    return s.brokers.size() == 3 && s.controller == 1;
  })) << one->output();
  EXPECT_NE(cluster_state(two->port()).brokers.size(), 0u);
}

}  // namespace
}  // namespace sluice::testing
