// Topic metadata (REST Proxy v2) and cluster/topic admin (REST Proxy v3): success shapes and
// the documented errors.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "tests/net/api_test_util.h"
#include "tests/net/broker_process.h"

namespace sluice::testing {
namespace {

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override { cluster_ = cluster_id(port()); }
  uint16_t port() const { return broker_.port(); }
  std::string v3(std::string_view rest) const {
    return "/v3/clusters/" + cluster_ + std::string(rest);
  }

  HttpResponse create(std::string_view body) {
    return http_request(port(), "POST", v3("/topics"), body, kV3Json);
  }

  BrokerProcess broker_;
  std::string cluster_;
};

TEST_F(AdminApiTest, V2MetadataShapes) {
  simdjson::dom::parser parser;
  EXPECT_EQ(http_request(port(), "GET", "/").body, "{}");
  auto brokers = http_request(port(), "GET", "/brokers");
  ASSERT_EQ(brokers.status, 200);
  EXPECT_EQ(brokers.body, R"({"brokers":[0]})");
  ASSERT_EQ(create(R"({"topic_name":"meta","partitions_count":3})").status, 201);
  ASSERT_EQ(create(R"({"topic_name":"__internal","partitions_count":1})").status, 201);

  EXPECT_EQ(http_request(port(), "GET", "/topics").body, R"(["meta"])");
  auto topic = http_request(port(), "GET", "/topics/meta");
  ASSERT_EQ(topic.status, 200) << topic.body;
  auto t = parse(parser, topic.body);
  EXPECT_EQ(std::string_view(t["name"]), "meta");
  EXPECT_EQ(t["partitions"].get_array().size(), 3u);
  EXPECT_EQ(std::string_view(t["configs"]["cleanup.policy"]), "delete");

  auto partitions = http_request(port(), "GET", "/topics/meta/partitions");
  ASSERT_EQ(partitions.status, 200);
  auto ps = parse(parser, partitions.body).get_array();
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(int64_t(ps.at(2)["partition"]), 2);
  EXPECT_EQ(int64_t(ps.at(2)["leader"]), 0);
  EXPECT_TRUE(bool(ps.at(2)["replicas"].at(0)["in_sync"]));

  auto partition = http_request(port(), "GET", "/topics/meta/partitions/1");
  ASSERT_EQ(partition.status, 200);
  EXPECT_EQ(int64_t(parse(parser, partition.body)["partition"]), 1);
  EXPECT_EQ(http_request(port(), "GET", "/topics/meta/partitions/1/offsets").body,
            R"({"beginning_offset":0,"end_offset":0})");
}

TEST_F(AdminApiTest, V3ClusterShapes) {
  ASSERT_FALSE(cluster_.empty());
  simdjson::dom::parser parser;
  auto list = parse(parser, http_request(port(), "GET", "/v3/clusters").body);
  EXPECT_EQ(std::string_view(list["kind"]), "KafkaClusterList");
  auto cluster = http_request(port(), "GET", v3(""));
  ASSERT_EQ(cluster.status, 200);
  auto c = parse(parser, cluster.body);
  EXPECT_EQ(std::string_view(c["kind"]), "KafkaCluster");
  EXPECT_EQ(std::string_view(c["cluster_id"]), cluster_);
  EXPECT_NE(std::string(std::string_view(c["metadata"]["self"])).find(cluster_), std::string::npos);
  EXPECT_NE(std::string(std::string_view(c["topics"]["related"])).find("/topics"),
            std::string::npos);
}

TEST_F(AdminApiTest, V3TopicLifecycle) {
  simdjson::dom::parser parser;
  auto created = create(
      R"({"topic_name":"life","partitions_count":2,"replication_factor":1,)"
      R"("configs":[{"name":"retention.ms","value":"12345"},{"name":"cleanup.policy","value":"delete"}]})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto c = parse(parser, created.body);
  EXPECT_EQ(std::string_view(c["kind"]), "KafkaTopic");
  EXPECT_EQ(std::string_view(c["topic_name"]), "life");
  EXPECT_EQ(int64_t(c["partitions_count"]), 2);

  auto duplicate = create(R"({"topic_name":"life","partitions_count":1})");
  EXPECT_EQ(duplicate.status, 409);
  EXPECT_EQ(error_code_of(duplicate), 40901);

  auto list = http_request(port(), "GET", v3("/topics"));
  ASSERT_EQ(list.status, 200);
  auto l = parse(parser, list.body);
  EXPECT_EQ(std::string_view(l["kind"]), "KafkaTopicList");
  ASSERT_EQ(l["data"].get_array().size(), 1u);
  EXPECT_EQ(std::string_view(l["data"].at(0)["topic_name"]), "life");

  auto got = http_request(port(), "GET", v3("/topics/life"));
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(int64_t(parse(parser, got.body)["partitions_count"]), 2);

  auto configs = http_request(port(), "GET", v3("/topics/life/configs"));
  ASSERT_EQ(configs.status, 200);
  bool saw_retention = false;
  for (auto entry : parse(parser, configs.body)["data"].get_array()) {
    if (std::string_view(entry["name"]) != "retention.ms") continue;
    saw_retention = true;
    EXPECT_EQ(std::string_view(entry["value"]), "12345");
    EXPECT_FALSE(bool(entry["is_default"]));
  }
  EXPECT_TRUE(saw_retention) << configs.body;

  auto partitions = http_request(port(), "GET", v3("/topics/life/partitions"));
  ASSERT_EQ(partitions.status, 200);
  auto ps = parse(parser, partitions.body);
  EXPECT_EQ(std::string_view(ps["kind"]), "KafkaPartitionList");
  ASSERT_EQ(ps["data"].get_array().size(), 2u);
  EXPECT_EQ(int64_t(ps["data"].at(1)["partition_id"]), 1);

  auto deleted = http_request(port(), "DELETE", v3("/topics/life"));
  EXPECT_EQ(deleted.status, 204);
  EXPECT_TRUE(deleted.body.empty());
  auto gone = http_request(port(), "GET", v3("/topics/life"));
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(error_code_of(gone), 40401);
  EXPECT_EQ(http_request(port(), "GET", "/topics").body, "[]");
}

TEST_F(AdminApiTest, V3CreateRejectsBadInput) {
  EXPECT_EQ(create(R"({"topic_name":"x","partitions_count":0})").status, 400);
  EXPECT_EQ(create(R"({"partitions_count":1})").status, 400);
  EXPECT_EQ(error_code_of(create(R"({"topic_name":"a/b"})")), 40005);
  EXPECT_EQ(error_code_of(create(R"({"topic_name":"x",)")), 40001);
  auto bad_key = create(R"({"topic_name":"x","configs":[{"name":"no.such.key","value":"1"}]})");
  EXPECT_EQ(bad_key.status, 400);
  EXPECT_EQ(error_code_of(bad_key), 40002);
  EXPECT_NE(bad_key.body.find("no.such.key"), std::string::npos) << bad_key.body;
  auto bad_value =
      create(R"({"topic_name":"x","configs":[{"name":"retention.ms","value":"soon"}]})");
  EXPECT_EQ(error_code_of(bad_value), 40002);
  EXPECT_NE(bad_value.body.find("retention.ms: 'soon'"), std::string::npos) << bad_value.body;
  EXPECT_EQ(http_request(port(), "GET", "/topics").body, "[]");
}

TEST_F(AdminApiTest, V3BrokersListTheOneBrokerAndItsLinksResolve) {
  simdjson::dom::parser parser;
  auto cluster = parse(parser, http_request(port(), "GET", v3("")).body);
  const std::string controller{std::string_view(cluster["controller"]["related"])};
  auto list = http_request(port(), "GET", v3("/brokers"));
  ASSERT_EQ(list.status, 200) << list.body;
  auto brokers = parse(parser, list.body);
  EXPECT_EQ(std::string_view(brokers["kind"]), "KafkaBrokerList");
  ASSERT_EQ(brokers["data"].get_array().size(), 1u);
  EXPECT_EQ(int64_t(brokers["data"].at(0)["broker_id"]), 0);
  EXPECT_EQ(std::string_view(brokers["data"].at(0)["metadata"]["self"]), controller);
  // The cluster's controller link is this broker.
  auto one = http_request(port(), "GET", v3("/brokers/0"));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(std::string_view(parse(parser, one.body)["kind"]), "KafkaBroker");
  auto other = http_request(port(), "GET", v3("/brokers/7"));
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(error_code_of(other), 404) << other.body;
}

// Every link a partition shows answers: the partition itself, its leader and its replicas.
TEST_F(AdminApiTest, V3PartitionAndReplicaLinksResolve) {
  ASSERT_EQ(create(R"({"topic_name":"r","partitions_count":3})").status, 201);
  simdjson::dom::parser parser;
  auto path_of = [](std::string_view url) { return std::string(url.substr(url.find("/v3/"))); };
  auto list = http_request(port(), "GET", v3("/topics/r/partitions"));
  ASSERT_EQ(list.status, 200) << list.body;
  std::vector<std::string> selves, leaders, replicas;
  for (auto p : parse(parser, list.body)["data"].get_array()) {
    selves.push_back(path_of(std::string_view(p["metadata"]["self"])));
    leaders.push_back(path_of(std::string_view(p["leader"]["related"])));
    replicas.push_back(path_of(std::string_view(p["replicas"]["related"])));
  }
  ASSERT_EQ(selves.size(), 3u);
  for (size_t i = 0; i < selves.size(); ++i) {
    auto one = http_request(port(), "GET", selves[i]);
    ASSERT_EQ(one.status, 200) << selves[i];
    EXPECT_EQ(int64_t(parse(parser, one.body)["partition_id"]), static_cast<int64_t>(i));
    auto leader = http_request(port(), "GET", leaders[i]);
    ASSERT_EQ(leader.status, 200) << leaders[i];
    auto l = parse(parser, leader.body);
    EXPECT_EQ(std::string_view(l["kind"]), "KafkaReplica");
    EXPECT_TRUE(bool(l["is_leader"]));
    EXPECT_EQ(int64_t(l["partition_id"]), static_cast<int64_t>(i));
    auto all = http_request(port(), "GET", replicas[i]);
    ASSERT_EQ(all.status, 200) << replicas[i];
    EXPECT_EQ(parse(parser, all.body)["data"].get_array().size(), 1u);
  }
  auto missing = http_request(port(), "GET", v3("/topics/r/partitions/3"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(error_code_of(missing), 40402);
  auto elsewhere = http_request(port(), "GET", v3("/topics/r/partitions/0/replicas/5"));
  EXPECT_EQ(elsewhere.status, 404);
  EXPECT_EQ(error_code_of(elsewhere), 404);
}

TEST_F(AdminApiTest, V3TopicConfigsAreSetResetAndAlteredAtOnceAndPersisted) {
  ASSERT_EQ(create(R"({"topic_name":"cfg"})").status, 201);
  simdjson::dom::parser parser;
  auto put = [&](std::string_view name, std::string_view body) {
    return http_request(port(), "PUT", v3("/topics/cfg/configs/") + std::string(name), body,
                        kV3Json);
  };
  auto config = [&](std::string_view name) {
    auto r = http_request(port(), "GET", v3("/topics/cfg/configs/") + std::string(name));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  };

  EXPECT_EQ(put("retention.ms", R"({"value":"3600000"})").status, 204);
  auto retention = parse(parser, config("retention.ms"));
  EXPECT_EQ(std::string_view(retention["kind"]), "KafkaTopicConfig");
  EXPECT_EQ(std::string_view(retention["value"]), "3600000");
  EXPECT_FALSE(bool(retention["is_default"]));
  EXPECT_EQ(std::string_view(retention["source"]), "DYNAMIC_TOPIC_CONFIG");

  auto bad_value = put("retention.ms", R"({"value":"soon"})");
  EXPECT_EQ(bad_value.status, 400);
  EXPECT_EQ(error_code_of(bad_value), 40002);
  EXPECT_NE(bad_value.body.find("retention.ms"), std::string::npos) << bad_value.body;
  auto unknown = put("no.such", R"({"value":"1"})");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(error_code_of(unknown), 404);
  EXPECT_EQ(error_code_of(put("retention.ms", R"({"val":"1"})")), 40002);
  EXPECT_EQ(error_code_of(put("retention.ms", "{")), 40001);
  EXPECT_EQ(std::string_view(parse(parser, config("retention.ms"))["value"]), "3600000");

  // Several at once: set one, reset another.
  auto alter = http_request(
      port(), "POST", v3("/topics/cfg/configs:alter"),
      R"({"data":[{"name":"max.message.bytes","value":"2000"},{"name":"retention.ms","operation":"DELETE"}]})",
      kV3Json);
  EXPECT_EQ(alter.status, 204) << alter.body;
  std::map<std::string, std::string> overridden;
  auto list = http_request(port(), "GET", v3("/topics/cfg/configs"));
  for (auto c : parse(parser, list.body)["data"].get_array()) {
    if (!bool(c["is_default"])) {
      overridden[std::string(std::string_view(c["name"]))] = std::string_view(c["value"]);
    }
  }
  EXPECT_EQ(overridden, (std::map<std::string, std::string>{{"max.message.bytes", "2000"}}));
  auto bad_op = http_request(port(), "POST", v3("/topics/cfg/configs:alter"),
                             R"({"data":[{"name":"retention.ms","operation":"APPEND"}]})", kV3Json);
  EXPECT_EQ(error_code_of(bad_op), 40002) << bad_op.body;

  // The new limit holds for the next produce.
  const std::string big = R"({"records":[{"value":")" + std::string(3000, 'x') + R"("}]})";
  auto refused = http_request(port(), "POST", "/topics/cfg", big, kJson);
  ASSERT_EQ(refused.status, 200) << refused.body;
  EXPECT_FALSE(parse(parser, refused.body)["offsets"].at(0)["error_code"].is_null());

  broker_.terminate();
  broker_.restart();
  EXPECT_EQ(std::string_view(parse(parser, config("max.message.bytes"))["value"]), "2000");
  EXPECT_EQ(http_request(port(), "DELETE", v3("/topics/cfg/configs/max.message.bytes")).status,
            204);
  EXPECT_TRUE(bool(parse(parser, config("max.message.bytes"))["is_default"]));
  auto accepted = http_request(port(), "POST", "/topics/cfg", big, kJson);
  EXPECT_TRUE(parse(parser, accepted.body)["offsets"].at(0)["error_code"].is_null())
      << accepted.body;
}

TEST_F(AdminApiTest, RoutesCheckTheClusterFirstThenTheTopicName) {
  const std::pair<const char*, std::string> calls[] = {
      {"GET", "/topics/{}"},
      {"DELETE", "/topics/{}"},
      {"GET", "/topics/{}/configs"},
      {"GET", "/topics/{}/configs/retention.ms"},
      {"PUT", "/topics/{}/configs/retention.ms"},
      {"DELETE", "/topics/{}/configs/retention.ms"},
      {"POST", "/topics/{}/configs:alter"},
      {"GET", "/topics/{}/partitions"},
      {"GET", "/topics/{}/partitions/0"},
      {"GET", "/topics/{}/partitions/0/replicas"},
      {"GET", "/topics/{}/partitions/0/replicas/0"},
      {"POST", "/topics/{}/records"},
  };
  for (const auto& [method, pattern] : calls) {
    std::string path = pattern;
    path.replace(path.find("{}"), 2, "%2e%2e");  // "..": never a topic name
    auto other = http_request(port(), method, "/v3/clusters/nope" + path);
    EXPECT_EQ(error_code_of(other), 40404) << method << " " << path << " " << other.body;
    auto ours = http_request(port(), method, v3(path));
    EXPECT_EQ(ours.status, 400) << method << " " << path;
    EXPECT_EQ(error_code_of(ours), 40005) << method << " " << path << " " << ours.body;
    EXPECT_NE(ours.body.find("Invalid topic name '..'"), std::string::npos) << ours.body;
  }
}

TEST_F(AdminApiTest, WrongClusterIdIs40404OnEveryPath) {
  ASSERT_EQ(create(R"({"topic_name":"t"})").status, 201);
  const std::pair<const char*, std::string> calls[] = {
      {"GET", "/v3/clusters/nope"},
      {"GET", "/v3/clusters/nope/topics"},
      {"POST", "/v3/clusters/nope/topics"},
      {"GET", "/v3/clusters/nope/topics/t"},
      {"DELETE", "/v3/clusters/nope/topics/t"},
      {"GET", "/v3/clusters/nope/topics/t/configs"},
      {"GET", "/v3/clusters/nope/topics/t/partitions"},
      {"POST", "/v3/clusters/nope/topics/t/records"},
      {"GET", "/v3/clusters/nope/topics/t/partitions/0"},
      {"GET", "/v3/clusters/nope/topics/t/partitions/0/replicas"},
      {"GET", "/v3/clusters/nope/topics/t/partitions/0/replicas/0"},
      {"GET", "/v3/clusters/nope/topics/t/configs/retention.ms"},
      {"PUT", "/v3/clusters/nope/topics/t/configs/retention.ms"},
      {"DELETE", "/v3/clusters/nope/topics/t/configs/retention.ms"},
      {"POST", "/v3/clusters/nope/topics/t/configs:alter"},
      {"GET", "/v3/clusters/nope/brokers"},
      {"GET", "/v3/clusters/nope/brokers/0"},
      {"GET", "/v3/clusters/nope/consumer-groups"},
      {"GET", "/v3/clusters/nope/consumer-groups/g"},
      {"GET", "/v3/clusters/nope/consumer-groups/g/consumers"},
      {"GET", "/v3/clusters/nope/consumer-groups/g/consumers/c"},
      {"GET", "/v3/clusters/nope/consumer-groups/g/lags"},
      {"GET", "/v3/clusters/nope/consumer-groups/g/lag-summary"},
  };
  for (const auto& [method, target] : calls) {
    auto r = http_request(
        port(), method, target, std::string_view(method) == "POST" ? R"({"topic_name":"t"})" : "",
        std::string_view(method) == "POST" ? kV3Json : std::map<std::string, std::string>{});
    EXPECT_EQ(r.status, 404) << method << " " << target;
    EXPECT_EQ(error_code_of(r), 40404) << method << " " << target << " " << r.body;
  }
}

TEST_F(AdminApiTest, UnknownTopicAndPartitionOnEveryPath) {
  ASSERT_EQ(create(R"({"topic_name":"one","partitions_count":1})").status, 201);
  BrokerProcess::Options options;
  const std::string topic_paths[] = {
      "/topics/missing",
      "/topics/missing/partitions",
      "/topics/missing/partitions/0",
      "/topics/missing/partitions/0/offsets",
      "/topics/missing/partitions/0/records?offset=0&timeout=0",
      v3("/topics/missing"),
      v3("/topics/missing/configs"),
      v3("/topics/missing/partitions"),
      v3("/topics/missing/partitions/0"),
      v3("/topics/missing/partitions/0/replicas"),
      v3("/topics/missing/partitions/0/replicas/0"),
  };
  for (const auto& target : topic_paths) {
    auto r = http_request(port(), "GET", target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(error_code_of(r), 40401) << target << " " << r.body;
  }
  auto del = http_request(port(), "DELETE", v3("/topics/missing"));
  EXPECT_EQ(error_code_of(del), 40401);
  const std::string partition_paths[] = {
      "/topics/one/partitions/1",
      "/topics/one/partitions/1/offsets",
      "/topics/one/partitions/1/records?offset=0&timeout=0",
      "/topics/one/partitions/x",
      v3("/topics/one/partitions/1"),
      v3("/topics/one/partitions/1/replicas"),
      v3("/topics/one/partitions/1/replicas/0"),
  };
  for (const auto& target : partition_paths) {
    auto r = http_request(port(), "GET", target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(error_code_of(r), 40402) << target << " " << r.body;
  }
  auto produce = http_request(port(), "POST", "/topics/one",
                              R"({"records":[{"value":1,"partition":5}]})", kJson);
  EXPECT_EQ(error_code_of(produce), 40402) << produce.body;
  auto raw = http_request(port(), "POST", "/topics/one/partitions/3/records", "x",
                          {{"Content-Type", "application/vnd.sluice.batch"}});
  EXPECT_EQ(error_code_of(raw), 40402) << raw.body;
}

TEST(AdminApiNoAutoCreateTest, ProduceToMissingTopicIs40401OnEveryProducePath) {
  BrokerProcess::Options options;
  options.sets = {"auto.create.topics.enable=false"};
  BrokerProcess broker(options);
  const auto id = cluster_id(broker.port());
  const std::tuple<std::string, std::string, std::map<std::string, std::string>> calls[] = {
      {"/topics/none", R"({"records":[{"value":1}]})", kJson},
      {"/topics/none/partitions/0", R"({"records":[{"value":1}]})", kJson},
      {"/topics/none/partitions/0/records",
       "x",
       {{"Content-Type", "application/vnd.sluice.batch"}}},
      {"/v3/clusters/" + id + "/topics/none/records", R"({"value":{"type":"JSON","data":1}})",
       kV3Json},
  };
  for (const auto& [target, body, headers] : calls) {
    auto r = http_request(broker.port(), "POST", target, body, headers);
    EXPECT_EQ(r.status, 404) << target << " " << r.body;
    EXPECT_EQ(error_code_of(r), 40401) << target << " " << r.body;
  }
  EXPECT_EQ(http_request(broker.port(), "GET", "/topics").body, "[]");
}

}  // namespace
}  // namespace sluice::testing
