// Authorization against the real binary: for each route family a principal with exactly the
// ACL it needs succeeds, one without gets 403 and changes nothing, a DENY overrides the ALLOW,
// PREFIXED patterns match, metadata lists show only what may be described, and the ACLs, kept
// through the v3 ACL API, survive a restart.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/base64.h"
#include "tests/net/broker_process.h"
#include "tests/net/http_client.h"
#include "tests/net/security_util.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kJsonV2 = "application/vnd.kafka.json.v2+json";
constexpr std::string_view kV2 = "application/vnd.kafka.v2+json";

ShellResult add_user(const std::string& file, const std::string& name,
                     const std::string& password) {
  return shell("printf '%s\\n' '" + password + "' | " + std::string(SLUICE_BINARY) + " user add " +
               name + " --users-file " + file);
}

// {"resource_type":..., ...}: one binding of the v3 ACL API.
std::string acl_json(const std::string& type, const std::string& name, const std::string& op,
                     const std::string& principal = "User:alice",
                     const std::string& permission = "ALLOW",
                     const std::string& pattern = "LITERAL") {
  return R"({"resource_type":")" + type + R"(","resource_name":")" + name +
         R"(","pattern_type":")" + pattern + R"(","principal":")" + principal +
         R"(","host":"*","operation":")" + op + R"(","permission":")" + permission + R"("})";
}

int64_t error_code(const HttpResponse& r) {
  simdjson::dom::parser parser;
  int64_t code = -1;
  if (parser.parse(r.body)["error_code"].get(code)) return -1;
  return code;
}

class AclApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    users_ = dir_.file("users").string();
    ASSERT_EQ(add_user(users_, "admin", "root-pw").exit_code, 0);
    ASSERT_EQ(add_user(users_, "alice", "alice-pw").exit_code, 0);
    BrokerProcess::Options options;
    options.sets = {"authentication.method=basic", "authentication.basic.users.file=" + users_,
                    "authorizer.enable=true", "super.users=User:admin"};
    broker_ = std::make_unique<BrokerProcess>(options);
    simdjson::dom::parser parser;
    auto clusters = as_admin("GET", "/v3/clusters");
    ASSERT_EQ(clusters.status, 200) << clusters.body;
    std::string_view id;
    ASSERT_EQ(parser.parse(clusters.body)["data"].at(0)["cluster_id"].get(id), simdjson::SUCCESS);
    acls_ = "/v3/clusters/" + std::string(id) + "/acls";
    cluster_ = "/v3/clusters/" + std::string(id);
  }

  void TearDown() override {
    if (HasFailure()) std::cerr << "broker output:\n" << broker_->output();
  }

  HttpResponse request(const std::string& user, const std::string& password,
                       std::string_view method, const std::string& target,
                       std::string_view body = {}, std::string_view type = "application/json") {
    std::map<std::string, std::string> headers = {
        {"Authorization", "Basic " + base64_encode(user + ":" + password)}};
    if (!body.empty()) headers["Content-Type"] = std::string(type);
    if (target.find("/records") != std::string::npos && method == "GET") {
      headers["Accept"] = std::string(kJsonV2);
    }
    return http_request(broker_->port(), method, target, body, headers);
  }
  HttpResponse as_admin(std::string_view method, const std::string& target,
                        std::string_view body = {}, std::string_view type = "application/json") {
    return request("admin", "root-pw", method, target, body, type);
  }
  HttpResponse as_alice(std::string_view method, const std::string& target,
                        std::string_view body = {}, std::string_view type = "application/json") {
    return request("alice", "alice-pw", method, target, body, type);
  }

  void grant(const std::string& binding) {
    auto r = as_admin("POST", acls_, binding);
    ASSERT_EQ(r.status, 201) << binding << ": " << r.body;
  }
  void revoke_alice() {
    auto r = as_admin("DELETE", acls_ + "?resource_type=ANY&principal=User:alice");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  void make_topic(const std::string& name) {
    auto r = as_admin("POST", cluster_ + "/topics", R"({"topic_name":")" + name + R"("})");
    ASSERT_EQ(r.status, 201) << r.body;
    auto p = as_admin("POST", "/topics/" + name, R"({"records":[{"value":1}]})", kJsonV2);
    ASSERT_EQ(p.status, 200) << p.body;
  }
  int64_t end_offset(const std::string& topic) {
    auto r = as_admin("GET", "/topics/" + topic + "/partitions/0/offsets");
    simdjson::dom::parser parser;
    int64_t end = -1;
    EXPECT_EQ(parser.parse(r.body)["end_offset"].get(end), simdjson::SUCCESS) << r.body;
    return end;
  }

  TempDir dir_;
  std::string users_;
  std::unique_ptr<BrokerProcess> broker_;
  std::string cluster_;
  std::string acls_;
};

