// Produce paths: REST Proxy v2 and v3 records, raw batches, partitioning, acks, timestamps
// and batch splitting, with their documented errors.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <xxhash.h>

#include <filesystem>
#include <string>
#include <vector>

#include "segment/batch.h"
#include "segment/layout.h"
#include "tests/disk_blocks.h"
#include "tests/net/api_test_util.h"
#include "tests/net/broker_process.h"
#include "tests/page_cache.h"

namespace sluice::testing {
namespace {

const std::map<std::string, std::string> kRawContent = {
    {"Content-Type", "application/vnd.sluice.batch"}};

std::string batch_bytes(const std::vector<segment::RecordInput>& records) {
  segment::BatchBuilder builder;
  builder.reset();
  for (const auto& r : records) builder.add(r);
  auto bytes = builder.finish();
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// The batches of a raw fetch reply, in order.
std::vector<segment::BatchHeader> batches_of(const std::string& body) {
  std::vector<segment::BatchHeader> out;
  auto span = std::as_bytes(std::span(body));
  while (!span.empty()) {
    auto header = segment::validate_batch(span);
    EXPECT_TRUE(header.has_value()) << "corrupt batch at byte " << body.size() - span.size();
    if (!header) break;
    out.push_back(*header);
    span = span.subspan(header->size_bytes());
  }
  return out;
}

// Every produce test runs with acks=all batches written from the network threads into the page
// cache, and handed to the flusher to write directly (log.direct.io).
class ProduceApiTest : public ::testing::TestWithParam<bool> {
 protected:
  static BrokerProcess::Options options() {
    BrokerProcess::Options o;
    o.sets = {std::string("log.direct.io=") + (GetParam() ? "true" : "false")};
    return o;
  }

  void SetUp() override { cluster_ = cluster_id(port()); }
  uint16_t port() const { return broker_.port(); }
  std::string v3(std::string_view rest) const {
    return "/v3/clusters/" + cluster_ + std::string(rest);
  }
  void create_topic(std::string_view name, int partitions, std::string_view configs = "[]") {
    auto r = http_request(port(), "POST", v3("/topics"),
                          "{\"topic_name\":\"" + std::string(name) +
                              "\",\"partitions_count\":" + std::to_string(partitions) +
                              ",\"configs\":" + std::string(configs) + "}",
                          kV3Json);
    ASSERT_EQ(r.status, 201) << r.body;
  }
  HttpResponse fetch(std::string_view topic, int partition, int64_t offset,
                     const std::map<std::string, std::string>& headers = {}) {
    return http_request(port(), "GET",
                        "/topics/" + std::string(topic) + "/partitions/" +
                            std::to_string(partition) +
                            "/records?timeout=0&offset=" + std::to_string(offset),
                        {}, headers);
  }

  BrokerProcess broker_{options()};
  std::string cluster_;
  simdjson::dom::parser parser_;
};

TEST_P(ProduceApiTest, V3SingleRecordWithEveryDataTypeAndHeaders) {
  auto r = http_request(port(), "POST", v3("/topics/v3/records"),
                        R"({"partition_id":0,"headers":[{"name":"h1","value":"AQI="}],)"
                        R"("key":{"type":"BINARY","data":"AP8="},)"
                        R"("value":{"type":"JSON","data":{"a":[1,2]}},"timestamp":1700000000123})",
                        {{"Content-Type", "application/json; charset=utf-8"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto report = parse(parser_, r.body);
  EXPECT_EQ(int64_t(report["error_code"]), 200);
  EXPECT_EQ(std::string_view(report["topic_name"]), "v3");
  EXPECT_EQ(int64_t(report["partition_id"]), 0);
  EXPECT_EQ(int64_t(report["offset"]), 0);
  EXPECT_EQ(std::string_view(report["timestamp"]), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(int64_t(report["key"]["size"]), 2);

  auto s = http_request(
      port(), "POST", v3("/topics/v3/records"),
      R"({"key":{"type":"STRING","data":"k\u00e9"},"value":{"type":"STRING","data":"v\n"}})",
      kV3Json);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(int64_t(parse(parser_, s.body)["offset"]), 1);

  auto fetched = fetch("v3", 0, 0);
  ASSERT_EQ(fetched.status, 200);
  auto records = parse(parser_, fetched.body).get_array();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(std::string_view(records.at(0)["key"]), "AP8=");
  EXPECT_EQ(std::string_view(records.at(0)["value"]), "eyJhIjpbMSwyXX0=");  // {"a":[1,2]}
  EXPECT_EQ(int64_t(records.at(0)["timestamp"]), 1700000000123);
  EXPECT_EQ(std::string_view(records.at(0)["headers"].at(0)["name"]), "h1");
  EXPECT_EQ(std::string_view(records.at(0)["headers"].at(0)["value"]), "AQI=");
  EXPECT_EQ(std::string_view(records.at(1)["key"]), "a8Op");  // "ké" in UTF-8
  EXPECT_EQ(std::string_view(records.at(1)["value"]), "dgo=");
}

TEST_P(ProduceApiTest, V3ConcatenatedRecordsGetOneReportEachInOrder) {
  auto r = http_request(port(), "POST", v3("/topics/many/records"),
                        R"({"value":{"type":"JSON","data":1}}{"value":{"type":"JSON","data":2}})"
                        "\n"
                        R"({"value":{"type":"STRING","data":"three"}})",
                        kV3Json);
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<int64_t> offsets;
  size_t start = 0;
  while (start < r.body.size()) {
    const auto end = r.body.find('\n', start);
    auto report = parse(parser_, r.body.substr(start, end - start));
    EXPECT_EQ(int64_t(report["error_code"]), 200);
    offsets.push_back(int64_t(report["offset"]));
    start = end + 1;
  }
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 1, 2}));
}

TEST_P(ProduceApiTest, V3ChunkedStreamIsAnsweredPerRecord) {
  RawSocket socket(port());
  const std::string records[] = {R"({"value":{"type":"JSON","data":"a"}})",
                                 R"({"value":{"type":"JSON","data":"b"}})"};
  std::string request = "POST " + v3("/topics/chunked/records") +
                        " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  for (const auto& record : records) {
    char size[16];
    std::snprintf(size, sizeof(size), "%zx\r\n", record.size());
    request += size + record + "\r\n";
  }
  request += "0\r\n\r\n";
  socket.send(request);
  ASSERT_TRUE(socket.closed_within(10000));
  const auto reply = socket.read_until("", 0);
  EXPECT_NE(reply.find("HTTP/1.1 200"), std::string::npos) << reply;
  EXPECT_NE(reply.find(R"("offset":0)"), std::string::npos) << reply;
  EXPECT_NE(reply.find(R"("offset":1)"), std::string::npos) << reply;
}

TEST_P(ProduceApiTest, V3StreamReportsEachRecordBeforeTheStreamEnds) {
  RawSocket socket(port());
  auto chunk = [](std::string_view data) {
    char size[16];
    std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
    return size + std::string(data) + "\r\n";
  };
  socket.send("POST " + v3("/topics/live/records") +
              " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              "Transfer-Encoding: chunked\r\n\r\n");
  // The first report must arrive while the request is still open.
  socket.send(chunk(R"({"value":{"type":"STRING","data":"one"}})"));
  auto reply = socket.read_until(R"("offset":0)", 10000);
  ASSERT_NE(reply.find(R"("offset":0)"), std::string::npos) << reply;
  EXPECT_NE(reply.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(reply.find("chunked"), std::string::npos);
  // A record split across chunks, with braces and an escaped quote inside its string.
  socket.send(chunk(R"({"value":{"type":"STRING","data":"t{w\"o)"));
  socket.send(chunk(R"(}"}} {"value":{"type":"JSON","data":[3]}})"));
  reply = socket.read_until(R"("offset":2)", 10000);
  EXPECT_NE(reply.find(R"("offset":1)"), std::string::npos) << reply;
  EXPECT_NE(reply.find(R"("offset":2)"), std::string::npos) << reply;
  // An unfinished record at the end of the stream gets an error report.
  socket.send(chunk(R"({"value":)"));
  socket.send("0\r\n\r\n");
  reply = socket.read_until("\r\n0\r\n\r\n", 10000);
  EXPECT_NE(reply.find(R"("error_code":40001)"), std::string::npos) << reply;
  auto fetched =
      http_request(port(), "GET", "/topics/live/partitions/0/records?offset=0&timeout=0");
  auto records = parse(parser_, fetched.body).get_array();
  ASSERT_EQ(records.size(), 3u) << fetched.body;
  EXPECT_EQ(std::string_view(records.at(1)["value"]), "dHt3Im99");  // base64 of t{w"o}
}

TEST_P(ProduceApiTest, V3RejectsBadInput) {
  auto wrong_type = http_request(port(), "POST", v3("/topics/bad/records"),
                                 R"({"partition_id":"zero","value":null})", kV3Json);
  EXPECT_EQ(wrong_type.status, 422);
  EXPECT_EQ(error_code_of(wrong_type), 42203);
  auto bad_base64 = http_request(port(), "POST", v3("/topics/bad/records"),
                                 R"({"value":{"type":"BINARY","data":"%%%"}})", kV3Json);
  EXPECT_EQ(error_code_of(bad_base64), 42206);
  auto media = http_request(port(), "POST", v3("/topics/bad/records"), R"({"value":null})", kJson);
  EXPECT_EQ(media.status, 415);
  EXPECT_EQ(error_code_of(media), 415);
  auto empty = http_request(port(), "POST", v3("/topics/bad/records"), "", kV3Json);
  EXPECT_EQ(empty.status, 422);
  EXPECT_EQ(http_request(port(), "GET", "/topics").body, "[]");
}

TEST_P(ProduceApiTest, RawBatchRoundTripsByteForByte) {
  const segment::HeaderView headers[] = {{"h", std::string_view("\x00\x01", 2)}};
  const std::string first =
      batch_bytes({{"k1", "v1", headers, 1700000000001},
                   {std::nullopt, std::string_view("\xff\x00", 2), {}, 1700000000002}});
  std::string second = batch_bytes({{"k3", std::nullopt, {}, 1700000000003}});
  auto produced =
      http_request(port(), "POST", "/topics/raw/partitions/0/records", first + second, kRawContent);
  ASSERT_EQ(produced.status, 200) << produced.body;
  auto report = parse(parser_, produced.body);
  EXPECT_EQ(int64_t(report["batches"].at(0)["base_offset"]), 0);
  EXPECT_EQ(int64_t(report["batches"].at(0)["last_offset"]), 1);
  EXPECT_EQ(int64_t(report["batches"].at(1)["base_offset"]), 2);

  auto raw = fetch("raw", 0, 0, kAcceptRaw);
  ASSERT_EQ(raw.status, 200);
  EXPECT_EQ(raw.header("content-type"), "application/vnd.sluice.batch");
  EXPECT_EQ(raw.header("x-sluice-next-offset"), "3");
  segment::stamp_batch(std::as_writable_bytes(std::span(second)), Offset{2}, 0);
  EXPECT_TRUE(raw.body == first + second) << "fetched " << raw.body.size() << " bytes";

  // From inside a batch: raw returns the whole batch, JSON formats start at the offset.
  auto inside_raw = fetch("raw", 0, 1, kAcceptRaw);
  EXPECT_EQ(batches_of(inside_raw.body).front().base_offset.value, 0);
  auto inside = fetch("raw", 0, 1);
  auto records = parse(parser_, inside.body).get_array();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(int64_t(records.at(0)["offset"]), 1);
  EXPECT_EQ(std::string_view(records.at(0)["value"]), "/wA=");
  EXPECT_EQ(int64_t(records.at(1)["timestamp"]), 1700000000003);
  EXPECT_TRUE(records.at(1)["value"].is_null());
}

TEST_P(ProduceApiTest, RawBatchErrors) {
  auto corrupt = batch_bytes({{"k", "v", {}, 1}});
  corrupt[corrupt.size() - 1] ^= 0x5a;
  auto r =
      http_request(port(), "POST", "/topics/rawbad/partitions/0/records", corrupt, kRawContent);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_code_of(r), 42206);
  auto empty = http_request(port(), "POST", "/topics/rawbad/partitions/0/records", "", kRawContent);
  EXPECT_EQ(empty.status, 422);
  // No timestamp (-1): recovery would take the batch for damage, so it is never stored.
  auto untimed = http_request(port(), "POST", "/topics/rawbad/partitions/0/records",
                              batch_bytes({{"k", "v", {}, -1}}), kRawContent);
  EXPECT_EQ(untimed.status, 422);
  EXPECT_EQ(error_code_of(untimed), 42206);
  EXPECT_NE(untimed.body.find("batch timestamp is negative"), std::string::npos) << untimed.body;
  auto media = http_request(port(), "POST", "/topics/rawbad/partitions/0/records",
                            batch_bytes({{"k", "v", {}, 1}}), kJson);
  EXPECT_EQ(media.status, 415);
  // A rejected request must not create the topic as a side effect.
  EXPECT_EQ(http_request(port(), "GET", "/topics").body, "[]");
}

TEST_P(ProduceApiTest, KeyedRecordsHashAndNullKeysRoundRobin) {
  create_topic("hashed", 4);
  const std::string keys[] = {"alpha", "beta", "gamma", "delta", "epsilon"};
  std::string body = R"({"records":[)";
  for (const auto& k : keys) {
    std::string b64;
    // base64 of short ASCII keys, computed by hand to keep the test independent of the codec.
    if (k == "alpha") b64 = "YWxwaGE=";
    if (k == "beta") b64 = "YmV0YQ==";
    if (k == "gamma") b64 = "Z2FtbWE=";
    if (k == "delta") b64 = "ZGVsdGE=";
    if (k == "epsilon") b64 = "ZXBzaWxvbg==";
    body += R"({"key":")" + b64 + R"(","value":"AA=="},)";
  }
  body.back() = ']';
  body += '}';
  auto r = http_request(port(), "POST", "/topics/hashed", body, kBinary);
  ASSERT_EQ(r.status, 200) << r.body;
  auto offsets = parse(parser_, r.body)["offsets"].get_array();
  ASSERT_EQ(offsets.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    const auto expected = XXH3_64bits(keys[i].data(), keys[i].size()) % 4;
    EXPECT_EQ(uint64_t(int64_t(offsets.at(i)["partition"])), expected) << keys[i];
  }

  auto nulls = http_request(port(), "POST", "/topics/hashed",
                            R"({"records":[{"value":1},{"value":2},{"value":3},{"value":4},)"
                            R"({"value":5},{"value":6},{"value":7},{"value":8}]})",
                            kJson);
  ASSERT_EQ(nulls.status, 200);
  int per_partition[4] = {};
  for (auto o : parse(parser_, nulls.body)["offsets"].get_array()) {
    ++per_partition[int64_t(o["partition"])];
  }
  for (int p = 0; p < 4; ++p) EXPECT_EQ(per_partition[p], 2) << "partition " << p;
}

TEST_P(ProduceApiTest, OneRequestForSeveralPartitions) {
  create_topic("multi", 3);
  auto r = http_request(port(), "POST", "/topics/multi",
                        R"({"records":[{"value":"a","partition":0},{"value":"b","partition":2},)"
                        R"({"value":"c","partition":0},{"value":"d","partition":1}]})",
                        kJson);
  ASSERT_EQ(r.status, 200) << r.body;
  auto offsets = parse(parser_, r.body)["offsets"].get_array();
  const int64_t expected[][2] = {{0, 0}, {2, 0}, {0, 1}, {1, 0}};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(int64_t(offsets.at(i)["partition"]), expected[i][0]);
    EXPECT_EQ(int64_t(offsets.at(i)["offset"]), expected[i][1]);
    EXPECT_TRUE(offsets.at(i)["error_code"].is_null());
  }
  auto p0 = parse(parser_, fetch("multi", 0, 0, kAcceptJson).body).get_array();
  ASSERT_EQ(p0.size(), 2u);
  EXPECT_EQ(std::string_view(p0.at(1)["value"]), "c");
  // One request's records for one partition form one batch.
  EXPECT_EQ(batches_of(fetch("multi", 0, 0, kAcceptRaw).body).size(), 1u);
}

TEST_P(ProduceApiTest, RecordsBeyondMaxMessageBytesAreSplitIntoDenseBatches) {
  create_topic("split", 1, R"([{"name":"max.message.bytes","value":"1024"}])");
  std::string body = R"({"records":[)";
  const std::string value(300, 'x');
  for (int i = 0; i < 10; ++i) body += R"({"value":")" + value + R"("},)";
  body.back() = ']';
  body += '}';
  auto r = http_request(port(), "POST", "/topics/split", body, kJson);
  ASSERT_EQ(r.status, 200) << r.body;
  int64_t expected = 0;
  for (auto o : parse(parser_, r.body)["offsets"].get_array()) {
    EXPECT_TRUE(o["error_code"].is_null()) << r.body;
    EXPECT_EQ(int64_t(o["offset"]), expected++);
  }
  auto batches = batches_of(fetch("split", 0, 0, kAcceptRaw).body);
  ASSERT_GT(batches.size(), 1u);
  int64_t next = 0;
  for (const auto& b : batches) {
    EXPECT_EQ(b.base_offset.value, next);
    EXPECT_LE(b.size_bytes(), 1024u);
    next = b.next_offset().value;
  }
  EXPECT_EQ(next, 10);
}

TEST_P(ProduceApiTest, ARecordOverMaxMessageBytesFailsAloneAndTheOthersAreStored) {
  create_topic("big", 2, R"([{"name":"max.message.bytes","value":"1024"}])");
  const std::string huge(3000, 'x');
  auto r = http_request(port(), "POST", "/topics/big",
                        R"({"records":[{"value":"a","partition":0},{"value":")" + huge +
                            R"(","partition":0},{"value":"b","partition":0},)"
                            R"({"value":"c","partition":1}]})",
                        kJson);
  ASSERT_EQ(r.status, 200) << r.body;
  auto offsets = parse(parser_, r.body)["offsets"].get_array();
  ASSERT_EQ(offsets.size(), 4u);
  EXPECT_EQ(int64_t(offsets.at(0)["offset"]), 0);
  EXPECT_TRUE(offsets.at(1)["offset"].is_null()) << r.body;
  EXPECT_FALSE(offsets.at(1)["error_code"].is_null()) << r.body;
  EXPECT_EQ(int64_t(offsets.at(2)["offset"]), 1);
  EXPECT_EQ(int64_t(offsets.at(3)["partition"]), 1);
  EXPECT_EQ(int64_t(offsets.at(3)["offset"]), 0);
  auto p0 = parse(parser_, fetch("big", 0, 0, kAcceptJson).body).get_array();
  ASSERT_EQ(p0.size(), 2u);
  EXPECT_EQ(std::string_view(p0.at(1)["value"]), "b");
}

