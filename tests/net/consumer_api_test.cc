// The REST Proxy v2 consumer API end to end: the real binary, real HTTP.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "broker/offsets_store.h"
#include "tests/net/broker_process.h"
#include "tests/net/http_client.h"

namespace sluice::testing {
namespace {

constexpr int kPartitions = 6;
const std::map<std::string, std::string> kV2 = {{"Content-Type", "application/vnd.kafka.v2+json"}};
const std::map<std::string, std::string> kProduceJson = {
    {"Content-Type", "application/vnd.kafka.json.v2+json"}};
const std::map<std::string, std::string> kAcceptJson = {
    {"Accept", "application/vnd.kafka.json.v2+json"}};
const std::map<std::string, std::string> kAcceptBinary = {
    {"Accept", "application/vnd.kafka.binary.v2+json"}};

// One consumed record, identified by where it came from.
struct Rec {
  std::string topic;
  int64_t partition = 0;
  int64_t offset = 0;
  auto operator<=>(const Rec&) const = default;
};

int64_t error_code(const HttpResponse& r) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(r.body).get(doc)) return -1;
  int64_t code = -1;
  if (doc["error_code"].get_int64().get(code)) return -1;
  return code;
}

class ConsumerApiTest : public ::testing::Test {
 protected:
  explicit ConsumerApiTest(std::vector<std::string> sets = {})
      : broker_(BrokerProcess::Options{with_defaults(std::move(sets)), {}, true}) {}

  static std::vector<std::string> with_defaults(std::vector<std::string> sets) {
    sets.push_back("num.partitions=" + std::to_string(kPartitions));
    return sets;
  }

  void TearDown() override {
    if (HasFailure()) std::cerr << "broker output:\n" << broker_.output();
  }

  uint16_t port() const { return broker_.port(); }

  // Produces `count` JSON records to every partition of `topic`; returns what was produced.
  std::set<Rec> produce(const std::string& topic, int count) {
    std::set<Rec> produced;
    for (int p = 0; p < kPartitions; ++p) {
      std::string body = R"({"records":[)";
      for (int i = 0; i < count; ++i) {
        body += (i ? "," : "") + std::string(R"({"value":{"p":)") + std::to_string(p) + R"(,"i":)" +
                std::to_string(i) + "}}";
      }
      body += "]}";
      auto r = http_request(port(), "POST", "/topics/" + topic + "/partitions/" + std::to_string(p),
                            body, kProduceJson);
      EXPECT_EQ(r.status, 200) << r.body;
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      EXPECT_EQ(parser.parse(r.body).get(doc), simdjson::SUCCESS);
      for (auto o : doc["offsets"].get_array()) {
        produced.insert({topic, p, int64_t(o["offset"])});
      }
    }
    return produced;
  }

  std::string instance_path(const std::string& group, const std::string& name) const {
    return "/consumers/" + group + "/instances/" + name;
  }

