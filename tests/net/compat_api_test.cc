// Where Sluice must answer as Confluent's REST Proxy does, and the traps a new user fell into:
// seek by timestamp, media types of errors and of v1, wording of not-found errors, records
// that are not JSON, links in v3 answers, and the log lines of topic changes.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <deque>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "net/rest/consumer_body.h"
#include "tests/net/api_test_util.h"
#include "tests/net/broker_process.h"

namespace sluice::testing {
namespace {

const std::map<std::string, std::string> kV2 = {{"Content-Type", "application/vnd.kafka.v2+json"}};

class RestProxyCompatTest : public ::testing::Test {
 protected:
  void SetUp() override { cluster_ = cluster_id(port()); }
  void TearDown() override {
    if (HasFailure()) std::cerr << "broker output:\n" << broker_.output();
  }
  uint16_t port() const { return broker_.port(); }
  static std::string message_of(const HttpResponse& r) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view message;
    if (parser.parse(r.body).get(doc) || doc["message"].get(message)) return {};
    return std::string(message);
  }
  std::string v3(std::string_view rest) const {
    return "/v3/clusters/" + cluster_ + std::string(rest);
  }
  HttpResponse create_topic(std::string_view name, int partitions) {
    return http_request(port(), "POST", v3("/topics"), fmt_topic(name, partitions), kV3Json);
  }
  static std::string fmt_topic(std::string_view name, int partitions) {
    return "{\"topic_name\":\"" + std::string(name) +
           "\",\"partitions_count\":" + std::to_string(partitions) + "}";
  }
  // A json consumer instance of group `g` assigned `topic` partition 0; returns its path.
  std::string json_consumer(const std::string& g, const std::string& topic) {
    auto made = http_request(port(), "POST", "/consumers/" + g,
                             R"({"name":"c","format":"json","auto.offset.reset":"earliest"})", kV2);
    EXPECT_EQ(made.status, 200) << made.body;
    const std::string path = "/consumers/" + g + "/instances/c";
    auto assigned =
        http_request(port(), "POST", path + "/assignments",
                     R"({"partitions":[{"topic":")" + topic + R"(","partition":0}]})", kV2);
    EXPECT_EQ(assigned.status, 204) << assigned.body;
    return path;
  }
  // The offsets of the records a consumer fetch returns.
  std::vector<int64_t> fetched_offsets(const std::string& path, int* status = nullptr) {
    auto r = http_request(port(), "GET", path + "/records?timeout=0", {}, kAcceptJson);
    if (status) *status = r.status;
    std::vector<int64_t> out;
    if (r.status != 200) return out;
    simdjson::dom::parser parser;
    for (auto rec : parse(parser, r.body).get_array()) out.push_back(int64_t(rec["offset"]));
    return out;
  }

  BrokerProcess broker_;
  std::string cluster_;
};

TEST_F(RestProxyCompatTest, SeekByTimestampStartsAtTheFirstRecordAtOrAfterIt) {
  ASSERT_EQ(create_topic("ts", 1).status, 201);
  auto produced = http_request(port(), "POST", "/topics/ts/partitions/0",
                               R"({"records":[{"value":0,"timestamp":"2026-12-06T04:01:37.000Z"},
                                              {"value":1,"timestamp":"2026-12-06T04:01:38.000Z"},
                                              {"value":2,"timestamp":"2026-12-06T04:01:39.000Z"}]})",
                               kJson);
  ASSERT_EQ(produced.status, 200) << produced.body;
  const auto path = json_consumer("g-ts", "ts");
  auto seek = [&](std::string_view when) {
    return http_request(
        port(), "POST", path + "/positions",
        R"({"timestamps":[{"topic":"ts","partition":0,"timestamp":")" + std::string(when) + "\"}]}",
        kV2);
  };
  auto r = seek("2026-12-06T04:01:37.823Z");
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(fetched_offsets(path), (std::vector<int64_t>{1, 2}));
  // A zone offset: 05:01:38.500+01:00 is 04:01:38.500Z.
  r = seek("2026-12-06T05:01:38.500+01:00");
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(fetched_offsets(path), (std::vector<int64_t>{2}));
  // Exactly a record's time finds that record.
  ASSERT_EQ(seek("2026-12-06T04:01:37Z").status, 204);
  EXPECT_EQ(fetched_offsets(path), (std::vector<int64_t>{0, 1, 2}));
  // Past every record: the end, where the next record lands.
  ASSERT_EQ(seek("2027-01-01T00:00:00.000Z").status, 204);
  ASSERT_EQ(
      http_request(port(), "POST", "/topics/ts/partitions/0", R"({"records":[{"value":3}]})", kJson)
          .status,
      200);
  EXPECT_EQ(fetched_offsets(path), (std::vector<int64_t>{3}));

  auto bad = seek("yesterday");
  EXPECT_EQ(bad.status, 422) << bad.body;
  auto unassigned = http_request(
      port(), "POST", path + "/positions",
      R"({"timestamps":[{"topic":"ts","partition":5,"timestamp":"2026-12-06T04:01:37Z"}]})", kV2);
  EXPECT_GE(unassigned.status, 400) << unassigned.body;
}

