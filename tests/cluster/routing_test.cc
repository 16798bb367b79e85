// Requests for a partition that reach a broker other than its leader: forwarded to the leader,
// or redirected to it, and never forwarded twice.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "broker/offsets_store.h"
#include "tests/cluster/cluster_state.h"

namespace sluice::testing {
namespace {

const std::map<std::string, std::string> kJson = {{"Content-Type", "application/json"}};
const std::map<std::string, std::string> kJsonV2 = {
    {"Content-Type", "application/vnd.kafka.json.v2+json"}};

struct ConsumedRecord {
  int64_t partition = -1;
  int64_t offset = -1;
};

// The partition and offset of each record of a v2 consumer records answer.
std::vector<ConsumedRecord> parse_records(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::array records;
  std::vector<ConsumedRecord> out;
  if (parser.parse(body).get(records)) {
    ADD_FAILURE() << "not an array: " << body;
    return out;
  }
  for (auto record : records) {
    ConsumedRecord r;
    if (record["partition"].get(r.partition) || record["offset"].get(r.offset)) {
      ADD_FAILURE() << "a record without partition or offset: " << body;
    }
    out.push_back(r);
  }
  return out;
}

class RoutingTest : public ClusterFixture {
 protected:
  void start(const std::vector<std::string>& extra = {}) {
    brokers_ = start_brokers(3, extra);
    ASSERT_FALSE(HasFailure());
    const auto cluster = cluster_state(port(1)).cluster_id;
    auto created = http_request(port(1), "POST", "/v3/clusters/" + cluster + "/topics",
                                R"({"topic_name":"r","partitions_count":3})", kJson);
    ASSERT_EQ(created.status, 201) << created.body;
    ASSERT_TRUE(eventually([&] {
      for (int id = 1; id <= 3; ++id) {
        int led = 0;
        for (auto& [tp, info] : cluster_state(port(id)).partitions) led += info.leader >= 0;
        if (led != 3) return false;
      }
      return true;
    }));
    for (auto& [tp, info] : cluster_state(port(1)).partitions) leaders_[tp.second] = info.leader;
  }
  uint16_t port(int64_t id) const { return brokers_[static_cast<size_t>(id - 1)]->port(); }
  // A broker that does not lead partition p.
  int64_t not_leader(int64_t p) const { return leaders_.at(p) % 3 + 1; }