  void create(const std::string& group, const std::string& name,
              const std::string& extra = R"("format":"json","auto.offset.reset":"earliest")") {
    auto r = http_request(port(), "POST", "/consumers/" + group,
                          R"({"name":")" + name + "\"," + extra + "}", kV2);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  void subscribe(const std::string& group, const std::string& name, const std::string& topic) {
    auto r = http_request(port(), "POST", instance_path(group, name) + "/subscription",
                          R"({"topics":[")" + topic + "\"]}", kV2);
    ASSERT_EQ(r.status, 204) << r.body;
  }

  // One records request; the records it returned.
  std::vector<Rec> fetch(const std::string& group, const std::string& name, int timeout_ms,
                         const std::map<std::string, std::string>& accept = kAcceptJson) {
    auto r = http_request(
        port(), "GET",
        instance_path(group, name) + "/records?timeout=" + std::to_string(timeout_ms), {}, accept);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<Rec> out;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (r.status != 200 || parser.parse(r.body).get(doc)) return out;
    for (auto rec : doc.get_array()) {
      out.push_back({std::string(std::string_view(rec["topic"])), int64_t(rec["partition"]),
                     int64_t(rec["offset"])});
    }
    return out;
  }

  // Fetches round the instances until `want` records arrived in all or 30 s passed; every
  // record must arrive once. Returns what each instance received.
  std::map<std::string, std::vector<Rec>> consume_all(const std::string& group,
                                                      const std::vector<std::string>& names,
                                                      size_t want) {
    std::map<std::string, std::vector<Rec>> got;
    size_t total = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (total < want && std::chrono::steady_clock::now() < deadline) {
      for (const auto& name : names) {
        auto recs = fetch(group, name, 100);
        total += recs.size();
        got[name].insert(got[name].end(), recs.begin(), recs.end());
      }
    }
    return got;
  }

  void commit_positions(const std::string& group, const std::string& name) {
    auto r = http_request(port(), "POST", instance_path(group, name) + "/offsets", {}, kV2);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  std::set<std::pair<std::string, int64_t>> assignment(const std::string& group,
                                                       const std::string& name) {
    auto r = http_request(port(), "GET", instance_path(group, name) + "/assignments");
    EXPECT_EQ(r.status, 200) << r.body;
    std::set<std::pair<std::string, int64_t>> out;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(r.body).get(doc)) return out;
    for (auto p : doc["partitions"].get_array()) {
      out.emplace(std::string(std::string_view(p["topic"])), int64_t(p["partition"]));
    }
    return out;
  }

  // The committed offsets (partition -> offset) the group has for `topic`.
  std::map<int64_t, int64_t> committed(const std::string& group, const std::string& name,
                                       const std::string& topic) {
    std::string body = R"({"partitions":[)";
    for (int p = 0; p < kPartitions; ++p) {
      body += (p ? "," : "") + std::string(R"({"topic":")") + topic + R"(","partition":)" +
              std::to_string(p) + "}";
    }
    body += "]}";
    auto r = http_request(port(), "GET", instance_path(group, name) + "/offsets", body, kV2);
    EXPECT_EQ(r.status, 200) << r.body;
    std::map<int64_t, int64_t> out;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(r.body).get(doc)) return out;
    for (auto o : doc["offsets"].get_array()) out[int64_t(o["partition"])] = int64_t(o["offset"]);
    return out;
  }

  BrokerProcess broker_;
};

std::set<Rec> as_set_once(const std::map<std::string, std::vector<Rec>>& got, size_t* dups) {
  std::set<Rec> all;
  *dups = 0;
  for (const auto& [name, recs] : got) {
    for (const auto& r : recs) *dups += all.insert(r).second ? 0 : 1;
  }
  return all;
}

TEST_F(ConsumerApiTest, OneInstanceLifecycleConsumesEveryRecordOnce) {
  const auto produced = produce("life", 20);
  auto created = http_request(
      port(), "POST", "/consumers/g1",
      R"({"name":"c1","format":"json","auto.offset.reset":"earliest"})",
      {{"Content-Type", "application/vnd.kafka.v2+json"}, {"Host", "proxy.example:8082"}});
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.header("content-type"), "application/vnd.kafka.v2+json");
  simdjson::dom::parser parser;
  auto doc = parser.parse(created.body);
  EXPECT_EQ(std::string_view(doc["instance_id"]), "c1");
  EXPECT_EQ(std::string_view(doc["base_uri"]),
            "http://proxy.example:8082/consumers/g1/instances/c1");

  subscribe("g1", "c1", "life");
  auto sub = http_request(port(), "GET", instance_path("g1", "c1") + "/subscription");
  EXPECT_EQ(sub.body, R"({"topics":["life"]})");
  size_t dups = 0;
  auto got = as_set_once(consume_all("g1", {"c1"}, produced.size()), &dups);
  EXPECT_EQ(got, produced);
  EXPECT_EQ(dups, 0u);
  EXPECT_TRUE(fetch("g1", "c1", 0).empty());

  commit_positions("g1", "c1");
  for (const auto& [p, offset] : committed("g1", "c1", "life")) EXPECT_EQ(offset, 20) << p;
  EXPECT_EQ(committed("g1", "c1", "life").size(), static_cast<size_t>(kPartitions));

  EXPECT_EQ(http_request(port(), "DELETE", instance_path("g1", "c1") + "/subscription").status,
            204);
  EXPECT_EQ(http_request(port(), "DELETE", instance_path("g1", "c1")).status, 204);
  auto gone = http_request(port(), "GET", instance_path("g1", "c1") + "/records", {}, kAcceptJson);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(error_code(gone), 40403);
}

