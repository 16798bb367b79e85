// Fetch and offset lookups: formats, offsets by time, parameter errors, odd requests.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "tests/net/api_test_util.h"
#include "tests/net/broker_process.h"

namespace sluice::testing {
namespace {

class FetchApiTest : public ::testing::Test {
 protected:
  uint16_t port() const { return broker_.port(); }
  void produce(std::string_view topic, std::string_view body,
               const std::map<std::string, std::string>& headers = kJson) {
    auto r = http_request(port(), "POST", "/topics/" + std::string(topic), body, headers);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  HttpResponse get(const std::string& target,
                   const std::map<std::string, std::string>& headers = {}) {
    return http_request(port(), "GET", target, {}, headers);
  }

  BrokerProcess broker_;
  simdjson::dom::parser parser_;
};

TEST_F(FetchApiTest, OffsetsByTimestamp) {
  produce("t", R"({"records":[{"value":0,"timestamp":1000},{"value":1,"timestamp":2000}]})");
  produce("t", R"({"records":[{"value":2,"timestamp":3000}]})");
  const std::pair<std::string, int64_t> cases[] = {
      {"-1", 3},   {"-2", 0},   {"0", 0},    {"1000", 0}, {"1500", 1},
      {"2000", 1}, {"2500", 2}, {"3000", 2}, {"3001", 3},
  };
  for (const auto& [ts, offset] : cases) {
    auto r = get("/topics/t/partitions/0/offsets?timestamp=" + ts);
    ASSERT_EQ(r.status, 200) << ts << " " << r.body;
    auto doc = parse(parser_, r.body);
    EXPECT_EQ(int64_t(doc["offset"]), offset) << "timestamp " << ts;
  }
  for (const char* bad : {"-3", "abc", "", "1e3"}) {
    auto r = get(std::string("/topics/t/partitions/0/offsets?timestamp=") + bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(error_code_of(r), 40003) << bad << " " << r.body;
  }
}

TEST_F(FetchApiTest, QueryParameterErrorsNameTheParameter) {
  produce("q", R"({"records":[{"value":1}]})");
  auto missing = get("/topics/q/partitions/0/records?timeout=0");
  EXPECT_EQ(error_code_of(missing), 40002);
  EXPECT_NE(missing.body.find("offset"), std::string::npos);
  for (const char* query : {"offset=x", "offset=0&timeout=-1", "offset=0&timeout=abc",
                            "offset=0&max_bytes=0", "offset=0&min_bytes=-5", "offset=%zz"}) {
    auto r = get(std::string("/topics/q/partitions/0/records?") + query);
    EXPECT_EQ(r.status, 400) << query;
    const auto code = error_code_of(r);
    EXPECT_TRUE(code == 40003 || code == 400) << query << " " << r.body;
  }
}

TEST_F(FetchApiTest, AcceptSelectsTheFormat) {
  produce("f", R"({"records":[{"key":"k","value":{"x":1}}]})");
  const std::string target = "/topics/f/partitions/0/records?offset=0&timeout=0";
  for (const char* accept :
       {"*/*", "application/vnd.kafka.binary.v2+json", "text/html, application/*;q=0.5"}) {
    auto r = get(target, {{"Accept", accept}});
    ASSERT_EQ(r.status, 200) << accept;
    EXPECT_EQ(r.header("content-type"), "application/vnd.kafka.binary.v2+json") << accept;
    EXPECT_EQ(std::string_view(parse(parser_, r.body).at(0)["value"]), "eyJ4IjoxfQ==");
  }
  auto json = get(target, kAcceptJson);
  EXPECT_EQ(simdjson::to_string(parse(parser_, json.body).at(0)["value"]), R"({"x":1})");
  auto refused = get(target, {{"Accept", "text/html"}});
  EXPECT_EQ(refused.status, 406);
  EXPECT_EQ(error_code_of(refused), 406);
}

// Not 408: clients retry a timeout forever, and would never get past the record.
TEST_F(FetchApiTest, NonJsonFirstRecordFetchedAsJsonIs42207) {
  produce("nj", R"({"records":[{"value":"bm90IGpzb24="}]})", kBinary);  // "not json"
  auto r = get("/topics/nj/partitions/0/records?offset=0&timeout=0", kAcceptJson);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_code_of(r), 42207);
  EXPECT_NE(r.body.find("offset 0 of nj-0"), std::string::npos) << r.body;
  EXPECT_EQ(get("/topics/nj/partitions/0/records?offset=0&timeout=0").status, 200);
}

TEST_F(FetchApiTest, MaxBytesBoundsTheReplyAndNextOffsetAdvances) {
  for (int i = 0; i < 5; ++i)
    produce("mb", R"({"records":[{"value":")" + std::string(200, 'a') + R"("}]})");
  auto r = get("/topics/mb/partitions/0/records?offset=0&timeout=0&max_bytes=300", kAcceptRaw);
  ASSERT_EQ(r.status, 200);
  const int64_t next = std::stoll(r.header("x-sluice-next-offset"));
  EXPECT_GE(next, 1);
  EXPECT_LT(next, 5);
  EXPECT_EQ(r.header("x-sluice-high-watermark"), "5");
  EXPECT_EQ(r.header("x-sluice-log-start-offset"), "0");
}

TEST_F(FetchApiTest, GetWithABodyIsServed) {
  produce("gb", R"({"records":[{"value":1}]})");
  auto r = http_request(port(), "GET", "/topics/gb/partitions/0/offsets", "ignored body",
                        {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"beginning_offset":0,"end_offset":1})");
}

TEST_F(FetchApiTest, HeadAnswersWithoutABody) {
  HttpConnection connection(port());
  auto head = connection.request("HEAD", "/healthz");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  // The connection is still in step: the next reply is read whole.
  auto next = connection.request("GET", "/healthz");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, R"({"status":"ok"})");
}

}  // namespace
}  // namespace sluice::testing
