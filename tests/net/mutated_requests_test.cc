// Requests with random damage: whatever bytes arrive, the broker answers with a client error
// or closes the connection, keeps serving, and never alters what it already stored.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "segment/batch.h"
#include "tests/net/api_test_util.h"
#include "tests/net/broker_process.h"

namespace sluice::testing {
namespace {

std::string request(std::string_view method, std::string_view target, std::string_view type,
                    std::string_view body) {
  return fmt::format(
      "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {}\r\nAccept: {}\r\n"
      "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
      method, target, type,
      type.starts_with("text/") ? "application/vnd.kafka.json.v2+json" : "*/*", body.size(), body);
}

std::string raw_batch() {
  segment::BatchBuilder builder;
  builder.reset();
  builder.add({"key", "value", {}, 1700000000000});
  builder.add({std::nullopt, "second", {}, 1700000000001});
  auto bytes = builder.finish();
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// One random change: flip, overwrite, insert, delete, cut or repeat some bytes.
void mutate(std::string& s, std::mt19937& rng) {
  auto pick = [&](size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  auto byte = [&] { return static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng)); };
  switch (pick(6)) {
    case 0:
      if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1 << pick(8));
      break;
    case 1:
      if (!s.empty()) s[pick(s.size())] = byte();
      break;
    case 2:
      s.insert(pick(s.size() + 1), pick(8) + 1, byte());
      break;
    case 3:
      if (!s.empty()) s.erase(pick(s.size()), pick(16) + 1);
      break;
    case 4:
      s.resize(pick(s.size() + 1));
      break;
    default: {
      const size_t from = pick(s.size() + 1);
      s.insert(pick(s.size() + 1), s.substr(from, pick(64) + 1));
    }
  }
}

TEST(MutatedRequestsTest, DamagedRequestsGetClientErrorsAndLeaveStoredDataAlone) {
  BrokerProcess broker;
  const uint16_t port = broker.port();
  auto stored =
      http_request(port, "POST", "/topics/keep",
                   R"({"records":[{"key":"a","value":1},{"key":"b","value":{"x":[2]}}]})", kJson);
  ASSERT_EQ(stored.status, 200) << stored.body;
  const auto before =
      http_request(port, "GET", "/topics/keep/partitions/0/records?offset=0", {}, kAcceptJson);
  ASSERT_EQ(before.status, 200);

  const std::string cluster = cluster_id(port);
  struct Template {
    std::string method, target, type, body;
  };
  const std::vector<Template> templates = {
      {"POST", "/topics/fuzz", "application/vnd.kafka.json.v2+json",
       R"({"records":[{"key":"k","value":{"a":[1,2.5,"s",null,true]},"partition":0}]})"},
      {"POST", "/topics/fuzz/partitions/0", "application/vnd.kafka.binary.v2+json",
       R"({"records":[{"key":"a2V5","value":"dmFsdWU=","headers":[{"name":"h","value":"aA=="}]}]})"},
      {"POST", "/topics/fuzz/partitions/0/records", "application/vnd.sluice.batch", raw_batch()},
      {"POST", fmt::format("/v3/clusters/{}/topics/fuzz/records", cluster), "application/json",
       R"({"partition_id":0,"key":{"type":"STRING","data":"k"},"value":{"type":"JSON","data":{"x":1}}})"},
      {"GET", "/topics/fuzz/partitions/0/records?offset=0&max_bytes=1000", "text/plain", ""},
      {"POST", "/consumers/g", "application/vnd.kafka.v2+json",
       R"({"name":"c1","format":"json","auto.offset.reset":"earliest"})"},
      {"POST", fmt::format("/v3/clusters/{}/topics", cluster), "application/json",
       R"({"topic_name":"made","partitions_count":2,"configs":[{"name":"segment.bytes","value":"1048576"}]})"},
      {"PUT", fmt::format("/v3/clusters/{}/topics/fuzz/configs/retention.ms", cluster),
       "application/json", R"({"value":"3600000"})"},
      {"POST", fmt::format("/v3/clusters/{}/topics/fuzz/configs:alter", cluster),
       "application/json",
       R"({"data":[{"name":"segment.bytes","value":"1048576"},{"name":"retention.ms","operation":"DELETE"}]})"},
      {"GET", fmt::format("/v3/clusters/{}/consumer-groups/g/lag-summary", cluster), "text/plain",
       ""},
  };

  constexpr int kThreads = 4;
  constexpr int kPerThread = 150;
  std::atomic<int> server_errors{0};
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, seed = 1234 + t] {
      std::mt19937 rng(seed);  // fixed seeds: a failure reproduces
      for (int i = 0; i < kPerThread; ++i) {
        const Template& chosen = templates[rng() % templates.size()];
        const int changes = 1 + static_cast<int>(rng() % 4);
        std::string bytes;
        if (rng() % 2 == 0) {
          // A well-framed request with a damaged body: reaches the parsers behind HTTP.
          std::string body = chosen.body;
          for (int c = 0; c < changes; ++c) mutate(body, rng);
          bytes = request(chosen.method, chosen.target, chosen.type, body);
        } else {
          bytes = request(chosen.method, chosen.target, chosen.type, chosen.body);
          for (int c = 0; c < changes; ++c) mutate(bytes, rng);
        }
        const std::string reply = raw_exchange(port, bytes, 100);
        if (reply.empty()) continue;  // closed, or still waiting for the rest of a body
        answered.fetch_add(1);
        if (reply.rfind("HTTP/1.1 5", 0) == 0 && reply.rfind("HTTP/1.1 503", 0) != 0) {
          server_errors.fetch_add(1);
          ADD_FAILURE() << "server error for a damaged request:\n" << bytes << "\n---\n" << reply;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(server_errors.load(), 0);
  EXPECT_GT(answered.load(), kThreads * kPerThread / 4);

  ASSERT_EQ(::kill(broker.pid(), 0), 0) << "the broker died:\n" << broker.output();
  EXPECT_EQ(http_request(port, "GET", "/healthz").status, 200);
  const auto after =
      http_request(port, "GET", "/topics/keep/partitions/0/records?offset=0", {}, kAcceptJson);
  ASSERT_EQ(after.status, 200);
  simdjson::dom::parser p1, p2;
  auto a = parse(p1, before.body).get_array();
  auto b = parse(p2, after.body).get_array();
  ASSERT_GE(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(simdjson::to_string(a.at(i)), simdjson::to_string(b.at(i))) << "record " << i;
  }
}

}  // namespace
}  // namespace sluice::testing