// Two and three instances share a 6-partition topic; deleting one moves its partitions, and
// consumption resumes at the committed offsets.
TEST_F(ConsumerApiTest, InstancesShareThePartitionsAndTakeOverOnDelete) {
  for (int members : {2, 3}) {
    SCOPED_TRACE(members);
    const std::string topic = "share" + std::to_string(members);
    const std::string group = "grp" + std::to_string(members);
    auto produced = produce(topic, 15);
    std::vector<std::string> names;
    for (int i = 0; i < members; ++i) {
      names.push_back("m" + std::to_string(i));
      create(group, names.back());
      subscribe(group, names.back(), topic);
    }
    std::set<std::pair<std::string, int64_t>> covered;
    for (const auto& n : names) {
      auto a = assignment(group, n);
      EXPECT_EQ(a.size(), static_cast<size_t>(kPartitions / members)) << n;
      for (const auto& tp : a) EXPECT_TRUE(covered.insert(tp).second) << "assigned twice";
    }
    EXPECT_EQ(covered.size(), static_cast<size_t>(kPartitions));

    size_t dups = 0;
    auto got = consume_all(group, names, produced.size());
    EXPECT_EQ(as_set_once(got, &dups), produced);
    EXPECT_EQ(dups, 0u);
    for (const auto& n : names) {
      for (const auto& r : got[n]) {
        EXPECT_TRUE(assignment(group, n).contains({r.topic, r.partition})) << n;
      }
      commit_positions(group, n);
    }

    ASSERT_EQ(http_request(port(), "DELETE", instance_path(group, names.back())).status, 204);
    names.pop_back();
    std::set<std::pair<std::string, int64_t>> after;
    for (const auto& n : names) {
      for (const auto& tp : assignment(group, n)) EXPECT_TRUE(after.insert(tp).second);
    }
    EXPECT_EQ(after.size(), static_cast<size_t>(kPartitions));
    const auto more = produce(topic, 5);
    auto resumed = consume_all(group, names, more.size());
    EXPECT_EQ(as_set_once(resumed, &dups), more);  // nothing before the committed offsets
    EXPECT_EQ(dups, 0u);
  }
}

class ConsumerExpiryTest : public ConsumerApiTest {
 protected:
  ConsumerExpiryTest() : ConsumerApiTest({"consumer.instance.timeout.ms=1500"}) {}
};

TEST_F(ConsumerExpiryTest, AnIdleInstanceExpiresAndItsPartitionsMove) {
  const auto produced = produce("exp", 10);
  create("ge", "busy");
  subscribe("ge", "busy", "exp");
  create("ge", "idle");
  subscribe("ge", "idle", "exp");
  size_t dups = 0;
  EXPECT_EQ(as_set_once(consume_all("ge", {"busy", "idle"}, produced.size()), &dups), produced);
  commit_positions("ge", "busy");
  commit_positions("ge", "idle");
  // Bounded: "busy" keeps polling until the sweep has expired "idle".
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (assignment("ge", "busy").size() < static_cast<size_t>(kPartitions) &&
         std::chrono::steady_clock::now() < deadline) {
    EXPECT_TRUE(fetch("ge", "busy", 200).empty());
  }
  ASSERT_EQ(assignment("ge", "busy").size(), static_cast<size_t>(kPartitions));
  auto idle = http_request(port(), "GET", instance_path("ge", "idle") + "/assignments");
  EXPECT_EQ(error_code(idle), 40403);
  const auto more = produce("exp", 3);
  EXPECT_EQ(as_set_once(consume_all("ge", {"busy"}, more.size()), &dups), more);
  EXPECT_EQ(dups, 0u);
}

