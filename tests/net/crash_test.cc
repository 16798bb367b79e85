// kill -9 at random moments while producers run: JSON records and raw batches with acks=all
// (the raw ones written by the flusher, directly), and raw batches with acks=1, all into one
// partition. After each restart (and its recovery) every acknowledged record must be there, at
// its offset, with its exact content.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "segment/batch.h"
#include "segment/layout.h"
#include "tests/net/api_test_util.h"
#include "tests/net/broker_process.h"
#include "tests/net/http_client.h"

namespace sluice::testing {
namespace {

constexpr int kRounds = 4;
constexpr int kProducers = 4;

// Acknowledged records: offset -> value (the JSON text that was sent).
class Acknowledged {
 public:
  void add(int64_t offset, const std::string& value) {
    std::lock_guard lock(mu_);
    records_[offset] = value;
  }
  std::map<int64_t, std::string> snapshot() const {
    std::lock_guard lock(mu_);
    return records_;
  }

 private:
  mutable std::mutex mu_;
  std::map<int64_t, std::string> records_;
};

const std::map<std::string, std::string> kRawContent = {
    {"Content-Type", "application/vnd.sluice.batch"}};

// POSTs `body` and parses a 200 reply; nullopt once the broker is gone (killed) or refuses.
std::optional<simdjson::dom::element> post(simdjson::dom::parser& parser, uint16_t port,
                                           const std::string& path, const std::string& body,
                                           const std::map<std::string, std::string>& headers) {
  HttpResponse r;
  try {
    r = http_request(port, "POST", path, body, headers);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  simdjson::dom::element doc;
  if (r.status != 200 || parser.parse(r.body).get(doc) != simdjson::SUCCESS) return std::nullopt;
  return doc;
}

// Produces raw batches of three records (whose values are JSON strings) until `stop`, with
// `acks`, recording what was acknowledged. Errors (the broker was killed) end the loop.
void produce_raw_until_killed(uint16_t port, int round, int producer, const std::string& acks,
                              std::atomic<bool>& stop, Acknowledged& acked) {
  simdjson::dom::parser parser;
  segment::BatchBuilder builder;
  for (int i = 0; !stop.load(); ++i) {
    std::vector<std::string> values;
    for (int k = 0; k < 3; ++k) {
      values.push_back("\"r" + std::to_string(round) + "-p" + std::to_string(producer) + "-" +
                       std::to_string(i) + "." + std::to_string(k) + "\"");
    }
    builder.reset();
    for (const auto& v : values) builder.add({std::nullopt, v, {}, 1'700'000'000'000 + i});
    const auto bytes = builder.finish();
    auto doc =
        post(parser, port, "/topics/crash/partitions/0/records?acks=" + acks,
             std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()), kRawContent);
    int64_t base = -1;
    if (!doc || (*doc)["batches"].at(0)["base_offset"].get(base) != simdjson::SUCCESS) return;
    for (int k = 0; k < 3; ++k) acked.add(base + k, values[static_cast<size_t>(k)]);
  }
}

// Produces single records with acks=all until `stop`, recording what was acknowledged. Errors
// (the broker was killed) end the loop.
void produce_until_killed(uint16_t port, int round, int producer, std::atomic<bool>& stop,
                          Acknowledged& acked) {
  simdjson::dom::parser parser;
  for (int i = 0; !stop.load(); ++i) {
    const std::string value = "\"r" + std::to_string(round) + "-p" + std::to_string(producer) +
                              "-" + std::to_string(i) + "\"";
    auto doc = post(parser, port, "/topics/crash/partitions/0?acks=all",
                    R"({"records":[{"value":)" + value + "}]}", kJson);
    int64_t offset = -1;
    if (!doc || (*doc)["offsets"].at(0)["offset"].get(offset) != simdjson::SUCCESS) return;
    acked.add(offset, value);
  }
}

// Reads the whole partition as JSON: offset -> value text.
std::map<int64_t, std::string> read_all(uint16_t port) {
  std::map<int64_t, std::string> out;
  simdjson::dom::parser parser;
  int64_t next = 0;
  while (true) {
    auto r = http_request(port, "GET",
                          "/topics/crash/partitions/0/records?timeout=0&max_bytes=1048576&offset=" +
                              std::to_string(next),
                          {}, kAcceptJson);
    EXPECT_EQ(r.status, 200) << r.body;
    simdjson::dom::array records;
    if (r.status != 200 || parser.parse(r.body).get(records) != simdjson::SUCCESS) break;
    if (records.size() == 0) break;
    for (auto record : records) {
      const int64_t offset = record["offset"];
      out[offset] = simdjson::to_string(record["value"]);
      next = offset + 1;
    }
  }
  return out;
}

TEST(CrashTest, EveryAcknowledgedRecordSurvivesKillNine) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  TempDir dir;
  BrokerProcess::Options options;
  options.data_dir = dir.path();
  // Small segments, so kills land across rolls as well as inside segments.
  options.sets = {"log.flush.policy=always", "log.segment.bytes=16384",
                  "log.index.interval.bytes=256"};
  BrokerProcess broker(options);
  Acknowledged acked;
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p, port = broker.port()] {
        if (p == 1 || p == 2) {
          produce_raw_until_killed(port, round, p, p == 1 ? "all" : "1", stop, acked);
        } else {
          produce_until_killed(port, round, p, stop, acked);
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 400));
    broker.kill9();
    stop.store(true);
    for (auto& t : producers) t.join();
    broker.restart();  // recovery runs before /readyz turns 200