TEST_F(RestProxyCompatTest, ErrorsCarryTheNegotiatedV2MediaType) {
  auto topic = http_request(port(), "GET", "/topics/missing");
  EXPECT_EQ(topic.status, 404);
  EXPECT_EQ(topic.header("content-type"), "application/vnd.kafka.v2+json");
  auto records =
      http_request(port(), "GET", "/consumers/g/instances/none/records", {}, kAcceptJson);
  EXPECT_EQ(records.status, 404);
  EXPECT_EQ(records.header("content-type"), "application/vnd.kafka.json.v2+json");
  auto binary = http_request(port(), "GET", "/consumers/g/instances/none/records", {},
                             {{"Accept", "application/vnd.kafka.binary.v2+json"}});
  EXPECT_EQ(binary.header("content-type"), "application/vnd.kafka.binary.v2+json");
  auto route = http_request(port(), "GET", "/no/such/route");
  EXPECT_EQ(route.status, 404);
  EXPECT_EQ(route.header("content-type"), "application/vnd.kafka.v2+json");
  // REST Proxy v3 answers application/json, errors included.
  auto v3_missing = http_request(port(), "GET", v3("/topics/missing"));
  EXPECT_EQ(v3_missing.status, 404);
  EXPECT_EQ(v3_missing.header("content-type"), "application/json");
}