TEST_F(ConsumerApiTest, CommitsSurviveKillNine) {
  const auto produced = produce("durable", 8);
  create("gk", "a");
  subscribe("gk", "a", "durable");
  size_t dups = 0;
  EXPECT_EQ(as_set_once(consume_all("gk", {"a"}, produced.size()), &dups), produced);
  // Explicit commits: "offset 4 was the last consumed" stores 5.
  std::string body = R"({"offsets":[)";
  for (int p = 0; p < kPartitions; ++p) {
    body += (p ? "," : "") + std::string(R"({"topic":"durable","partition":)") + std::to_string(p) +
            R"(,"offset":)" + std::to_string(p % 2 ? 4 : 6) + R"(,"metadata":"m)" +
            std::to_string(p) + "\"}";
  }
  body += "]}";
  auto c = http_request(port(), "POST", instance_path("gk", "a") + "/offsets/", body, kV2);
  ASSERT_EQ(c.status, 200) << c.body;

  auto topics = http_request(port(), "GET", "/topics");
  EXPECT_EQ(topics.body.find("__consumer_offsets"), std::string::npos) << topics.body;
  broker_.kill9();
  broker_.restart();
  create("gk", "b");
  auto offsets = committed("gk", "b", "durable");
  ASSERT_EQ(offsets.size(), static_cast<size_t>(kPartitions));
  for (const auto& [p, offset] : offsets) EXPECT_EQ(offset, p % 2 ? 5 : 7) << p;
  auto with_meta = http_request(port(), "GET", instance_path("gk", "b") + "/offsets",
                                R"({"partitions":[{"topic":"durable","partition":3}]})", kV2);
  EXPECT_EQ(with_meta.body,
            R"({"offsets":[{"topic":"durable","partition":3,"offset":5,"metadata":"m3"}]})");
  subscribe("gk", "b", "durable");
  auto rest = as_set_once(consume_all("gk", {"b"}, 3 * 3 + 1 * 3), &dups);
  std::set<Rec> expected;
  for (const auto& r : produced) {
    if (r.offset >= (r.partition % 2 ? 5 : 7)) expected.insert(r);
  }
  EXPECT_EQ(rest, expected);
}

TEST_F(ConsumerApiTest, CreateAcceptsRestProxyCompatibleBodies) {
  auto empty = http_request(port(), "POST", "/consumers/gc", {}, kV2);
  ASSERT_EQ(empty.status, 200) << empty.body;
  simdjson::dom::parser parser;
  EXPECT_FALSE(std::string_view(parser.parse(empty.body)["instance_id"]).empty());
  auto nulls = http_request(port(), "POST", "/consumers/gc",
                            R"({"name":"n","format":null,"auto.offset.reset":null,)"
                            R"("auto.commit.enable":null,"fetch.min.bytes":null})",
                            kV2);
  EXPECT_EQ(nulls.status, 200) << nulls.body;
  auto strings = http_request(port(), "POST", "/consumers/gc",
                              R"({"name":"s","fetch.min.bytes":"1","auto.commit.enable":"false",)"
                              R"("consumer.request.timeout.ms":"500"})",
                              kV2);
  EXPECT_EQ(strings.status, 200) << strings.body;
  auto legacy = http_request(port(), "POST", "/consumers/gc", R"({"id":"legacy"})", kV2);
  ASSERT_EQ(legacy.status, 200) << legacy.body;
  EXPECT_EQ(std::string_view(parser.parse(legacy.body)["instance_id"]), "legacy");

  // A binary instance answers */* with binary and refuses the json media type.
  produce("bin", 1);
  create("gc", "b", R"("format":"binary","auto.offset.reset":"earliest")");
  subscribe("gc", "b", "bin");
  auto any = http_request(port(), "GET", instance_path("gc", "b") + "/records?timeout=2000", {},
                          {{"Accept", "*/*"}});
  EXPECT_EQ(any.status, 200);
  EXPECT_EQ(any.header("content-type"), "application/vnd.kafka.binary.v2+json");
  auto wrong = http_request(port(), "GET", instance_path("gc", "b") + "/records", {}, kAcceptJson);
  EXPECT_EQ(wrong.status, 406);
  EXPECT_EQ(error_code(wrong), 40601);
}

TEST_F(ConsumerApiTest, PositionsSeekAndRecordsRespectMaxBytes) {
  produce("seek", 10);
  create("gs", "a");
  auto assign = http_request(port(), "POST", instance_path("gs", "a") + "/assignments",
                             R"({"partitions":[{"topic":"seek","partition":2}]})", kV2);
  ASSERT_EQ(assign.status, 204) << assign.body;
  auto end = http_request(port(), "POST", instance_path("gs", "a") + "/positions/end",
                          R"({"partitions":[{"topic":"seek","partition":2}]})", kV2);
  ASSERT_EQ(end.status, 204);
  EXPECT_TRUE(fetch("gs", "a", 0).empty());
  auto seek = http_request(port(), "POST", instance_path("gs", "a") + "/positions",
                           R"({"offsets":[{"topic":"seek","partition":2,"offset":7}]})", kV2);
  ASSERT_EQ(seek.status, 204);
  auto recs = fetch("gs", "a", 0);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs.front().offset, 7);
  auto begin = http_request(port(), "POST", instance_path("gs", "a") + "/positions/beginning",
                            R"({"partitions":[{"topic":"seek","partition":2}]})", kV2);
  ASSERT_EQ(begin.status, 204);
  auto small = http_request(port(), "GET", instance_path("gs", "a") + "/records?max_bytes=1", {},
                            kAcceptJson);
  ASSERT_EQ(small.status, 200);
  simdjson::dom::parser parser;
  EXPECT_EQ(parser.parse(small.body).get_array().size(), 10u);  // one whole batch at least
}