TEST_F(AclApiTest, EachRouteFamilyNeedsItsAclAndADenyOverridesIt) {
  struct Case {
    std::string what;
    std::string method;
    std::string target;
    std::string body;
    std::string type;
    std::vector<std::string> needs;  // bindings for alice
    std::string denied_operation;    // named in the 403
    int success = 200;
    // What a denied request must leave as it was.
    std::function<std::string()> state = [] { return std::string(); };
  };
  make_topic("m-produce");
  make_topic("m-fetch");
  make_topic("m-doomed");
  make_topic("m-configs");
  const std::vector<Case> cases = {
      {"v2 produce",
       "POST",
       "/topics/m-produce",
       R"({"records":[{"value":2}]})",
       std::string(kJsonV2),
       {acl_json("TOPIC", "m-produce", "WRITE")},
       "WRITE",
       200,
       [&] { return std::to_string(end_offset("m-produce")); }},
      {"v3 produce",
       "POST",
       cluster_ + "/topics/m-produce/records",
       R"({"value":{"data":3}})",
       "application/json",
       {acl_json("TOPIC", "m-produce", "WRITE")},
       "WRITE",
       200,
       [&] { return std::to_string(end_offset("m-produce")); }},
      {"fetch",
       "GET",
       "/topics/m-fetch/partitions/0/records?offset=0&timeout=0",
       "",
       "",
       {acl_json("TOPIC", "m-fetch", "READ")},
       "READ"},
      {"describe topic",
       "GET",
       cluster_ + "/topics/m-fetch",
       "",
       "",
       {acl_json("TOPIC", "m-fetch", "DESCRIBE")},
       "DESCRIBE"},
      {"create topic",
       "POST",
       cluster_ + "/topics",
       R"({"topic_name":"m-new"})",
       "application/json",
       {acl_json("TOPIC", "m-new", "CREATE")},
       "CREATE",
       201,
       [&] { return std::to_string(as_admin("GET", cluster_ + "/topics/m-new").status); }},
      {"delete topic",
       "DELETE",
       cluster_ + "/topics/m-doomed",
       "",
       "",
       {acl_json("TOPIC", "m-doomed", "DELETE")},
       "DELETE",
       204,
       [&] { return std::to_string(as_admin("GET", cluster_ + "/topics/m-doomed").status); }},
      {"read configs",
       "GET",
       cluster_ + "/topics/m-configs/configs",
       "",
       "",
       {acl_json("TOPIC", "m-configs", "DESCRIBE_CONFIGS")},
       "DESCRIBE_CONFIGS"},
      {"alter configs",
       "PUT",
       cluster_ + "/topics/m-configs/configs/retention.ms",
       R"({"value":"3600000"})",
       "application/json",
       {acl_json("TOPIC", "m-configs", "ALTER_CONFIGS")},
       "ALTER_CONFIGS",
       204,
       [&] { return as_admin("GET", cluster_ + "/topics/m-configs/configs/retention.ms").body; }},
      {"consumer instance",
       "POST",
       "/consumers/m-group",
       R"({"name":"c1","format":"json"})",
       std::string(kV2),
       {acl_json("GROUP", "m-group", "READ")},
       "READ"},
      {"list ACLs",
       "GET",
       acls_,
       "",
       "",
       {acl_json("CLUSTER", "kafka-cluster", "DESCRIBE")},
       "DESCRIBE"},
      {"create ACL",
       "POST",
       acls_,
       acl_json("TOPIC", "x", "READ", "User:bob"),
       "application/json",
       {acl_json("CLUSTER", "kafka-cluster", "ALTER")},
       "ALTER",
       201,
       [&] { return as_admin("GET", acls_ + "?principal=User:bob").body; }},
      {"operations",
       "GET",
       "/v1/recovery",
       "",
       "",
       {acl_json("CLUSTER", "kafka-cluster", "DESCRIBE")},
       "DESCRIBE"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what + ": " + c.method + " " + c.target);
    const std::string before = c.state();
    auto denied = as_alice(c.method, c.target, c.body, c.type);
    EXPECT_EQ(denied.status, 403) << denied.body;
    EXPECT_EQ(error_code(denied), 40301) << denied.body;
    EXPECT_THAT(denied.body, HasSubstr(c.denied_operation));
    EXPECT_THAT(denied.body, HasSubstr("User:alice"));
    EXPECT_EQ(c.state(), before);
    for (const auto& binding : c.needs) grant(binding);
    // A DENY of the same operation wins over the ALLOW (tried before the success, which may
    // consume the resource).
    auto deny = c.needs.front();
    deny.replace(deny.find("ALLOW"), 5, "DENY");
    grant(deny);
    auto overridden = as_alice(c.method, c.target, c.body, c.type);
    EXPECT_EQ(overridden.status, 403) << overridden.body;
    auto removed = as_admin("DELETE", acls_ +
                                          "?resource_type=ANY&principal=User:alice&"
                                          "permission=DENY");
    ASSERT_EQ(removed.status, 200) << removed.body;
    auto allowed = as_alice(c.method, c.target, c.body, c.type);
    EXPECT_EQ(allowed.status, c.success) << allowed.body;
    revoke_alice();
  }
}

