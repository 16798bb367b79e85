// End-to-end behaviour of the HTTP API against the real binary.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <future>
#include <string>

#include "tests/net/broker_process.h"
#include "tests/net/http_client.h"

namespace sluice::testing {
namespace {

const std::map<std::string, std::string> kJson = {
    {"Content-Type", "application/vnd.kafka.json.v2+json"}};
const std::map<std::string, std::string> kBinary = {
    {"Content-Type", "application/vnd.kafka.binary.v2+json"}};

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& body) {
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(body).get(doc), simdjson::SUCCESS) << body;
  return doc;
}

class HttpApiTest : public ::testing::Test {
 protected:
  BrokerProcess broker_;
  uint16_t port() const { return broker_.port(); }
};

TEST_F(HttpApiTest, HealthAndReadinessAnswer) {
  EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(http_request(port(), "GET", "/readyz").status, 200);
  EXPECT_EQ(http_request(port(), "GET", "/status/ready").status, 200);
}

TEST_F(HttpApiTest, RecoveryReportAndMetricsAreServed) {
  auto report = http_request(port(), "GET", "/v1/recovery");
  ASSERT_EQ(report.status, 200);
  EXPECT_NE(report.body.find("\"partitions\""), std::string::npos) << report.body;
  auto metrics = http_request(port(), "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("sluice_recovery_partitions_done"), std::string::npos);
  EXPECT_NE(
      metrics.body.find("sluice_http_requests_total{route=\"/v1/recovery\",status=\"200\"} 1"),
      std::string::npos)
      << metrics.body;
}

TEST_F(HttpApiTest, ProduceJsonThenFetchInEveryFormat) {
  auto produced = http_request(
      port(), "POST", "/topics/orders",
      R"({"records":[{"key":"k1","value":{"n":1}},{"value":[1,2]},{"key":null,"value":"s"}]})",
      kJson);
  ASSERT_EQ(produced.status, 200) << produced.body;
  simdjson::dom::parser parser;
  auto doc = parse(parser, produced.body);
  auto offsets = doc["offsets"].get_array();
  ASSERT_EQ(offsets.size(), 3u);
  int64_t expected = 0;
  for (auto o : offsets) EXPECT_EQ(int64_t(o["offset"]), expected++);

  auto json = http_request(port(), "GET", "/topics/orders/partitions/0/records?offset=1&timeout=0",
                           {}, {{"Accept", "application/vnd.kafka.json.v2+json"}});
  ASSERT_EQ(json.status, 200) << json.body;
  auto records = parse(parser, json.body).get_array();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(int64_t(records.at(0)["offset"]), 1);
  EXPECT_EQ(simdjson::to_string(records.at(0)["value"]), "[1,2]");
  EXPECT_EQ(json.header("x-sluice-next-offset"), "3");
  EXPECT_EQ(json.header("x-sluice-high-watermark"), "3");

  auto binary =
      http_request(port(), "GET", "/topics/orders/partitions/0/records?offset=0&timeout=0", {},
                   {{"Accept", "application/vnd.kafka.binary.v2+json"}});
  ASSERT_EQ(binary.status, 200);
  auto first = parse(parser, binary.body).at(0);
  EXPECT_EQ(std::string_view(first["key"]), "ImsxIg==");  // base64 of "k1" with its quotes
  EXPECT_EQ(std::string_view(first["value"]), "eyJuIjoxfQ==");

  auto raw = http_request(port(), "GET", "/topics/orders/partitions/0/records?offset=0&timeout=0",
                          {}, {{"Accept", "application/vnd.sluice.batch"}});
  ASSERT_EQ(raw.status, 200);
  EXPECT_EQ(raw.header("content-type"), "application/vnd.sluice.batch");
  EXPECT_NE(raw.body.find("[1,2]"), std::string::npos);
  EXPECT_NE(raw.body.find("{\"n\":1}"), std::string::npos);
}

TEST_F(HttpApiTest, BinaryProduceKeepsBytesAndHeadersExactly) {
  // "\x00\xff" and an empty value, a header with a binary value.
  auto produced = http_request(
      port(), "POST", "/topics/bin/partitions/0",
      R"({"records":[{"key":"AP8=","value":"","headers":[{"name":"h","value":"AQI="}]}]})",
      kBinary);
  ASSERT_EQ(produced.status, 200) << produced.body;
  auto fetched = http_request(port(), "GET", "/topics/bin/partitions/0/records?offset=0&timeout=0");
  ASSERT_EQ(fetched.status, 200);
  simdjson::dom::parser parser;
  auto r = parse(parser, fetched.body).at(0);
  EXPECT_EQ(std::string_view(r["key"]), "AP8=");
  EXPECT_EQ(std::string_view(r["value"]), "");
  EXPECT_EQ(std::string_view(r["headers"].at(0)["name"]), "h");
  EXPECT_EQ(std::string_view(r["headers"].at(0)["value"]), "AQI=");
}

TEST_F(HttpApiTest, LongPollReturnsAsSoonAsARecordArrives) {
  ASSERT_EQ(
      http_request(port(), "POST", "/topics/lp", R"({"records":[{"value":1}]})", kJson).status,
      200);
  const auto start = std::chrono::steady_clock::now();
  auto waiting = std::async(std::launch::async, [&] {
    return http_request(port(), "GET", "/topics/lp/partitions/0/records?offset=1&timeout=20000");
  });
  // The fetch is parked at the end offset; this produce must wake it.
  ASSERT_EQ(waiting.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  ASSERT_EQ(
      http_request(port(), "POST", "/topics/lp", R"({"records":[{"value":2}]})", kJson).status,
      200);
  auto fetched = waiting.get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_EQ(fetched.status, 200);
  simdjson::dom::parser parser;
  auto records = parse(parser, fetched.body).get_array();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(int64_t(records.at(0)["offset"]), 1);
}

TEST_F(HttpApiTest, LongPollReturnsEmptyAfterTheTimeout) {
  ASSERT_EQ(
      http_request(port(), "POST", "/topics/idle", R"({"records":[{"value":1}]})", kJson).status,
      200);
  const auto start = std::chrono::steady_clock::now();
  auto fetched =
      http_request(port(), "GET", "/topics/idle/partitions/0/records?offset=1&timeout=300");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
  ASSERT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.body, "[]");
}

TEST_F(HttpApiTest, OutOfRangeOffsetNamesTheValidRange) {
  ASSERT_EQ(http_request(port(), "POST", "/topics/r", R"({"records":[{"value":1}]})", kJson).status,
            200);
  for (const char* offset : {"-1", "2", "99"}) {
    auto r = http_request(port(), "GET",
                          std::string("/topics/r/partitions/0/records?timeout=0&offset=") + offset);
    EXPECT_EQ(r.status, 416) << offset;
    EXPECT_NE(r.body.find("valid offsets are [0, 1]"), std::string::npos) << r.body;
  }
  auto missing = http_request(port(), "GET", "/topics/r/partitions/0/records");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("40002"), std::string::npos);
}