// A client whose fetch failed (a dropped connection, a broker that forwarded it and died) seeks
// back to what it has, here to the very offset that fetch started from. The fetch, still
// long-polling on the server, must not move the position past the records it then finds: the
// client never got them.
TEST_F(ConsumerApiTest, AFetchOvertakenByASeekDoesNotSkipRecords) {
  produce("overtaken", 3);
  create("go", "a");
  auto assign = http_request(port(), "POST", instance_path("go", "a") + "/assignments",
                             R"({"partitions":[{"topic":"overtaken","partition":0}]})", kV2);
  ASSERT_EQ(assign.status, 204) << assign.body;
  ASSERT_EQ(fetch("go", "a", 0).size(), 3u);

  RawSocket orphan(port());
  orphan.send("GET " + instance_path("go", "a") +
              "/records?timeout=10000 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              "Accept: application/vnd.kafka.json.v2+json\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // it long-polls by now
  auto seek = http_request(port(), "POST", instance_path("go", "a") + "/positions",
                           R"({"offsets":[{"topic":"overtaken","partition":0,"offset":3}]})", kV2);
  ASSERT_EQ(seek.status, 204) << seek.body;
  auto more = http_request(port(), "POST", "/topics/overtaken/partitions/0",
                           R"({"records":[{"value":1},{"value":2}]})", kProduceJson);
  ASSERT_EQ(more.status, 200) << more.body;
  // The long poll answers with the new records (to nobody, as far as the client knows)...
  const std::string answered = orphan.read_until("\"offset\":4", 10000);
  ASSERT_NE(answered.find("\"offset\":4"), std::string::npos) << answered;
  // ...and the client, which sought, still gets them.
  auto recs = fetch("go", "a", 1000);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].offset, 3);
  EXPECT_EQ(recs[1].offset, 4);
}

