// Consumer groups across brokers: any broker takes every /consumers call and forwards it to the
// group's coordinator (the leader of the group's partition of __consumer_offsets), and the
// instances survive the coordinator's death.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/offsets_store.h"
#include "tests/cluster/cluster_state.h"

namespace sluice::testing {
namespace {

const std::map<std::string, std::string> kJson = {{"Content-Type", "application/json"}};
const std::map<std::string, std::string> kJsonV2 = {
    {"Content-Type", "application/vnd.kafka.json.v2+json"}};
const std::map<std::string, std::string> kV2 = {{"Content-Type", "application/vnd.kafka.v2+json"}};
const std::map<std::string, std::string> kAcceptJson = {
    {"Accept", "application/vnd.kafka.json.v2+json"}};

using Offsets = std::set<std::pair<int64_t, int64_t>>;  // (partition, offset)

class GroupsTest : public ClusterFixture {
 protected:
  uint16_t port(int64_t id) const { return brokers_[static_cast<size_t>(id - 1)]->port(); }

  // `per_partition` records appended to each of the 6 partitions of `t`, acks=all through
  // `via`, each partition's request retried while it has no leader (50302: nothing appended).
  void produce(int64_t via, int per_partition) {
    std::string body = R"({"records":[)";
    for (int i = 0; i < per_partition; ++i) body += std::string(i ? "," : "") + R"({"value":"v"})";
    body += "]}";
    for (int p = 0; p < 6; ++p) {
      HttpResponse r;
      ASSERT_TRUE(eventually([&] {
        r = http_request(port(via), "POST", "/topics/t/partitions/" + std::to_string(p), body,
                         kJsonV2);
        return r.status != 503 || r.body.find("50302") == std::string::npos;
      })) << r.status
          << " " << r.body;
      ASSERT_EQ(r.status, 200) << r.body;
    }
  }

  // Records of `instance` through `via` until `want` came or the polls ran out.
  Offsets consume(int64_t via, const std::string& instance, size_t want) {
    Offsets seen;
    size_t total = 0;
    for (int poll = 0; poll < 60 && total < want; ++poll) {
      auto r = http_request(port(via), "GET",
                            "/consumers/g/instances/" + instance + "/records?timeout=500", {},
                            kAcceptJson);
      if (r.status == 503) continue;  // an election under way
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      simdjson::dom::parser parser;
      simdjson::dom::array records;
      if (parser.parse(r.body).get(records)) {
        ADD_FAILURE() << "not an array: " << r.body;
        break;
      }
      for (auto record : records) {
        const auto p = record["partition"].get_int64().value();
        const auto o = record["offset"].get_int64().value();
        EXPECT_TRUE(seen.insert({p, o}).second) << instance << " got " << p << "-" << o << " twice";
        ++total;
      }
    }
    return seen;
  }

  // The partitions `instance` is assigned, through `via`.
  std::vector<int64_t> assignment(int64_t via, const std::string& instance) {
    std::vector<int64_t> out;
    HttpResponse r;
    EXPECT_TRUE(eventually([&] {
      r = http_request(port(via), "GET", "/consumers/g/instances/" + instance + "/assignments", {},
                       kV2);
      return r.status == 200;
    })) << r.status
        << " " << r.body;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(r.body).get(doc)) return out;
    for (auto tp : doc["partitions"].get_array())
      out.push_back(tp["partition"].get_int64().value());
    return out;
  }