  std::vector<std::unique_ptr<BrokerProcess>> brokers_;
  std::map<int64_t, int64_t> leaders_;  // partition -> leader
};

TEST_F(RoutingTest, AProduceAndAFetchThroughANonLeaderAreForwardedToTheLeader) {
  start();
  if (HasFatalFailure()) return;
  for (int64_t p = 0; p < 3; ++p) {
    const auto via = not_leader(p);
    const std::string path = "/topics/r/partitions/" + std::to_string(p);
    auto produced =
        http_request(port(via), "POST", path,
                     R"({"records":[{"value":{"n":)" + std::to_string(p) + "}}]}", kJsonV2);
    ASSERT_EQ(produced.status, 200) << produced.body;
    EXPECT_NE(produced.body.find(R"("offset":0)"), std::string::npos) << produced.body;
    EXPECT_EQ(produced.header("x-sluice-leader").substr(0, 2), std::to_string(leaders_[p]) + " ");
    // The record is in the leader's log: read through the third broker, forwarded too.
    const auto third = 6 - leaders_[p] - via;
    auto fetched = http_request(port(third), "GET", path + "/records?offset=0&timeout=1000", {},
                                {{"Accept", "application/vnd.kafka.json.v2+json"}});
    ASSERT_EQ(fetched.status, 200) << fetched.body;
    EXPECT_NE(fetched.body.find(R"("value":{"n":)" + std::to_string(p) + "}"), std::string::npos)
        << fetched.body;
    auto direct = http_request(port(leaders_[p]), "GET", path + "/offsets");
    EXPECT_NE(direct.body.find(R"("end_offset":1)"), std::string::npos) << direct.body;
    EXPECT_EQ(direct.header("x-sluice-leader").substr(0, 2), std::to_string(leaders_[p]) + " ");
  }
}

TEST_F(RoutingTest, InRedirectModeANonLeaderAnswers307WithTheLeadersUrl) {
  start({"cluster.request.routing=redirect"});
  if (HasFatalFailure()) return;
  const auto via = not_leader(0);
  auto r = http_request(port(via), "POST", "/topics/r/partitions/0?acks=1",
                        R"({"records":[{"value":1}]})", kJsonV2);
  EXPECT_EQ(r.status, 307) << r.body;
  EXPECT_EQ(r.header("location"), "http://127.0.0.1:" + std::to_string(port(leaders_[0])) +
                                      "/topics/r/partitions/0?acks=1");
  // Nothing was appended anywhere.
  auto offsets = http_request(port(leaders_[0]), "GET", "/topics/r/partitions/0/offsets");
  EXPECT_NE(offsets.body.find(R"("end_offset":0)"), std::string::npos) << offsets.body;
}

TEST_F(RoutingTest, AForwardedRequestThatMeetsANonLeaderIsRefusedWith421) {
  start();
  if (HasFatalFailure()) return;
  auto headers = kJsonV2;
  headers["X-Sluice-Forwarded"] = "9";
  auto r = http_request(port(not_leader(1)), "POST", "/topics/r/partitions/1",
                        R"({"records":[{"value":1}]})", headers);
  EXPECT_EQ(r.status, 421) << r.body;
  EXPECT_NE(r.body.find("42101"), std::string::npos) << r.body;
}

// A produce to the whole topic: each record goes to its partition's leader, wherever it
// arrived, at the offset the answer reports; a key lands on the same partition through every
// broker.
TEST_F(RoutingTest, AProduceToTheWholeTopicReachesEachPartitionsLeader) {
  start();
  if (HasFatalFailure()) return;
  std::string body = R"({"records":[)";
  for (int i = 0; i < 30; ++i) {
    body += (i ? "," : "") + std::string(R"({"key":"k)") + std::to_string(i) + R"(","value":)" +
            std::to_string(i) + "}";
  }
  body += "]}";
  std::map<int, std::pair<int64_t, int64_t>> placed;  // record -> partition, offset
  for (int via = 1; via <= 3; ++via) {
    auto r = http_request(port(via), "POST", "/topics/r?acks=all", body, kJsonV2);
    ASSERT_EQ(r.status, 200) << r.body;
    simdjson::dom::parser parser;
    auto offsets = parser.parse(r.body)["offsets"].get_array().value();
    ASSERT_EQ(offsets.size(), 30u) << r.body;
    int i = 0;
    for (auto o : offsets) {
      ASSERT_TRUE(o["error_code"].is_null()) << r.body;
      const int64_t partition = o["partition"].get_int64().value();
      if (via == 1) {
        placed[i] = {partition, o["offset"].get_int64().value()};
      } else {
        EXPECT_EQ(partition, placed[i].first) << "key k" << i << " moved through broker " << via;
      }
      ++i;
    }
  }
  // Each leader holds its partition's records at the offsets the first answer gave.
  std::map<int64_t, int64_t> per_partition;
  for (auto& [i, po] : placed) ++per_partition[po.first];
  for (auto& [p, n] : per_partition) {
    auto offsets = http_request(port(leaders_[p]), "GET",
                                "/topics/r/partitions/" + std::to_string(p) + "/offsets");
    EXPECT_NE(offsets.body.find(R"("end_offset":)" + std::to_string(3 * n)), std::string::npos)
        << offsets.body;
  }
  for (auto& [i, po] : placed) {
    auto fetched = http_request(port(leaders_[po.first]), "GET",
                                "/topics/r/partitions/" + std::to_string(po.first) +
                                    "/records?max_bytes=1&offset=" + std::to_string(po.second),
                                {}, {{"Accept", "application/vnd.kafka.json.v2+json"}});
    EXPECT_NE(fetched.body.find(R"("key":"k)" + std::to_string(i) + "\""), std::string::npos)
        << fetched.body;
  }
  // Every broker's data directory, leader epochs included, passes `sluice verify` after a
  // clean stop.
  for (auto& b : brokers_) {
    ASSERT_EQ(b->terminate(), 0) << b->output();
    auto verified = run_sluice({"verify", "--log-dir", b->data_dir().string()});
    EXPECT_EQ(verified.exit_code, 0) << verified.output;
  }
}

// A consumer instance reads the partitions other brokers lead through their leaders: the topic
// has one replica per partition, so broker 1 holds only the partition it leads. Positions start
// from the leaders' offsets (latest is the leader's high watermark, not this broker's empty
// replica), commits and seeks are checked against them, and a poll waits for new records.
TEST_F(RoutingTest, AConsumerInstanceReadsThePartitionsOtherBrokersLeadThroughTheirLeaders) {
  start();
  if (HasFatalFailure()) return;
  const std::map<std::string, std::string> v2 = {{"Content-Type", "application/vnd.kafka.v2+json"}};
  const std::map<std::string, std::string> accept = {
      {"Accept", "application/vnd.kafka.json.v2+json"}};
  auto produce = [&](int64_t p, int i) {
    auto r = http_request(port(leaders_[p]), "POST", "/topics/r/partitions/" + std::to_string(p),
                          R"({"records":[{"value":{"p":)" + std::to_string(p) + R"(,"i":)" +
                              std::to_string(i) + "}}]}",
                          kJsonV2);
    ASSERT_EQ(r.status, 200) << r.body;
  };
  for (int64_t p = 0; p < 3; ++p) {
    for (int i = 0; i < 3; ++i) produce(p, i);
  }
  auto create = [&](const std::string& group, const std::string& reset) {
    ASSERT_EQ(
        http_request(port(1), "POST", "/consumers/" + group,
                     R"({"name":"c","format":"json","auto.offset.reset":")" + reset + "\"}", v2)
            .status,
        200);
    ASSERT_EQ(http_request(port(1), "POST", "/consumers/" + group + "/instances/c/subscription",
                           R"({"topics":["r"]})", v2)
                  .status,
              204);
  };
  // Polls until `want` records came or 40 polls passed; counts (partition, offset) pairs.
  auto consume = [&](const std::string& group, size_t want, int timeout_ms) {
    std::map<std::pair<int64_t, int64_t>, int> seen;
    size_t total = 0;
    for (int poll = 0; poll < 40 && total < want; ++poll) {
      auto r = http_request(
          port(1), "GET",
          "/consumers/" + group + "/instances/c/records?timeout=" + std::to_string(timeout_ms), {},
          accept);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      for (const auto& rec : parse_records(r.body)) {
        ++seen[{rec.partition, rec.offset}];
        ++total;
      }
    }
    return seen;
  };
  create("g", "earliest");
  if (HasFatalFailure()) return;
  auto seen = consume("g", 9, 1000);
  ASSERT_EQ(seen.size(), 9u);
  for (int64_t p = 0; p < 3; ++p) {
    for (int64_t o = 0; o < 3; ++o) EXPECT_EQ((seen[{p, o}]), 1) << p << "-" << o;
  }
  // Commit the positions (two of them on partitions other brokers lead) and read them back.
  auto committed = http_request(port(1), "POST", "/consumers/g/instances/c/offsets", "", v2);
  ASSERT_EQ(committed.status, 200) << committed.body;
  auto offsets = http_request(port(1), "GET", "/consumers/g/instances/c/offsets",
                              R"({"partitions":[{"topic":"r","partition":0},)"
                              R"({"topic":"r","partition":1},{"topic":"r","partition":2}]})",
                              v2);
  ASSERT_EQ(offsets.status, 200) << offsets.body;
  for (int64_t p = 0; p < 3; ++p) {
    EXPECT_NE(offsets.body.find(R"("partition":)" + std::to_string(p) + R"(,"offset":3)"),
              std::string::npos)
        << offsets.body;
  }
  // A commit past the leader's high watermark is refused, naming it. (The group lives on its
  // coordinator, the leader of its partition of __consumer_offsets: a partition another broker
  // leads is remote to it.)
  int64_t coordinator = -1;
  ASSERT_TRUE(eventually([&] {
    auto state = cluster_state(port(1));
    auto it = state.partitions.find({"__consumer_offsets", broker::offsets_partition_for("g")});
    coordinator = it == state.partitions.end() ? -1 : it->second.leader;
    return coordinator >= 1;
  }));
  const int64_t remote_p = leaders_[0] != coordinator ? 0 : 1;
  auto too_far = http_request(
      port(1), "POST", "/consumers/g/instances/c/offsets",
      R"({"offsets":[{"topic":"r","partition":)" + std::to_string(remote_p) + R"(,"offset":7}]})",
      v2);
  EXPECT_EQ(too_far.status, 422) << too_far.body;
  EXPECT_NE(too_far.body.find("high watermark"), std::string::npos) << too_far.body;
  // A poll with nothing there waits, and answers the record produced meanwhile on another broker.
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    produce(remote_p, 3);
  });
  seen = consume("g", 1, 5000);
  later.join();
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ((seen[{remote_p, 3}]), 1);
  // Back to the beginning of the other broker's partition, by position and by time (the
  // leader finds the first record at or after it): its four records come again.
  auto rewind = [&](const std::string& path, const std::string& entry) {
    const std::string partition = R"({"topic":"r","partition":)" + std::to_string(remote_p);
    ASSERT_EQ(http_request(port(1), "POST", "/consumers/g/instances/c/positions" + path,
                           entry.empty() ? R"({"partitions":[)" + partition + "}]}"
                                         : R"({"timestamps":[)" + partition + entry + "}]}",
                           v2)
                  .status,
              204);
    seen = consume("g", 4, 1000);
    EXPECT_EQ(seen.size(), 4u);
    EXPECT_EQ((seen[{remote_p, 0}]), 1);
  };
  rewind("/beginning", "");
  rewind("", R"(,"timestamp":"1970-01-01T00:00:00Z")");
  // A new group at latest starts at the leaders' high watermarks: nothing old comes, the next
  // record does.
  create("late", "latest");
  if (HasFatalFailure()) return;
  seen = consume("late", 1, 0);
  EXPECT_TRUE(seen.empty());
  produce(remote_p, 4);
  seen = consume("late", 1, 1000);
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ((seen[{remote_p, 4}]), 1);
}