// The v3 consumer-group view: members and their assignments, and per partition the log end
// offset less the committed offset.
TEST_F(ConsumerApiTest, V3GroupsShowMembersAssignmentsAndLag) {
  produce("lagged", 10);
  create("lg", "c1");
  create("lg", "c2");
  subscribe("lg", "c1", "lagged");
  subscribe("lg", "c2", "lagged");
  size_t dups = 0;
  ASSERT_EQ(as_set_once(consume_all("lg", {"c1", "c2"}, 10 * kPartitions), &dups).size(),
            static_cast<size_t>(10 * kPartitions));
  commit_positions("lg", "c1");
  commit_positions("lg", "c2");
  produce("lagged", 3);  // every partition now ends at 13, committed at 10

  simdjson::dom::parser parser;
  auto get = [&](const std::string& path) {
    auto r = http_request(port(), "GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return r.body;
  };
  const std::string cluster(
      std::string_view(parser.parse(get("/v3/clusters"))["data"].at(0)["cluster_id"]));
  const std::string groups = "/v3/clusters/" + cluster + "/consumer-groups";

  auto listed = parser.parse(get(groups));
  ASSERT_EQ(listed["data"].get_array().size(), 1u);
  EXPECT_EQ(std::string_view(listed["data"].at(0)["consumer_group_id"]), "lg");
  EXPECT_EQ(std::string_view(listed["data"].at(0)["state"]), "STABLE");

  // Each member holds its own partitions, and together all of them.
  std::map<int64_t, std::string> owner;
  for (auto c : parser.parse(get(groups + "/lg/consumers"))["data"].get_array()) {
    const std::string id{std::string_view(c["consumer_id"])};
    for (auto a : c["assignments"].get_array()) {
      EXPECT_EQ(std::string_view(a["topic_name"]), "lagged");
      EXPECT_TRUE(owner.emplace(int64_t(a["partition_id"]), id).second) << "assigned twice";
    }
  }
  ASSERT_EQ(owner.size(), static_cast<size_t>(kPartitions));
  EXPECT_EQ(owner, (std::map<int64_t, std::string>{
                       {0, "c1"}, {1, "c1"}, {2, "c1"}, {3, "c2"}, {4, "c2"}, {5, "c2"}}));

  auto c1 = parser.parse(get(groups + "/lg/consumers/c1"));
  EXPECT_EQ(std::string_view(c1["kind"]), "KafkaConsumer");
  EXPECT_EQ(c1["assignments"].get_array().size(), 3u);
  auto stranger = http_request(port(), "GET", groups + "/lg/consumers/c9");
  EXPECT_EQ(stranger.status, 404);
  EXPECT_EQ(error_code(stranger), 40403);

  auto lags = parser.parse(get(groups + "/lg/lags"))["data"].get_array();
  ASSERT_EQ(lags.size(), static_cast<size_t>(kPartitions));
  for (auto lag : lags) {
    const int64_t p = int64_t(lag["partition_id"]);
    EXPECT_EQ(std::string_view(lag["topic_name"]), "lagged");
    EXPECT_EQ(int64_t(lag["current_offset"]), 10) << p;
    EXPECT_EQ(int64_t(lag["log_end_offset"]), 13) << p;
    EXPECT_EQ(int64_t(lag["lag"]), 3) << p;
    EXPECT_EQ(std::string_view(lag["consumer_id"]), owner[p]) << p;
  }
  auto summary = parser.parse(get(groups + "/lg/lag-summary"));
  EXPECT_EQ(int64_t(summary["total_lag"]), 3 * kPartitions);
  EXPECT_EQ(int64_t(summary["max_lag"]), 3);
  EXPECT_EQ(std::string_view(summary["max_lag_topic_name"]), "lagged");
  const std::string max_consumer{std::string_view(summary["max_lag_consumer"]["related"])};
  EXPECT_EQ(http_request(port(), "GET", max_consumer.substr(max_consumer.find("/v3/"))).status,
            200);

  // The same figures for Prometheus, one gauge per committed partition.
  const auto metrics = http_request(port(), "GET", "/metrics").body;
  for (int p = 0; p < kPartitions; ++p) {
    const auto gauge = "sluice_consumer_group_lag{group=\"lg\",topic=\"lagged\",partition=\"" +
                       std::to_string(p) + "\"} 3\n";
    EXPECT_NE(metrics.find(gauge), std::string::npos) << gauge << metrics;
  }

  // A group name is whatever the client's path said: quoted in the exposition format.
  create("q%22g", "c1");
  ASSERT_EQ(http_request(port(), "POST", instance_path("q%22g", "c1") + "/offsets",
                         R"({"offsets":[{"topic":"lagged","partition":0,"offset":4}]})", kV2)
                .status,
            200);
  EXPECT_NE(http_request(port(), "GET", "/metrics")
                .body.find("sluice_consumer_group_lag{group=\"q\\\"g\",topic=\"lagged\","
                           "partition=\"0\"} 8\n"),
            std::string::npos);

  // With its members gone the group keeps its commits, and its lag, with nobody holding them.
  for (const char* name : {"c1", "c2"}) {
    EXPECT_EQ(http_request(port(), "DELETE", instance_path("lg", name)).status, 204);
  }
  EXPECT_EQ(std::string_view(parser.parse(get(groups + "/lg"))["state"]), "EMPTY");
  EXPECT_EQ(parser.parse(get(groups + "/lg/consumers"))["data"].get_array().size(), 0u);
  for (auto lag : parser.parse(get(groups + "/lg/lags"))["data"].get_array()) {
    EXPECT_EQ(std::string_view(lag["consumer_id"]), "");
    EXPECT_EQ(int64_t(lag["lag"]), 3);
  }

  // A group that has committed nothing has no lag, and no partition to name.
  create("fresh", "f1");
  auto none = parser.parse(get(groups + "/fresh/lag-summary"));
  EXPECT_EQ(int64_t(none["total_lag"]), 0);
  EXPECT_TRUE(none["max_lag_topic_name"].is_null());
  EXPECT_EQ(parser.parse(get(groups + "/fresh/lags"))["data"].get_array().size(), 0u);

  auto unknown = http_request(port(), "GET", groups + "/nope/lags");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(error_code(unknown), 40403);
  auto other_cluster = http_request(port(), "GET", "/v3/clusters/other/consumer-groups");
  EXPECT_EQ(other_cluster.status, 404);
  EXPECT_EQ(error_code(other_cluster), 40404);
}

// As in Kafka, clients cannot write, create, delete or reconfigure __consumer_offsets: each
// would lose or forge committed offsets. Reading it stays possible.
TEST_F(ConsumerApiTest, TheOffsetsTopicCanBeReadButNotChanged) {
  simdjson::dom::parser parser;
  const std::string cluster{std::string_view(
      parser.parse(http_request(port(), "GET", "/v3/clusters").body)["data"].at(0)["cluster_id"])};
  const std::string topic = "/v3/clusters/" + cluster + "/topics/__consumer_offsets";
  const std::map<std::string, std::string> json = {{"Content-Type", "application/json"}};
  auto expect_refused = [&](const HttpResponse& r, const std::string& what) {
    EXPECT_EQ(r.status, 403) << what << ": " << r.body;
    EXPECT_EQ(error_code(r), 40301) << what << ": " << r.body;
  };
  // Before it exists: neither created by hand nor by auto-creation on produce.
  expect_refused(http_request(port(), "POST", "/v3/clusters/" + cluster + "/topics",
                              R"({"topic_name":"__consumer_offsets","partitions_count":1})", json),
                 "create");
  expect_refused(http_request(port(), "POST", "/topics/__consumer_offsets",
                              R"({"records":[{"value":1}]})", kProduceJson),
                 "v2 produce");

  produce("kept", 1);
  create("cg", "c1");
  subscribe("cg", "c1", "kept");
  ASSERT_EQ(consume_all("cg", {"c1"}, kPartitions).size(), 1u);
  commit_positions("cg", "c1");
  const auto before = committed("cg", "c1", "kept");
  ASSERT_EQ(before.size(), static_cast<size_t>(kPartitions));

  expect_refused(http_request(port(), "DELETE", topic), "delete");
  expect_refused(
      http_request(port(), "PUT", topic + "/configs/retention.ms", R"({"value":"1"})", json),
      "alter");
  expect_refused(http_request(port(), "POST", "/topics/__consumer_offsets/partitions/0",
                              R"({"records":[{"value":1}]})", kProduceJson),
                 "v2 produce to a partition");
  expect_refused(http_request(port(), "POST", "/topics/__consumer_offsets/partitions/0/records",
                              "x", {{"Content-Type", "application/vnd.sluice.batch"}}),
                 "raw produce");
  expect_refused(http_request(port(), "POST", topic + "/records",
                              R"({"value":{"type":"JSON","data":1}})", json),
                 "v3 produce");
  EXPECT_EQ(http_request(port(), "GET", topic).status, 200);
  EXPECT_EQ(committed("cg", "c1", "kept"), before);
}

// A commit is an append like any other: it wakes a long poll on its offsets partition at once
// instead of leaving it to wait out its timeout.
TEST_F(ConsumerApiTest, ACommitWakesALongPollOnTheOffsetsTopic) {
  produce("woken", 1);
  create("wg", "w1");
  subscribe("wg", "w1", "woken");
  ASSERT_EQ(consume_all("wg", {"w1"}, kPartitions)["w1"].size(), static_cast<size_t>(kPartitions));
  commit_positions("wg", "w1");  // the offsets topic exists from here on
  const std::string partition = "/topics/__consumer_offsets/partitions/" +
                                std::to_string(broker::offsets_partition_for("wg"));
  simdjson::dom::parser parser;
  const int64_t end =
      parser.parse(http_request(port(), "GET", partition + "/offsets").body)["end_offset"]
          .get_int64();
  constexpr int kTimeoutMs = 60000;
  HttpResponse fetched;
  std::chrono::steady_clock::duration waited{};
  std::thread poll([&] {
    const auto start = std::chrono::steady_clock::now();
    fetched = http_request(port(), "GET",
                           partition + "/records?offset=" + std::to_string(end) +
                               "&timeout=" + std::to_string(kTimeoutMs),
                           {}, {{"Accept", "application/vnd.kafka.binary.v2+json"}});
    waited = std::chrono::steady_clock::now() - start;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the poll is parked by now
  commit_positions("wg", "w1");
  poll.join();
  EXPECT_EQ(fetched.status, 200) << fetched.body;
  EXPECT_NE(fetched.body, "[]");
  // Woken by the commit, not by the timeout (a minute: far beyond any scheduling delay).
  EXPECT_LT(waited, std::chrono::milliseconds(kTimeoutMs / 2));
}

TEST_F(ConsumerApiTest, EveryDocumentedErrorHasItsCode) {
  produce("err", 2);
  const auto expect = [&](const HttpResponse& r, int status, int64_t code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(error_code(r), code) << r.body;
  };
  expect(http_request(port(), "GET", "/consumers/nogroup/instances/x/records"), 404, 40403);
  expect(http_request(port(), "POST", "/consumers/nogroup/instances/x/offsets", {}, kV2), 404,
         40403);
  expect(http_request(port(), "DELETE", "/consumers/nogroup/instances/x"), 404, 40403);
  create("ge", "a");
  expect(http_request(port(), "POST", "/consumers/ge", R"({"name":"a"})", kV2), 409, 40902);
  expect(http_request(port(), "POST", "/consumers/ge", R"({"name":"z","format":"avro"})", kV2), 422,
         42204);
  expect(
      http_request(port(), "POST", "/consumers/ge", R"({"name":"z","auto.offset.reset":"x"})", kV2),
      422, 42204);
  expect(
      http_request(port(), "POST", "/consumers/ge", R"({"name":"z","fetch.min.bytes":"x"})", kV2),
      422, 42204);
  expect(http_request(port(), "POST", "/consumers/ge", R"({"name":"a\u0001b"})", kV2), 400, 40003);
  EXPECT_EQ(http_request(port(), "POST", "/consumers/g%01", {}, kV2).status, 400);
  expect(http_request(port(), "POST", instance_path("ge", "a") + "/subscription",
                      R"({"topics":["err"],"topic_pattern":"e.*"})", kV2),
         409, 40903);
  expect(http_request(port(), "POST", instance_path("ge", "a") + "/subscription",
                      R"({"topic_pattern":"(["})", kV2),
         422, 42203);
  expect(http_request(port(), "POST", instance_path("ge", "a") + "/subscription",
                      R"({"topics":["a\u0001"]})", kV2),
         400, 40005);
  subscribe("ge", "a", "err");
  expect(http_request(port(), "POST", instance_path("ge", "a") + "/assignments",
                      R"({"partitions":[{"topic":"err","partition":0}]})", kV2),
         409, 40903);
  expect(http_request(port(), "GET", instance_path("ge", "a") + "/records", {}, kAcceptBinary), 406,
         40601);
  expect(http_request(port(), "POST", instance_path("ge", "a") + "/offsets",
                      R"({"offsets":[{"topic":"err","partition":0,"offset":5}]})", kV2),
         422, 42206);
  expect(http_request(port(), "POST", instance_path("ge", "a") + "/offsets",
                      R"({"offsets":[{"topic":"err","partition":0,"offset":-5}]})", kV2),
         422, 42206);
  expect(http_request(port(), "POST", instance_path("ge", "a") + "/offsets",
                      R"({"offsets":[{"topic":"nope","partition":0,"offset":0}]})", kV2),
         404, 40401);
  expect(http_request(port(), "POST", instance_path("ge", "a") + "/positions",
                      R"({"offsets":[{"topic":"err","partition":0,"offset":-1}]})", kV2),
         422, 42206);
  expect(http_request(port(), "POST", instance_path("ge", "a") + "/offsets", "{", kV2), 400, 40001);

  create("ge", "m");
  ASSERT_EQ(http_request(port(), "POST", instance_path("ge", "m") + "/assignments",
                         R"({"partitions":[{"topic":"err","partition":1}]})", kV2)
                .status,
            204);
  expect(http_request(port(), "POST", instance_path("ge", "m") + "/subscription",
                      R"({"topics":["err"]})", kV2),
         409, 40903);
  expect(http_request(port(), "POST", instance_path("ge", "m") + "/positions",
                      R"({"offsets":[{"topic":"err","partition":0,"offset":0}]})", kV2),
         409, 40903);
  // Commit of offset 1 (the last record) stores 2, the log end.
  ASSERT_EQ(http_request(port(), "POST", instance_path("ge", "m") + "/offsets",
                         R"({"partitions":[{"topic":"err","partition":1,"offset":"1"}]})", kV2)
                .status,
            200);
  EXPECT_EQ(committed("ge", "m", "err"), (std::map<int64_t, int64_t>{{1, 2}}));
}

}  // namespace
}  // namespace sluice::testing