TEST_F(AclApiTest, ProduceThatCreatesATopicAlsoNeedsCreate) {
  grant(acl_json("TOPIC", "auto-", "WRITE", "User:alice", "ALLOW", "PREFIXED"));
  auto no_create = as_alice("POST", "/topics/auto-one", R"({"records":[{"value":1}]})", kJsonV2);
  EXPECT_EQ(no_create.status, 403) << no_create.body;
  EXPECT_THAT(no_create.body, HasSubstr("CREATE"));
  EXPECT_EQ(as_admin("GET", cluster_ + "/topics/auto-one").status, 404);
  grant(acl_json("TOPIC", "auto-", "CREATE", "User:alice", "ALLOW", "PREFIXED"));
  auto created = as_alice("POST", "/topics/auto-one", R"({"records":[{"value":1}]})", kJsonV2);
  EXPECT_EQ(created.status, 200) << created.body;
}

TEST_F(AclApiTest, ConsumersNeedReadOnTheGroupAndOnEachTopic) {
  make_topic("c-topic");
  grant(acl_json("GROUP", "c-group", "READ"));
  auto created = as_alice("POST", "/consumers/c-group",
                          R"({"name":"c1","format":"json","auto.offset.reset":"earliest"})", kV2);
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string instance = "/consumers/c-group/instances/c1";
  auto subscribe = as_alice("POST", instance + "/subscription", R"({"topics":["c-topic"]})", kV2);
  EXPECT_EQ(subscribe.status, 403) << subscribe.body;
  EXPECT_THAT(subscribe.body, HasSubstr("c-topic"));
  grant(acl_json("TOPIC", "c-topic", "READ"));
  subscribe = as_alice("POST", instance + "/subscription", R"({"topics":["c-topic"]})", kV2);
  EXPECT_EQ(subscribe.status, 204) << subscribe.body;
  auto records = as_alice("GET", instance + "/records?timeout=1000");
  EXPECT_EQ(records.status, 200) << records.body;
  EXPECT_THAT(records.body, HasSubstr("\"offset\":0"));
  // Losing READ on the topic stops the fetch.
  auto removed = as_admin("DELETE", acls_ + "?resource_type=TOPIC&principal=User:alice");
  ASSERT_EQ(removed.status, 200);
  records = as_alice("GET", instance + "/records?timeout=0");
  EXPECT_EQ(records.status, 403) << records.body;
}