// A follower's fetch from the leader, checked as docs/CLUSTER.md orders it: a stale epoch is
// fenced, a newer one or a non-leader misdirected, a diverged log told where to cut, and a
// good fetch answered with the leader's raw batches.
TEST_F(RoutingTest, AReplicaFetchIsCheckedAgainstTheLeadersEpochAndHistory) {
  start();
  if (HasFatalFailure()) return;
  const int64_t leader = leaders_[0];
  ASSERT_EQ(http_request(port(leader), "POST", "/topics/r/partitions/0",
                         R"({"records":[{"value":1},{"value":2}]})", kJsonV2)
                .status,
            200);
  const std::string path = "/v1/replica/topics/r/partitions/0?replica=9&max_wait_ms=0";
  auto good = http_request(port(leader), "GET", path + "&leader_epoch=0&offset=0&last_epoch=-1");
  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(good.header("content-type"), "application/vnd.sluice.batch");
  EXPECT_GT(good.body.size(), 61u);  // at least one whole batch
  EXPECT_EQ(good.header("x-sluice-leader-epoch"), "0");
  EXPECT_EQ(good.header("x-sluice-next-offset"), "2");

  auto newer = http_request(port(leader), "GET", path + "&leader_epoch=3&offset=0");
  EXPECT_EQ(newer.status, 421) << newer.body;
  auto elsewhere = http_request(port(not_leader(0)), "GET", path + "&leader_epoch=0&offset=0");
  EXPECT_EQ(elsewhere.status, 421) << elsewhere.body;
  // A follower that last fetched epoch 0 up to offset 5: the leader's epoch 0 ends at 2.
  auto diverged = http_request(port(leader), "GET", path + "&leader_epoch=0&offset=5&last_epoch=0");
  EXPECT_EQ(diverged.status, 409) << diverged.body;
  EXPECT_NE(diverged.body.find(R"("error_code":40904)"), std::string::npos) << diverged.body;
  EXPECT_NE(diverged.body.find(R"("diverging_epoch":0,"end_offset":2)"), std::string::npos)
      << diverged.body;
  auto beyond = http_request(port(leader), "GET", path + "&leader_epoch=0&offset=7");
  EXPECT_EQ(beyond.status, 416) << beyond.body;

  // The leader's broker goes and comes back: epoch 2 now, and epoch 0 is fenced.
  brokers_[static_cast<size_t>(leader - 1)]->kill9();
  ASSERT_TRUE(eventually([&] {
    return cluster_state(port(not_leader(0))).partitions[{"r", 0}].leader == -1;
  }));
  brokers_[static_cast<size_t>(leader - 1)]->restart();
  ASSERT_TRUE(eventually([&] {
    return cluster_state(port(leader)).partitions[{"r", 0}].leader_epoch == 2 &&
           http_request(port(leader), "GET", path + "&leader_epoch=2&offset=0").status == 200;
  }));
  auto fenced = http_request(port(leader), "GET", path + "&leader_epoch=0&offset=0");
  EXPECT_EQ(fenced.status, 409) << fenced.body;
  EXPECT_NE(fenced.body.find("40905"), std::string::npos) << fenced.body;
}

