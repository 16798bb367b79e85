// Server limits and connection behaviour: body and header limits, bad names, max.connections,
// readiness, Expect: 100-continue, keep-alive, idle, read and write timeouts and graceful stop.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "segment/batch.h"
#include "segment/layout.h"
#include "tests/net/api_test_util.h"
#include "tests/net/broker_process.h"
#include "tests/temp_dir.h"

namespace sluice::testing {
namespace {

using std::chrono::steady_clock;

BrokerProcess::Options with_sets(std::vector<std::string> sets) {
  BrokerProcess::Options options;
  options.sets = std::move(sets);
  return options;
}

// Polls `condition` every 10 ms until it holds or `limit` passes.
template <class F>
bool eventually(F condition, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = steady_clock::now() + limit;
  while (steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

TEST(LimitsTest, BodyLargerThanMaxRequestSizeIs413) {
  BrokerProcess broker(with_sets({"max.request.size=1024"}));
  const std::string big = R"({"records":[{"value":")" + std::string(2000, 'a') + R"("}]})";
  auto r = http_request(broker.port(), "POST", "/topics/big", big, kJson);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(error_code_of(r), 41301);

  // Chunked: the length is only known while reading.
  RawSocket socket(broker.port());
  socket.send(
      "POST /topics/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n7d0\r\n" +
      std::string(2000, 'a') + "\r\n0\r\n\r\n");
  EXPECT_NE(socket.read_until("41301", 10000).find("413"), std::string::npos);
  EXPECT_EQ(http_request(broker.port(), "GET", "/topics").body, "[]");
}

TEST(LimitsTest, HeaderLargerThanTheLimitIs431) {
  BrokerProcess broker(with_sets({"http.max.header.bytes=2048"}));
  auto r = http_request(broker.port(), "GET", "/healthz", {}, {{"X-Big", std::string(4096, 'h')}});
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(error_code_of(r), 431);
  EXPECT_EQ(http_request(broker.port(), "GET", "/healthz").status, 200);
}

TEST(LimitsTest, BadNamesAndPathsAre400) {
  BrokerProcess broker;
  const std::string targets[] = {
      "/topics/a%2Fb", "/topics/..",          "/topics/%2e%2e",
      "/topics/%2E",   "/topics/a%01b",       "/topics/a%0Ab",
      "/topics/a%7Fb", "/topics//partitions", "/topics/" + std::string(250, 'n'),
      "/topics/a%zzb", "/topics/a%2",
  };
  for (const auto& target : targets) {
    for (const char* method : {"GET", "POST"}) {
      auto r = http_request(broker.port(), method,
                            target + (std::string_view(method) == "GET" ? "/partitions" : ""),
                            R"({"records":[{"value":1}]})", kJson);
      EXPECT_EQ(r.status, 400) << method << " " << target << " " << r.body;
    }
  }
  const auto id = cluster_id(broker.port());
  auto v3 = http_request(broker.port(), "POST", "/v3/clusters/" + id + "/topics/%2e%2e/records",
                         R"({"value":null})", kV3Json);
  EXPECT_EQ(v3.status, 400);
  EXPECT_EQ(error_code_of(v3), 40005);
  EXPECT_EQ(http_request(broker.port(), "GET", "/topics").body, "[]");
}

// A keep-alive connection that has been served once, so it holds a connection slot. Retries
// while slots are still held by connections the broker has not yet seen close.
std::unique_ptr<HttpConnection> served_connection(uint16_t port) {
  std::unique_ptr<HttpConnection> connection;
  eventually([&] {
    connection = std::make_unique<HttpConnection>(port);
    try {
      return connection->request("GET", "/healthz").status == 200;
    } catch (const std::exception&) {
      return false;  // refused and closed: try again
    }
  });
  return connection;
}

TEST(LimitsTest, MaxConnectionsRefusesTheExtraConnection) {
  BrokerProcess broker(with_sets({"max.connections=2"}));
  auto first = served_connection(broker.port());
  auto second = served_connection(broker.port());
  ASSERT_EQ(first->request("GET", "/healthz").status, 200);
  ASSERT_EQ(second->request("GET", "/healthz").status, 200);
  auto refused = http_request(broker.port(), "GET", "/healthz");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(error_code_of(refused), 50301);
  first.reset();
  EXPECT_TRUE(
      eventually([&] { return http_request(broker.port(), "GET", "/healthz").status == 200; }));
}

TEST(LimitsTest, KeepAliveServesManyRequestsOnOneConnection) {
  BrokerProcess broker;
  HttpConnection connection(broker.port());
  for (int i = 0; i < 5; ++i) {
    auto r = connection.request("POST", "/topics/ka", R"({"records":[{"value":1}]})", kJson);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.header("connection"), "close");
  }
  // Errors keep the connection, too.
  EXPECT_EQ(connection.request("GET", "/topics/missing").status, 404);
  EXPECT_EQ(connection.request("GET", "/nowhere").status, 404);
  EXPECT_EQ(connection.request("GET", "/topics/ka/partitions/0/offsets").body,
            R"({"beginning_offset":0,"end_offset":5})");
}

std::string post_request(std::string_view topic, std::string_view body) {
  return fmt::format(
      "POST /topics/{} HTTP/1.1\r\nHost: x\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n{}",
      topic, kJson.at("Content-Type"), body.size(), body);
}

TEST(LimitsTest, PipelinedRequestsWithBodiesAreAnsweredInOrder) {
  BrokerProcess broker;
  RawSocket socket(broker.port());
  // Three requests in one write: each body ends where the next request starts.
  socket.send(post_request("pipe", R"({"records":[{"value":"a"}]})") +
              post_request("pipe", R"({"records":[{"value":"b"},{"value":"c"}]})") +
              "GET /topics/pipe/partitions/0/offsets HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto replies = socket.read_until(R"("end_offset":3})", 10000);
  const auto first = replies.find(R"("offset":0)");
  const auto second = replies.find(R"("offset":1)");
  const auto offsets = replies.find(R"({"beginning_offset":0,"end_offset":3})");
  ASSERT_NE(first, std::string::npos) << replies;
  ASSERT_NE(second, std::string::npos) << replies;
  ASSERT_NE(offsets, std::string::npos) << replies;
  EXPECT_LT(first, second);
  EXPECT_LT(second, offsets);
}

TEST(LimitsTest, BodyArrivingInPiecesIsStoredWhole) {
  BrokerProcess broker;
  std::string body = R"({"records":[)";
  for (int i = 0; i < 2000; ++i) {
    body += fmt::format(R"({}{{"value":"{:0>100}"}})", i == 0 ? "" : ",", i);
  }
  body += "]}";
  const auto request = post_request("pieces", body);
  RawSocket socket(broker.port());
  // The header with the body's first bytes, then the rest in uneven pieces with pauses.
  const size_t head = request.size() - body.size() + 10;
  socket.send(request.substr(0, head));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (size_t pos = head, step = 1; pos < request.size(); pos += step, step = step * 7 + 3) {
    socket.send(request.substr(pos, step));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const auto reply = socket.read_until("]}", 10000);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 300);
  auto r = http_request(broker.port(), "GET", "/topics/pieces/partitions/0/offsets");
  EXPECT_EQ(r.body, R"({"beginning_offset":0,"end_offset":2000})");
  auto last =
      http_request(broker.port(), "GET",
                   "/topics/pieces/partitions/0/records?offset=1999&timeout=0", {}, kAcceptJson);
  EXPECT_NE(last.body.find(fmt::format(R"("value":"{:0>100}")", 1999)), std::string::npos)
      << last.body;
}

TEST(LimitsTest, ClientThatClosesInsideABodyStoresNothing) {
  BrokerProcess broker;
  {
    RawSocket socket(broker.port());
    const auto request = post_request("cut", R"({"records":[{"value":"never"}]})");
    socket.send(request.substr(0, request.size() - 5));
  }
  // The broker stays up, and the cut request left no topic behind.
  EXPECT_TRUE(eventually([&] {
    return http_request(broker.port(), "GET", "/healthz").status == 200 &&
           http_request(broker.port(), "GET", "/topics").body == "[]";
  }));
}

// Resident memory of a process, from /proc.
size_t resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;  // in kB
  }
  return 0;
}

TEST(LimitsTest, AnnouncedBodiesThatNeverArriveTakeNoMemory) {
  BrokerProcess broker;
  const size_t before = resident_bytes(broker.pid());
  ASSERT_GT(before, 0u);
  // 20 requests announce 60 MB bodies, under max.request.size, and send one byte of them.
  std::vector<std::unique_ptr<RawSocket>> sockets;
  for (int i = 0; i < 20; ++i) {
    sockets.push_back(std::make_unique<RawSocket>(broker.port()));
    sockets.back()->send(
        "POST /topics/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.kafka.json.v2+json"
        "\r\nContent-Length: 60000000\r\n\r\n{");
  }
  // Every connection has been read by the time /healthz answers on all of them twice over.
  for (int i = 0; i < 2; ++i) EXPECT_EQ(http_request(broker.port(), "GET", "/healthz").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const size_t during = resident_bytes(broker.pid());
  // Zero-filling each announced body would take 1.2 GB.
  EXPECT_LT(during, before + (300u << 20)) << before << " -> " << during;
  sockets.clear();
  EXPECT_EQ(http_request(broker.port(), "GET", "/topics").body, "[]");
}

TEST(LimitsTest, ExpectContinueLikeCurl) {
  BrokerProcess broker(with_sets({"max.request.size=4096"}));
  const std::string body = R"({"records":[{"value":"x"}]})";
  RawSocket socket(broker.port());
  socket.send(
      "POST /topics/cont HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/vnd.kafka.json.v2+json\r\nExpect: 100-continue\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  auto interim = socket.read_until("\r\n\r\n", 10000);
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue", 0), 0u) << interim;
  socket.send(body);
  auto reply = socket.read_until("}]}", 10000);
  EXPECT_NE(reply.find("HTTP/1.1 200"), std::string::npos) << reply;
  EXPECT_NE(reply.find(R"("offset":0)"), std::string::npos) << reply;

  // Too large: refused at once, before the client sends the body.
  RawSocket refused(broker.port());
  refused.send(
      "POST /topics/cont HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/vnd.kafka.json.v2+json\r\nExpect: 100-continue\r\n"
      "Content-Length: 100000\r\n\r\n");
  auto answer = refused.read_until("41301", 10000);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
}

TEST(LimitsTest, DataEndpointsAre503UntilRecoveryFinishes) {
  TempDir dir;
  {
    BrokerProcess::Options first;
    first.data_dir = dir.path();
    BrokerProcess broker(first);
    ASSERT_EQ(
        http_request(broker.port(), "POST", "/topics/ready", R"({"records":[{"value":1}]})", kJson)
            .status,
        200);
  }
  // Recovery reads the topic's properties file first; as a FIFO it blocks recovery until we
  // write to it, which holds the broker in its recovering state for as long as we need.
  const auto fifo = dir.path() / "ready-0" / segment::kTopicConfigFile;
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  BrokerProcess::Options options;
  options.data_dir = dir.path();
  options.wait_ready = false;
  BrokerProcess broker(options);
  auto ready = http_request(broker.port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_FALSE(ready.header("retry-after").empty());
  EXPECT_EQ(http_request(broker.port(), "GET", "/status/ready").status, 503);
  EXPECT_EQ(http_request(broker.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(http_request(broker.port(), "GET", "/metrics").status, 200);
  for (const char* target :
       {"/topics", "/topics/ready/partitions/0/offsets", "/brokers", "/v3/clusters"}) {
    auto r = http_request(broker.port(), "GET", target);
    EXPECT_EQ(r.status, 503) << target;
    EXPECT_EQ(error_code_of(r), 50301) << target;
    EXPECT_FALSE(r.header("retry-after").empty()) << target;
  }
  auto produce =
      http_request(broker.port(), "POST", "/topics/ready", R"({"records":[{"value":2}]})", kJson);
  EXPECT_EQ(produce.status, 503);

  int fd = -1;
  ASSERT_TRUE(eventually([&] {
    fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    return fd >= 0;
  }));
  // Recovery holds the FIFO open for reading now. Put an empty regular file in its place
  // before letting that read finish, so the broker's later reads of the file don't block.
  auto plain = fifo;
  plain += ".new";
  { std::ofstream(plain.string()); }
  std::filesystem::rename(plain, fifo);
  ::close(fd);  // recovery reads an empty properties file: no overrides
  ASSERT_TRUE(
      eventually([&] { return http_request(broker.port(), "GET", "/readyz").status == 200; }));
  EXPECT_EQ(http_request(broker.port(), "GET", "/topics/ready/partitions/0/offsets").body,
            R"({"beginning_offset":0,"end_offset":1})");
}

TEST(LimitsTest, SigtermWithAParkedLongPollStopsPromptlyAndKeepsData) {
  BrokerProcess broker;
  ASSERT_EQ(http_request(broker.port(), "POST", "/topics/stop",
                         R"({"records":[{"value":1},{"value":2}]})", kJson)
                .status,
            200);
  const uint16_t port = broker.port();
  auto parked = std::async(std::launch::async, [port] {
    try {
      return http_request(port, "GET", "/topics/stop/partitions/0/records?offset=2&timeout=60000")
          .status;
    } catch (const std::exception&) {
      return -1;  // the connection closed without an answer
    }
  });
  ASSERT_EQ(parked.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  const auto start = steady_clock::now();
  EXPECT_EQ(broker.terminate(), 0) << broker.output();
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5));  // the 5 s grace period
  ASSERT_EQ(parked.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(parked.get(), 200);  // answered (empty), not cut off
  broker.restart();
  EXPECT_EQ(http_request(broker.port(), "GET", "/topics/stop/partitions/0/offsets").body,
            R"({"beginning_offset":0,"end_offset":2})");
}

TEST(LimitsTest, ConnectionThatNeverSendsIsClosedAfterTheIdleTimeout) {
  BrokerProcess broker(with_sets({"connections.idle.timeout.ms=300"}));
  RawSocket silent(broker.port());
  const auto start = steady_clock::now();
  EXPECT_TRUE(silent.closed_within(10000));
  EXPECT_GE(steady_clock::now() - start, std::chrono::milliseconds(250));
  // A keep-alive connection that went quiet after a request is closed the same way.
  RawSocket quiet(broker.port());
  quiet.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(quiet.read_until("\r\n\r\n", 10000).find("200 OK"), std::string::npos);
  EXPECT_TRUE(quiet.closed_within(10000));
  EXPECT_EQ(http_request(broker.port(), "GET", "/healthz").status, 200);
}

TEST(LimitsTest, RequestThatNeverFinishesIsClosedAfterTheReadTimeout) {
  // The idle timeout is long: only the read timeout, which starts with a request's first
  // byte, can close these connections in time.
  BrokerProcess broker(
      with_sets({"http.read.timeout.ms=300", "connections.idle.timeout.ms=600000"}));
  RawSocket half_header(broker.port());
  half_header.send("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  RawSocket half_body(broker.port());
  half_body.send(
      "POST /topics/t HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 100\r\n\r\n{\"records\":");
  EXPECT_TRUE(half_header.closed_within(10000));
  EXPECT_TRUE(half_body.closed_within(10000));
  // Nothing of the unfinished produce was stored.
  EXPECT_EQ(http_request(broker.port(), "GET", "/topics").body, "[]");
}

TEST(LimitsTest, ClientThatNeverReadsARawFetchIsDropped) {
  BrokerProcess broker(with_sets({"max.connections=1", "http.write.timeout.ms=500"}));
  // ~14 MiB of raw batches: more than the loopback socket buffers hold.
  const std::string value(900 * 1024, 'v');
  segment::BatchBuilder builder;
  std::string body;
  for (int i = 0; i < 16; ++i) {
    builder.reset();
    builder.add({std::nullopt, value, {}, 1});
    auto bytes = builder.finish();
    body.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  ASSERT_EQ(http_request(broker.port(), "POST", "/topics/slow/partitions/0/records", body,
                         {{"Content-Type", "application/vnd.sluice.batch"}})
                .status,
            200);
  // The single connection slot is free again once the produce connection is gone.
  ASSERT_TRUE(
      eventually([&] { return http_request(broker.port(), "GET", "/healthz").status == 200; }));
  // The reply has started: the stalled client holds the only slot, mid-sendfile, and reads
  // no further. (Retried while the probes' closed connections still hold the slot.) Once the
  // write timeout drops it, a new connection is served again.
  std::unique_ptr<RawSocket> stalled;
  ASSERT_TRUE(eventually([&] {
    stalled = std::make_unique<RawSocket>(broker.port());
    stalled->send(
        "GET /topics/slow/partitions/0/records?offset=0&timeout=0&max_bytes=67108864 HTTP/1.1\r\n"
        "Host: x\r\nAccept: application/vnd.sluice.batch\r\n\r\n");
    return stalled->read_until("\r\n\r\n", 10000).find("200 OK") != std::string::npos;
  }));
  EXPECT_TRUE(
      eventually([&] { return http_request(broker.port(), "GET", "/healthz").status == 200; },
                 std::chrono::seconds(15)));
}

// max.message.bytes limits what producers may send now. A batch stored under a larger limit
// stays valid: lowering the limit and restarting keeps every record (recovery used to cut the
// log at the first batch above the new limit).
TEST(LimitsTest, LoweringMaxMessageBytesKeepsLargerBatchesAlreadyStored) {
  TempDir dir;
  const std::string big(300000, 'x');
  {
    BrokerProcess::Options options;
    options.data_dir = dir.path();
    options.sets = {"message.max.bytes=1000000"};
    BrokerProcess broker(options);
    for (const std::string& value : std::vector<std::string>{"\"a\"", "\"" + big + "\"", "\"b\""}) {
      auto r = http_request(broker.port(), "POST", "/topics/shrink",
                            R"({"records":[{"value":)" + value + "}]}", kJson);
      ASSERT_EQ(r.status, 200) << r.body;
    }
    ASSERT_EQ(broker.terminate(), 0);
  }
  BrokerProcess::Options options;
  options.data_dir = dir.path();
  options.sets = {"message.max.bytes=100000"};
  BrokerProcess broker(options);
  auto offsets = http_request(broker.port(), "GET", "/topics/shrink/partitions/0/offsets");
  EXPECT_EQ(offsets.body, R"({"beginning_offset":0,"end_offset":3})");
  // The new limit holds for new records.
  auto refused = http_request(broker.port(), "POST", "/topics/shrink",
                              R"({"records":[{"value":")" + big + "\"}]}", kJson);
  simdjson::dom::parser parser;
  EXPECT_FALSE(parse(parser, refused.body)["offsets"].at(0)["error_code"].is_null())
      << refused.body;
}

}  // namespace
}  // namespace sluice::testing