TEST_F(AclApiTest, ListsShowOnlyWhatThePrincipalMayDescribe) {
  make_topic("vis-a");
  make_topic("vis-b");
  make_topic("hidden");
  grant(acl_json("TOPIC", "vis-", "DESCRIBE", "User:alice", "ALLOW", "PREFIXED"));
  auto v2 = as_alice("GET", "/topics");
  ASSERT_EQ(v2.status, 200) << v2.body;
  EXPECT_THAT(v2.body, HasSubstr("vis-a"));
  EXPECT_THAT(v2.body, HasSubstr("vis-b"));
  EXPECT_THAT(v2.body, ::testing::Not(HasSubstr("hidden")));
  auto v3 = as_alice("GET", cluster_ + "/topics");
  ASSERT_EQ(v3.status, 200) << v3.body;
  EXPECT_THAT(v3.body, HasSubstr("vis-a"));
  EXPECT_THAT(v3.body, ::testing::Not(HasSubstr("hidden")));
  EXPECT_THAT(as_admin("GET", "/topics").body, HasSubstr("hidden"));
}

TEST_F(AclApiTest, TheAclApiFiltersValidatesAndSurvivesARestart) {
  grant(acl_json("TOPIC", "keep", "READ"));
  grant(acl_json("GROUP", "g-", "READ", "User:bob", "ALLOW", "PREFIXED"));
  grant(acl_json("TOPIC", "keep", "READ"));  // again: stored once
  auto batch = as_admin("POST", acls_ + ":batch",
                        "{\"data\":[" + acl_json("TOPIC", "b1", "WRITE") + "," +
                            acl_json("TOPIC", "b2", "WRITE") + "]}");
  EXPECT_EQ(batch.status, 204) << batch.body;

  simdjson::dom::parser parser;
  auto count = [&](const std::string& query) -> size_t {
    auto r = as_admin("GET", acls_ + query);
    EXPECT_EQ(r.status, 200) << r.body;
    simdjson::dom::array data;
    if (parser.parse(r.body)["data"].get(data)) return 0;
    return data.size();
  };
  EXPECT_EQ(count(""), 4u);
  EXPECT_EQ(count("?principal=User:alice"), 3u);
  EXPECT_EQ(count("?resource_type=GROUP"), 1u);
  EXPECT_EQ(count("?resource_type=GROUP&pattern_type=MATCH&resource_name=g-17"), 1u);
  EXPECT_EQ(count("?operation=WRITE"), 2u);

  // Bad input: a clear 400 naming the field, and nothing stored.
  auto bad = as_admin("POST", acls_, acl_json("TOPIC", "t", "READ", "alice"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("Type:name"));
  bad = as_admin("POST", acls_, acl_json("TOPIC", "t", "FLY"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("operation"));
  bad = as_admin("POST", acls_, "{not json");
  EXPECT_EQ(bad.status, 400);
  bad = as_admin("GET", acls_ + "?permission=MAYBE");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("permission"));
  bad = as_admin("DELETE", acls_);  // no resource_type: refused, so it cannot wipe everything
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(count(""), 4u);

  broker_->restart();
  EXPECT_EQ(count(""), 4u);
  auto removed = as_admin("DELETE", acls_ + "?resource_type=TOPIC&operation=WRITE");
  ASSERT_EQ(removed.status, 200);
  EXPECT_THAT(removed.body, HasSubstr("b1"));
  EXPECT_EQ(count(""), 2u);
}

TEST(AclDisabledTest, TheAclApiSaysAuthorizationIsOff) {
  BrokerProcess broker;
  simdjson::dom::parser parser;
  auto clusters = http_request(broker.port(), "GET", "/v3/clusters");
  std::string_view id;
  ASSERT_EQ(parser.parse(clusters.body)["data"].at(0)["cluster_id"].get(id), simdjson::SUCCESS);
  auto r = http_request(broker.port(), "GET", "/v3/clusters/" + std::string(id) + "/acls");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), 40008);
  EXPECT_THAT(r.body, HasSubstr("authorizer.enable"));
}

}  // namespace
}  // namespace sluice::testing