// With cluster.auth.token, brokers carry the token to each other (forwarded requests, replica
// fetches) and anyone else is refused.
TEST_F(RoutingTest, WithAClusterTokenOnlyBrokersMayFetchReplicasOrForward) {
  start({"cluster.auth.token=s3cret"});
  if (HasFatalFailure()) return;
  auto forwarded = http_request(port(not_leader(0)), "POST", "/topics/r/partitions/0",
                                R"({"records":[{"value":1}]})", kJsonV2);
  EXPECT_EQ(forwarded.status, 200) << forwarded.body;
  const std::string replica =
      "/v1/replica/topics/r/partitions/0?replica=9&max_wait_ms=0&leader_epoch=0&offset=0";
  auto stranger = http_request(port(leaders_[0]), "GET", replica);
  EXPECT_EQ(stranger.status, 401) << stranger.body;
  EXPECT_NE(stranger.body.find("40101"), std::string::npos) << stranger.body;
  auto wrong =
      http_request(port(leaders_[0]), "GET", replica, {}, {{"X-Sluice-Cluster-Token", "s3crex"}});
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  auto right =
      http_request(port(leaders_[0]), "GET", replica, {}, {{"X-Sluice-Cluster-Token", "s3cret"}});
  EXPECT_EQ(right.status, 200) << right.body;
  auto headers = kJsonV2;
  headers["X-Sluice-Forwarded"] = "9";
  auto spoofed = http_request(port(leaders_[1]), "POST", "/topics/r/partitions/1",
                              R"({"records":[{"value":1}]})", headers);
  EXPECT_EQ(spoofed.status, 401) << spoofed.body;
  // Followers carry it too: acks=all on three replicas is confirmed.
  const auto cluster = cluster_state(port(1)).cluster_id;
  ASSERT_EQ(
      http_request(port(1), "POST", "/v3/clusters/" + cluster + "/topics",
                   R"({"topic_name":"r3","partitions_count":1,"replication_factor":3})", kJson)
          .status,
      201);
  ASSERT_TRUE(eventually([&] {
    auto s = cluster_state(port(2)).partitions;
    auto it = s.find({"r3", 0});
    return it != s.end() && it->second.isr.size() == 3;
  }));
  auto acked = http_request(port(1), "POST", "/topics/r3/partitions/0?acks=all",
                            R"({"records":[{"value":1}]})", kJsonV2);
  EXPECT_EQ(acked.status, 200) << acked.body;
  EXPECT_NE(acked.body.find(R"("offset":0)"), std::string::npos) << acked.body;
}

}  // namespace
}  // namespace sluice::testing