TEST_F(HttpApiTest, BadTopicNamesNeverReachTheDisk) {
  for (const char* target :
       {"/topics/..", "/topics/%2e%2e", "/topics/a%2Fb", "/topics/..%2F..%2Fetc"}) {
    auto r = http_request(port(), "POST", target, R"({"records":[{"value":1}]})", kJson);
    EXPECT_EQ(r.status, 400) << target << " " << r.body;
  }
  auto long_name = http_request(port(), "POST", "/topics/" + std::string(250, 'a'),
                                R"({"records":[{"value":1}]})", kJson);
  EXPECT_EQ(long_name.status, 400);
  EXPECT_EQ(http_request(port(), "GET", "/topics").body, "[]");
}

TEST_F(HttpApiTest, MalformedBodiesGetPreciseErrors) {
  auto bad_json = http_request(port(), "POST", "/topics/e", "{\"records\":[", kJson);
  EXPECT_EQ(bad_json.status, 400);
  auto not_produce = http_request(port(), "POST", "/topics/e", "[1,2]", kJson);
  EXPECT_EQ(not_produce.status, 422);
  auto bad_base64 =
      http_request(port(), "POST", "/topics/e", R"({"records":[{"value":"!!"}]})", kBinary);
  EXPECT_EQ(bad_base64.status, 422);
  EXPECT_NE(bad_base64.body.find("records[0].value"), std::string::npos) << bad_base64.body;
  auto bad_type = http_request(port(), "POST", "/topics/e",
                               R"({"records":[{"value":1,"partition":"x"}]})", kJson);
  EXPECT_EQ(bad_type.status, 422);
  EXPECT_NE(bad_type.body.find("42203"), std::string::npos);
  auto media = http_request(port(), "POST", "/topics/e", R"({"records":[]})",
                            {{"Content-Type", "text/plain"}});
  EXPECT_EQ(media.status, 415);
  auto unknown_partition =
      http_request(port(), "POST", "/topics/e/partitions/7", R"({"records":[{"value":1}]})", kJson);
  EXPECT_EQ(unknown_partition.status, 404);
  EXPECT_NE(unknown_partition.body.find("40402"), std::string::npos);
}

TEST_F(HttpApiTest, SlowClientIsDroppedWhileOthersAreServed) {
  BrokerProcess::Options options;
  options.sets = {"http.read.timeout.ms=300", "connections.idle.timeout.ms=300"};
  BrokerProcess slow_broker(options);
  auto half = std::async(std::launch::async, [&] {
    return raw_exchange(slow_broker.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n", 10000);
  });
  EXPECT_EQ(http_request(slow_broker.port(), "GET", "/healthz").status, 200);
  const auto start = std::chrono::steady_clock::now();
  half.get();  // returns when the broker closes the connection
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(HttpApiTest, RestartAfterSigtermServesAllData) {
  ASSERT_EQ(http_request(port(), "POST", "/topics/keep", R"({"records":[{"value":1},{"value":2}]})",
                         kJson)
                .status,
            200);
  EXPECT_EQ(broker_.terminate(), 0);
  broker_.restart();
  auto offsets = http_request(port(), "GET", "/topics/keep/partitions/0/offsets");
  EXPECT_EQ(offsets.body, R"({"beginning_offset":0,"end_offset":2})");
}

}  // namespace
}  // namespace sluice::testing