TEST_P(ProduceApiTest, ExplicitTimestampsComeBack) {
  auto r = http_request(port(), "POST", "/topics/ts",
                        R"({"records":[{"value":1,"timestamp":1600000000000},)"
                        R"({"value":2,"timestamp":"2021-01-01T00:00:00.500Z"}]})",
                        kJson);
  ASSERT_EQ(r.status, 200) << r.body;
  auto records = parse(parser_, fetch("ts", 0, 0, kAcceptJson).body).get_array();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(int64_t(records.at(0)["timestamp"]), 1600000000000);
  EXPECT_EQ(int64_t(records.at(1)["timestamp"]), 1609459200500);
}

TEST_P(ProduceApiTest, EveryAcksLevelStoresTheRecords) {
  int64_t expected = 0;
  for (const char* acks : {"0", "1", "all", "-1"}) {
    auto r = http_request(port(), "POST", std::string("/topics/acks?acks=") + acks,
                          R"({"records":[{"value":1}]})", kJson);
    ASSERT_EQ(r.status, 200) << acks << " " << r.body;
    EXPECT_EQ(int64_t(parse(parser_, r.body)["offsets"].at(0)["offset"]), expected++) << acks;
  }
  auto bad =
      http_request(port(), "POST", "/topics/acks?acks=2", R"({"records":[{"value":1}]})", kJson);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(error_code_of(bad), 40003);
  EXPECT_EQ(http_request(port(), "GET", "/topics/acks/partitions/0/offsets").body,
            R"({"beginning_offset":0,"end_offset":4})");
}