    const auto stored = read_all(broker.port());
    const auto expected = acked.snapshot();
    ASSERT_FALSE(expected.empty()) << "round " << round << ": nothing was acknowledged";
    for (const auto& [offset, value] : expected) {
      auto it = stored.find(offset);
      ASSERT_NE(it, stored.end()) << "round " << round << ": acknowledged offset " << offset
                                  << " is missing";
      EXPECT_EQ(it->second, value) << "round " << round << ", offset " << offset;
    }
    // Offsets stay dense: no holes from 0 to the end.
    int64_t previous = -1;
    for (const auto& [offset, value] : stored) {
      EXPECT_EQ(offset, previous + 1) << "round " << round;
      previous = offset;
    }
  }
}

// A data dir a broker wrote under log.index.interval.bytes=1024, killed, is clean for
// `sluice verify` with the default configuration (4096), and a broker with the defaults
// recovers it without rebuilding an index: denser indexes than asked for are valid.
TEST(CrashTest, IndexesWrittenUnderAnotherIntervalPassVerifyAndAreNotRebuilt) {
  TempDir dir;
  BrokerProcess::Options options;
  options.data_dir = dir.path();
  options.sets = {"log.segment.bytes=65536", "log.index.interval.bytes=1024"};
  {
    BrokerProcess broker(options);
    for (int i = 0; i < 60; ++i) {
      std::string records;
      for (int j = 0; j < 10; ++j) {
        records += fmt::format(R"({}{{"value":"{}"}})", j == 0 ? "" : ",",
                               std::string(100, static_cast<char>('a' + j)));
      }
      auto r = http_request(broker.port(), "POST", "/topics/dense/partitions/0",
                            R"({"records":[)" + records + "]}", kJson);
      ASSERT_EQ(r.status, 200) << r.body;
    }
    broker.kill9();
  }
  std::string log_dir = dir.path().string();
  const auto verified = run_sluice({"verify", "--log-dir", log_dir});
  const std::string& out = verified.output;
  EXPECT_EQ(verified.exit_code, 0) << out;
  EXPECT_EQ(out.find(segment::kIndexSuffix), std::string::npos) << out;

  BrokerProcess::Options defaults;
  defaults.data_dir = dir.path();
  BrokerProcess again(defaults);
  std::ifstream in(dir.path() / segment::kRecoveryReportFile);
  std::stringstream report;
  report << in.rdbuf();
  EXPECT_NE(report.str().find("\"indexes_rebuilt\": 0"), std::string::npos) << report.str();
  EXPECT_EQ(report.str().find("; rebuilt"), std::string::npos) << report.str();
}

}  // namespace
}  // namespace sluice::testing
