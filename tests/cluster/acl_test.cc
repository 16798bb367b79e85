// Authorization in a cluster: ACLs kept in etcd reach every broker, forwarded requests are
// decided as the client's (the forwarding broker vouches with the cluster token), and brokers
// authenticate to each other with that token on a listener that asks clients for passwords.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/base64.h"
#include "tests/cluster/cluster_state.h"
#include "tests/net/security_util.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kToken = "cluster-s3cret";

class ClusterAclTest : public ClusterFixture {
 protected:
  void SetUp() override {
    users_ = dir_.file("users").string();
    for (const auto& [user, password] : {std::pair{"admin", "root-pw"}, {"alice", "alice-pw"}}) {
      ASSERT_EQ(shell(std::string("printf '%s\\n' '") + password + "' | " + SLUICE_BINARY +
                      " user add " + user + " --users-file " + users_)
                    .exit_code,
                0);
    }
    state_headers_ = {{"X-Sluice-Cluster-Token", std::string(kToken)}};
    brokers_ =
        start_brokers(3, {"authentication.method=basic",
                          "authentication.basic.users.file=" + users_, "authorizer.enable=true",
                          "super.users=User:admin", "cluster.auth.token=" + std::string(kToken),
                          "default.replication.factor=3", "min.insync.replicas=2"});
    simdjson::dom::parser parser;
    auto clusters = call(1, "admin", "GET", "/v3/clusters");
    ASSERT_EQ(clusters.status, 200) << clusters.body;
    std::string_view id;
    ASSERT_EQ(parser.parse(clusters.body)["data"].at(0)["cluster_id"].get(id), simdjson::SUCCESS);
    cluster_ = "/v3/clusters/" + std::string(id);
  }

  void TearDown() override {
    if (!HasFailure()) return;
    for (auto& b : brokers_) std::cerr << "broker output:\n" << b->output();
  }

  HttpResponse call(int broker, const std::string& user, std::string_view method,
                    const std::string& target, std::string_view body = {},
                    std::string_view type = "application/json") {
    const std::string password = user == "admin" ? "root-pw" : "alice-pw";
    std::map<std::string, std::string> headers = {
        {"Authorization", "Basic " + base64_encode(user + ":" + password)}};
    if (!body.empty()) headers["Content-Type"] = std::string(type);
    if (method == "GET" && target.find("/records") != std::string::npos) {
      headers["Accept"] = "application/vnd.kafka.json.v2+json";
    }
    return http_request(brokers_[size_t(broker - 1)]->port(), method, target, body, headers);
  }

  TempDir dir_;
  std::string users_;
  std::vector<std::unique_ptr<BrokerProcess>> brokers_;
  std::string cluster_;
};

TEST_F(ClusterAclTest, AnAclMadeThroughOneBrokerAppliesOnEveryBroker) {
  auto topic = call(1, "admin", "POST", cluster_ + "/topics",
                    R"({"topic_name":"shared","partitions_count":3})");
  ASSERT_EQ(topic.status, 201) << topic.body;
  const std::string records = R"({"records":[{"value":1},{"value":2},{"value":3}]})";
  for (int b = 1; b <= 3; ++b) {
    auto denied =
        call(b, "alice", "POST", "/topics/shared", records, "application/vnd.kafka.json.v2+json");
    EXPECT_EQ(denied.status, 403) << "broker " << b << ": " << denied.body;
  }
  auto granted = call(2, "admin", "POST", cluster_ + "/acls",
                      R"({"resource_type":"TOPIC","resource_name":"sha","pattern_type":"PREFIXED",)"
                      R"("principal":"User:alice","host":"*","operation":"WRITE",)"
                      R"("permission":"ALLOW"})");
  ASSERT_EQ(granted.status, 201) << granted.body;
  // Every broker applies it from its etcd watch; each produce is forwarded to the leaders of
  // the partitions, which decide it as alice's.
  for (int b = 1; b <= 3; ++b) {
    EXPECT_TRUE(eventually(
        [&] {
          return call(b, "alice", "POST", "/topics/shared", records,
                      "application/vnd.kafka.json.v2+json")
                     .status == 200;
        },
        5s))
        << "broker " << b;
    auto listed = call(b, "admin", "GET", cluster_ + "/acls?principal=User:alice");
    EXPECT_THAT(listed.body, HasSubstr("\"resource_name\":\"sha\"")) << "broker " << b;
  }
  // A partition's leader decides a forwarded fetch as the client's: alice may not READ.
  for (int p = 0; p < 3; ++p) {
    auto fetch = call(1, "alice", "GET",
                      "/topics/shared/partitions/" + std::to_string(p) + "/records?offset=0");
    EXPECT_EQ(fetch.status, 403) << fetch.body;
  }
  // The revocation reaches every broker too.
  auto revoked = call(3, "admin", "DELETE", cluster_ + "/acls?resource_type=TOPIC");
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  for (int b = 1; b <= 3; ++b) {
    EXPECT_TRUE(eventually(
        [&] {
          return call(b, "alice", "POST", "/topics/shared", records,
                      "application/vnd.kafka.json.v2+json")
                     .status == 403;
        },
        5s))
        << "broker " << b;
  }
}

TEST_F(ClusterAclTest, AForwardedPrincipalIsTrustedOnlyWithTheClusterToken) {
  auto topic = call(1, "admin", "POST", cluster_ + "/topics", R"({"topic_name":"guarded"})");
  ASSERT_EQ(topic.status, 201) << topic.body;
  // A client claiming to be a forwarding broker, with a principal of its choice but no token.
  const std::map<std::string, std::string> forged = {
      {"Authorization", "Basic " + base64_encode("alice:alice-pw")},
      {"X-Sluice-Forwarded", "2"},
      {"X-Sluice-Principal", "User:admin"},
      {"Content-Type", "application/vnd.kafka.json.v2+json"}};
  for (int b = 1; b <= 3; ++b) {
    auto r = http_request(brokers_[size_t(b - 1)]->port(), "POST", "/topics/guarded/partitions/0",
                          R"({"records":[{"value":1}]})", forged);
    EXPECT_TRUE(r.status == 403 || r.status == 401) << "broker " << b << ": " << r.body;
  }
  // With a wrong token: not a broker either.
  auto wrong = forged;
  wrong["X-Sluice-Cluster-Token"] = "guess";
  auto r = http_request(brokers_[0]->port(), "GET", cluster_ + "/acls", {}, wrong);
  EXPECT_NE(r.status, 200) << r.body;
}

}  // namespace
}  // namespace sluice::testing