TEST_P(ProduceApiTest, V2ErrorsCarryTheirCodes) {
  auto wrong_type =
      http_request(port(), "POST", "/topics/e", R"({"records":[{"headers":5}]})", kBinary);
  EXPECT_EQ(wrong_type.status, 422);
  EXPECT_EQ(error_code_of(wrong_type), 42203);
  auto records_not_array =
      http_request(port(), "POST", "/topics/e", R"({"records":{"value":1}})", kJson);
  EXPECT_EQ(error_code_of(records_not_array), 42203);
  auto bad_base64 = http_request(port(), "POST", "/topics/e",
                                 R"({"records":[{"key":"a=b","value":""}]})", kBinary);
  EXPECT_EQ(bad_base64.status, 422);
  EXPECT_EQ(error_code_of(bad_base64), 42206);
  auto empty = http_request(port(), "POST", "/topics/e", "", kJson);
  EXPECT_EQ(empty.status, 422);
  EXPECT_EQ(error_code_of(empty), 422);
  auto no_type = http_request(port(), "POST", "/topics/e", R"({"records":[{"value":1}]})");
  EXPECT_EQ(no_type.status, 415);
  EXPECT_EQ(error_code_of(no_type), 415);
  auto headers = kJson;
  headers["Accept"] = "text/html";
  auto not_acceptable =
      http_request(port(), "POST", "/topics/e", R"({"records":[{"value":1}]})", headers);
  EXPECT_EQ(not_acceptable.status, 406);
  EXPECT_EQ(error_code_of(not_acceptable), 406);
  auto plain_json = http_request(port(), "POST", "/topics/e", R"({"records":[{"value":1}]})",
                                 {{"Content-Type", "application/json"}});
  EXPECT_EQ(plain_json.status, 200) << plain_json.body;
}