  std::vector<std::unique_ptr<BrokerProcess>> brokers_;
};

TEST_F(GroupsTest, InstancesCreatedThroughEveryBrokerSurviveTheirCoordinator) {
  brokers_ = start_brokers(3, {});
  ASSERT_FALSE(HasFailure());
  const auto cluster = cluster_state(port(1)).cluster_id;
  auto created =
      http_request(port(1), "POST", "/v3/clusters/" + cluster + "/topics",
                   R"({"topic_name":"t","partitions_count":6,"replication_factor":3})", kJson);
  ASSERT_EQ(created.status, 201) << created.body;
  produce(1, 10);
  if (HasFatalFailure()) return;

  // One instance through each broker: base_uri names the broker the client asked.
  const std::vector<std::string> names = {"c1", "c2", "c3"};
  for (int64_t via = 1; via <= 3; ++via) {
    const auto& name = names[static_cast<size_t>(via - 1)];
    auto r = http_request(
        port(via), "POST", "/consumers/g",
        R"({"name":")" + name + R"(","format":"json","auto.offset.reset":"earliest"})", kV2);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(
        r.body.find("127.0.0.1:" + std::to_string(port(via)) + "/consumers/g/instances/" + name),
        std::string::npos)
        << r.body;
    ASSERT_EQ(http_request(port(via), "POST", "/consumers/g/instances/" + name + "/subscription",
                           R"({"topics":["t"]})", kV2)
                  .status,
              204);
  }
  // The offsets topic is replicated on all three; the coordinator leads the group's partition.
  const int32_t offsets_partition = broker::offsets_partition_for("g");
  int64_t coordinator = -1;
  ASSERT_TRUE(eventually([&] {
    auto state = cluster_state(port(1));
    auto it = state.partitions.find({"__consumer_offsets", offsets_partition});
    if (it == state.partitions.end() || it->second.isr.size() != 3) return false;
    coordinator = it->second.leader;
    return coordinator >= 1;
  }));

  // Each instance reads its partitions' first ten records through its own broker and commits.
  Offsets before;
  for (int64_t via = 1; via <= 3; ++via) {
    const auto& name = names[static_cast<size_t>(via - 1)];
    auto seen = consume(via, name, 20);
    ASSERT_EQ(seen.size(), 20u) << name;
    before.insert(seen.begin(), seen.end());
    auto committed =
        http_request(port(via), "POST", "/consumers/g/instances/" + name + "/offsets", "", kV2);
    ASSERT_EQ(committed.status, 200) << committed.body;
  }
  ASSERT_EQ(before.size(), 60u);
  // Five more per partition, read but not committed, then the coordinator dies.
  produce(1, 5);
  if (HasFatalFailure()) return;
  for (int64_t via = 1; via <= 3; ++via)
    (void)consume(via, names[static_cast<size_t>(via - 1)], 10);
  brokers_[static_cast<size_t>(coordinator - 1)]->kill9();
  const int64_t survivor = coordinator % 3 + 1;
  produce(survivor, 5);
  if (HasFatalFailure()) return;

  // Through a survivor every instance answers; the assignment is disjoint and covers the topic.
  std::map<int64_t, std::string> owner;
  for (const auto& name : names) {
    for (int64_t p : assignment(survivor, name)) {
      EXPECT_FALSE(owner.contains(p)) << p << " assigned to " << owner[p] << " and " << name;
      owner[p] = name;
    }
  }
  EXPECT_EQ(owner.size(), 6u);
  // Each resumes from the commits: offsets 10 to 19 of every partition, each exactly once.
  Offsets after;
  for (const auto& name : names) {
    size_t want = 0;
    for (const auto& [p, n] : owner) want += n == name ? 10 : 0;
    auto seen = consume(survivor, name, want);
    EXPECT_EQ(seen.size(), want) << name;
    for (const auto& po : seen) {
      EXPECT_TRUE(after.insert(po).second) << po.first << "-" << po.second << " read twice";
    }
  }
  Offsets expected;
  for (int64_t p = 0; p < 6; ++p) {
    for (int64_t o = 10; o < 20; ++o) expected.insert({p, o});
  }
  EXPECT_EQ(after, expected);
  // The committed offsets came through too.
  auto offsets = http_request(port(survivor), "GET", "/consumers/g/instances/c1/offsets", {}, kV2);
  ASSERT_EQ(offsets.status, 200) << offsets.body;
  EXPECT_NE(offsets.body.find(R"("offset":10)"), std::string::npos) << offsets.body;
}

}  // namespace
}  // namespace sluice::testing