TEST_F(RestProxyCompatTest, RootNegotiatesMediaTypes) {
  auto text = http_request(port(), "GET", "/", {}, {{"Accept", "text/plain"}});
  EXPECT_EQ(text.status, 406) << text.body;
  EXPECT_EQ(error_code_of(text), 406);
  auto post = http_request(port(), "POST", "/", "hello", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(post.status, 415) << post.body;
  EXPECT_EQ(error_code_of(post), 415);
  EXPECT_EQ(http_request(port(), "GET", "/", {}, {{"Accept", "application/json"}}).status, 200);
  auto echo = http_request(port(), "POST", "/", R"({"a":"b"})", kV2);
  EXPECT_EQ(echo.status, 200) << echo.body;
  EXPECT_EQ(echo.body, R"({"a":"b"})");
}

TEST_F(RestProxyCompatTest, NotFoundMessagesUseConfluentsWordingThenTheName) {
  ASSERT_EQ(create_topic("one", 1).status, 201);
  for (const std::string& target : {std::string("/topics/missing"), v3("/topics/missing"),
                                    std::string("/topics/missing/partitions/0/offsets")}) {
    auto r = http_request(port(), "GET", target);
    EXPECT_EQ(r.status, 404);
    EXPECT_TRUE(message_of(r).starts_with("Topic not found. ")) << target << " " << r.body;
    EXPECT_NE(message_of(r).find("'missing'"), std::string::npos) << r.body;
  }
  for (const std::string& target :
       {std::string("/topics/one/partitions/3"), std::string("/topics/one/partitions/x"),
        v3("/topics/one/partitions/3"), std::string("/topics/one/partitions/3/offsets")}) {
    auto r = http_request(port(), "GET", target);
    EXPECT_EQ(r.status, 404);
    EXPECT_TRUE(message_of(r).starts_with("Partition not found. ")) << target << " " << r.body;
    EXPECT_NE(message_of(r).find("'one'"), std::string::npos) << r.body;
  }
}

// docs/API.md's examples in order: binary "hello" into orders, then JSON reads of orders.
TEST_F(RestProxyCompatTest, ARecordThatIsNotJsonDoesNotWedgeJsonReaders) {
  ASSERT_EQ(create_topic("orders", 1).status, 201);
  auto send = [&](std::string_view body, const std::map<std::string, std::string>& type) {
    return http_request(port(), "POST", "/topics/orders/partitions/0", body, type).status;
  };
  ASSERT_EQ(send(R"({"records":[{"value":{"n":0}}]})", kJson), 200);
  ASSERT_EQ(send(R"({"records":[{"value":"aGVsbG8="}]})", kBinary), 200);  // "hello"
  ASSERT_EQ(send(R"({"records":[{"value":{"n":2}}]})", kJson), 200);

  simdjson::dom::parser parser;
  auto from0 = http_request(port(), "GET", "/topics/orders/partitions/0/records?offset=0&timeout=0",
                            {}, kAcceptJson);
  ASSERT_EQ(from0.status, 200) << from0.body;
  EXPECT_EQ(parse(parser, from0.body).get_array().size(), 1u);
  EXPECT_EQ(from0.header("x-sluice-next-offset"), "1");
  auto at1 = http_request(port(), "GET", "/topics/orders/partitions/0/records?offset=1&timeout=0",
                          {}, kAcceptJson);
  EXPECT_EQ(at1.status, 422) << at1.body;
  EXPECT_EQ(error_code_of(at1) / 100, 422);
  EXPECT_NE(message_of(at1).find("offset 1"), std::string::npos) << at1.body;
  EXPECT_NE(message_of(at1).find("binary"), std::string::npos) << at1.body;
  EXPECT_NE(message_of(at1).find("offset 2"), std::string::npos) << at1.body;
  auto at2 = http_request(port(), "GET", "/topics/orders/partitions/0/records?offset=2&timeout=0",
                          {}, kAcceptJson);
  ASSERT_EQ(at2.status, 200) << at2.body;

  const auto path = json_consumer("g-orders", "orders");
  EXPECT_EQ(fetched_offsets(path), (std::vector<int64_t>{0}));
  int status = 0;
  fetched_offsets(path, &status);
  EXPECT_EQ(status, 422);
  ASSERT_EQ(http_request(port(), "POST", path + "/positions",
                         R"({"offsets":[{"topic":"orders","partition":0,"offset":2}]})", kV2)
                .status,
            204);
  EXPECT_EQ(fetched_offsets(path), (std::vector<int64_t>{2}));
}

TEST_F(RestProxyCompatTest, V1MediaTypesAreRefusedEverywhere) {
  const auto says_v2_and_v3 = [](const HttpResponse& r) {
    const auto m = message_of(r);
    return m.find("v2") != std::string::npos && m.find("v3") != std::string::npos;
  };
  for (const char* type : {"application/vnd.kafka.binary.v1+json",
                           "application/vnd.kafka.json.v1+json", "application/vnd.kafka.v1+json"}) {
    auto produce = http_request(port(), "POST", "/topics/v1t", R"({"records":[{"value":"AA=="}]})",
                                {{"Content-Type", type}});
    EXPECT_EQ(produce.status, 415) << type << " " << produce.body;
    EXPECT_TRUE(says_v2_and_v3(produce)) << produce.body;
    auto consumer =
        http_request(port(), "POST", "/consumers/g1", R"({"name":"c"})", {{"Content-Type", type}});
    EXPECT_EQ(consumer.status, 415) << type << " " << consumer.body;
    auto accept = http_request(port(), "GET", "/topics", {}, {{"Accept", type}});
    EXPECT_EQ(accept.status, 415) << type << " " << accept.body;
    EXPECT_TRUE(says_v2_and_v3(accept)) << accept.body;
  }
  EXPECT_EQ(http_request(port(), "GET", "/topics").body, "[]");
}

// Every `self` and `related` link of every v3 answer leads somewhere.
TEST_F(RestProxyCompatTest, EveryV3LinkResolves) {
  ASSERT_EQ(create_topic("linked", 2).status, 201);
  ASSERT_EQ(http_request(port(), "POST", "/topics/linked/partitions/0",
                         R"({"records":[{"value":1}]})", kJson)
                .status,
            200);
  const auto path = json_consumer("g-links", "linked");
  fetched_offsets(path);
  ASSERT_EQ(http_request(port(), "POST", path + "/offsets", {}, kV2).status, 200);

  // No answer links to a group's lags (as in REST Proxy), so they are a second start.
  std::deque<std::string> unvisited = {"/v3/clusters", v3("/consumer-groups/g-links/lags")};
  std::set<std::string> seen(unvisited.begin(), unvisited.end());
  simdjson::dom::parser parser;
  while (!unvisited.empty()) {
    const std::string target = unvisited.front();
    unvisited.pop_front();
    auto r = http_request(port(), "GET", target);
    ASSERT_EQ(r.status, 200) << target << " " << r.body;
    std::vector<simdjson::dom::element> stack = {parse(parser, r.body)};
    std::vector<std::string> links;
    while (!stack.empty()) {
      auto e = stack.back();
      stack.pop_back();
      if (e.is_array()) {
        for (auto child : e.get_array()) stack.push_back(child);
      } else if (e.is_object()) {
        for (auto [key, value] : e.get_object()) {
          std::string_view url;
          if ((key == "self" || key == "related") && !value.get_string().get(url)) {
            links.emplace_back(url);
          } else {
            stack.push_back(value);
          }
        }
      }
    }
    for (const auto& url : links) {
      const auto start = url.find("/v3/");
      ASSERT_NE(start, std::string::npos) << url;
      if (seen.insert(url.substr(start)).second) unvisited.push_back(url.substr(start));
    }
  }
  EXPECT_TRUE(seen.contains(v3("/consumer-groups/g-links/lag-summary")));
  EXPECT_TRUE(seen.contains(v3("/consumer-groups/g-links/lags/linked/partitions/0")));
  EXPECT_GT(seen.size(), 15u);
}

TEST_F(RestProxyCompatTest, TopicChangesAreLogged) {
  ASSERT_EQ(create_topic("audited", 3).status, 201);
  ASSERT_EQ(http_request(port(), "PUT", v3("/topics/audited/configs/retention.ms"),
                         R"({"value":"60000"})", kV3Json)
                .status,
            204);
  ASSERT_EQ(http_request(port(), "DELETE", v3("/topics/audited")).status, 204);
  // The broker writes its log asynchronously to the pipe; give it a moment to arrive.
  std::string out;
  for (int i = 0; i < 100; ++i) {
    out = broker_.output();
    if (out.find("deleted topic 'audited'") != std::string::npos) break;
    http_request(port(), "GET", "/healthz");
  }
  EXPECT_NE(out.find("created topic 'audited' with 3 partitions"), std::string::npos) << out;
  EXPECT_NE(out.find("topic 'audited' config: retention.ms=60000"), std::string::npos) << out;
  EXPECT_NE(out.find("deleted topic 'audited'"), std::string::npos) << out;
}

TEST(Iso8601Test, ParsesTimesAsRestProxySendsThem) {
  using net::consumer_body::parse_iso8601_ms;
  constexpr int64_t kBase = 1796529697000;  // 2026-12-06T04:01:37Z
  EXPECT_EQ(parse_iso8601_ms("2026-12-06T04:01:37Z"), kBase);
  EXPECT_EQ(parse_iso8601_ms("2026-12-06T04:01:37.823Z"), kBase + 823);
  EXPECT_EQ(parse_iso8601_ms("2026-12-06T04:01:37.8Z"), kBase + 800);
  EXPECT_EQ(parse_iso8601_ms("2026-12-06T04:01:37.823456789Z"), kBase + 823);
  EXPECT_EQ(parse_iso8601_ms("2026-12-06T05:01:37.823+01:00"), kBase + 823);
  EXPECT_EQ(parse_iso8601_ms("2026-12-05T22:31:37-05:30"), kBase);
  EXPECT_EQ(parse_iso8601_ms("1970-01-01T00:00:00Z"), 0);
  for (const char* bad :
       {"", "2026-12-06", "2026-12-06T04:01:37", "2026-13-06T04:01:37Z", "2026-02-30T04:01:37Z",
        "2026-12-06T24:00:00Z", "2026-12-06T04:01:37.Z", "2026-12-06T04:01:37+0100",
        "2026-12-06T04:01:37Zjunk", "yesterday", "2026-12-06 04:01:37Z"}) {
    EXPECT_EQ(parse_iso8601_ms(bad), std::nullopt) << bad;
  }
}

TEST(ConfigHelpTest, MaxConnectionsSaysWhatHappensPastTheLimit) {
  const auto docs = config::broker_key_docs();
  auto it = std::find_if(docs.begin(), docs.end(),
                         [](const auto& d) { return d.name == "max.connections"; });
  ASSERT_NE(it, docs.end());
  EXPECT_NE(it->doc.find("503"), std::string_view::npos) << it->doc;
  EXPECT_NE(it->doc.find("50301"), std::string_view::npos) << it->doc;
  EXPECT_NE(it->doc.find("closed"), std::string_view::npos) << it->doc;
}

}  // namespace
}  // namespace sluice::testing