INSTANTIATE_TEST_SUITE_P(Writes, ProduceApiTest, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Direct" : "PageCache"; });

// log.cache.retain.bytes reaches the partitions: with a window of 0, what acks=all produce made
// durable leaves the page cache (written through it, or direct with log.direct.io), and every
// batch still fetches back.
class ProducePageCacheTest : public ::testing::TestWithParam<bool> {};

TEST_P(ProducePageCacheTest, DurableBytesBehindTheWindowLeaveThePageCacheAndStillFetch) {
  BrokerProcess::Options options;
  options.sets = {"log.cache.retain.bytes=0",
                  std::string("log.direct.io=") + (GetParam() ? "true" : "false")};
  BrokerProcess broker(options);
  if (!page_cache_is_droppable(broker.data_dir())) GTEST_SKIP() << "the data dir is on tmpfs";
  const std::string value(1000, 'x');
  std::string body;
  for (int i = 0; i < 100; ++i) body += batch_bytes({{std::nullopt, value, {}, 1700000000000 + i}});
  for (int request = 0; request < 3; ++request) {
    auto r = http_request(broker.port(), "POST", "/topics/cache/partitions/0/records?acks=all",
                          body, kRawContent);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  const auto pages = cached_pages(broker.data_dir() / "cache-0" /
                                  segment::segment_file_name(Offset{0}, segment::kLogSuffix));
  ASSERT_GT(pages.size(), 64u);  // ~300 KB
  // All but the folio holding the partial page the next append writes into, which writes of
  // 100 KB may make up to 64 KiB (16 pages) long.
  EXPECT_LE(count_cached(pages), 16u);
  EXPECT_EQ(count_cached({pages.begin(), pages.end() - 16}), 0u);

  int64_t offset = 0;
  size_t batches = 0;
  while (offset < 300) {
    auto raw = http_request(
        broker.port(), "GET",
        "/topics/cache/partitions/0/records?timeout=0&offset=" + std::to_string(offset), "",
        kAcceptRaw);
    ASSERT_EQ(raw.status, 200) << raw.body;
    const auto fetched = batches_of(raw.body);
    ASSERT_FALSE(fetched.empty());
    EXPECT_EQ(fetched.front().base_offset.value, offset);
    batches += fetched.size();
    offset = fetched.back().next_offset().value;
  }
  EXPECT_EQ(batches, 300u);
}

INSTANTIATE_TEST_SUITE_P(Writes, ProducePageCacheTest, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Direct" : "PageCache"; });

// log.preallocate reaches the active segment: blocks are reserved ahead of its end while the
// broker runs, the file size is always that of its batches, and a clean stop gives the rest
// back; the records are all there after the restart, and appends reserve again.
TEST(ProducePreallocateTest, ActiveSegmentReservesAheadAndACleanStopGivesItBack) {
  BrokerProcess broker;
  const auto log =
      broker.data_dir() / "pre-0" / segment::segment_file_name(Offset{0}, segment::kLogSuffix);
  const std::string body = batch_bytes({{std::nullopt, std::string(1000, 'x'), {}, 1700000000000}});
  for (int i = 0; i < 3; ++i) {
    auto r =
        http_request(broker.port(), "POST", "/topics/pre/partitions/0/records", body, kRawContent);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  if (allocated_bytes(log) < (4u << 20)) GTEST_SKIP() << "no fallocate on the data dir";
  EXPECT_EQ(std::filesystem::file_size(log), 3 * body.size());
  EXPECT_EQ(broker.terminate(), 0);
  EXPECT_EQ(std::filesystem::file_size(log), 3 * body.size());
  EXPECT_LT(allocated_bytes(log), 3 * body.size() + 64 * 1024);

  broker.restart();
  EXPECT_EQ(http_request(broker.port(), "GET", "/topics/pre/partitions/0/offsets").body,
            R"({"beginning_offset":0,"end_offset":3})");
  auto r =
      http_request(broker.port(), "POST", "/topics/pre/partitions/0/records", body, kRawContent);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(std::filesystem::file_size(log), 4 * body.size());
  EXPECT_GE(allocated_bytes(log), 4u << 20);
}

TEST(ProducePreallocateTest, OffKeepsTheFileToItsBatches) {
  BrokerProcess::Options options;
  options.sets = {"log.preallocate=false"};
  BrokerProcess broker(options);
  const std::string body = batch_bytes({{std::nullopt, std::string(1000, 'x'), {}, 1700000000000}});
  auto r =
      http_request(broker.port(), "POST", "/topics/nopre/partitions/0/records", body, kRawContent);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_LT(allocated_bytes(broker.data_dir() / "nopre-0" /
                            segment::segment_file_name(Offset{0}, segment::kLogSuffix)),
            body.size() + 64 * 1024);
}

}  // namespace
}  // namespace sluice::testing
