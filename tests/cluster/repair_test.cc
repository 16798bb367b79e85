// Repair from a replica (docs/CLUSTER.md, "Repair from a replica"): followers roll where their
// leader did, so sealed segments are the same files on every replica, and a damaged one is
// replaced from an in-sync replica's copy, at start-up and by the background scrub, instead of
// cutting the log.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/cluster/acked_records.h"
#include "tests/cluster/cluster_state.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;

const std::map<std::string, std::string> kJson = {{"Content-Type", "application/json"}};
constexpr int kRecords = 120;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Flips one byte in the middle of `path`, as a failing disk would.
void flip_byte(const fs::path& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << path;
  f.seekg(0, std::ios::end);
  const auto middle = f.tellg() / 2;
  f.seekg(middle);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(middle);
  f.write(&c, 1);
}

class RepairTest : public ClusterFixture {
 protected:
  void start(const std::vector<std::string>& extra = {}) {
    brokers_ = start_brokers(3, extra);
    ASSERT_FALSE(HasFailure());
    cluster_id_ = cluster_state(port(1)).cluster_id;
  }
  // An R=3 topic of one partition with small segments, holding kRecords acknowledged records
  // that every replica holds; returns its leader.
  int64_t fill(const std::string& topic) {
    auto created = http_request(
        port(1), "POST", "/v3/clusters/" + cluster_id_ + "/topics",
        R"({"topic_name":")" + topic +
            R"(","partitions_count":1,"replication_factor":3,"configs":[{"name":"segment.bytes","value":"1024"}]})",
        kJson);
    EXPECT_EQ(created.status, 201) << created.body;
    EXPECT_TRUE(eventually([&] {
      auto s = cluster_state(port(1));
      auto it = s.partitions.find({topic, 0});
      return it != s.partitions.end() && it->second.leader > 0 && it->second.isr.size() == 3;
    }));
    const int64_t leader = cluster_state(port(1)).partitions.at({topic, 0}).leader;
    for (int i = 0; i < kRecords; ++i) {
      EXPECT_EQ(produce_one(port(leader), topic, 0, "record-" + std::to_string(i)).offset, i);
    }
    EXPECT_TRUE(eventually([&] { return same_sealed_segments(topic); }));
    return leader;
  }
  // The partition's sealed segments on broker `id`: file name -> bytes.
  std::map<std::string, std::string> sealed(int64_t id, const std::string& topic) {
    std::map<std::string, std::string> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(broker(id).data_dir() / (topic + "-0"), ec)) {
      if (entry.path().extension() == ".log") {
        out[entry.path().filename().string()] = read_bytes(entry.path());
      }
    }
    if (!out.empty()) out.erase(std::prev(out.end()));  // the active one
    return out;
  }
  bool same_sealed_segments(const std::string& topic) {
    const auto reference = sealed(1, topic);
    return reference.size() >= 3 && sealed(2, topic) == reference && sealed(3, topic) == reference;
  }
  void expect_every_record(int64_t via, const std::string& topic) {
    const auto log = read_all(port(via), topic, 0);
    ASSERT_EQ(log.size(), static_cast<size_t>(kRecords));
    for (int i = 0; i < kRecords; ++i) EXPECT_EQ(log.at(i), "record-" + std::to_string(i));
  }
  // The quarantine of broker `id` holds a note that names the broker the copy came from, and
  // not the file the copy was received into.
  bool quarantined_repair(int64_t id, const std::string& topic, int64_t from) {
    std::error_code ec;
    const auto dir = broker(id).data_dir() / "quarantine" / (topic + "-0");
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      EXPECT_NE(entry.path().extension(), ".incoming") << entry.path();
      if (entry.path().extension() != ".json") continue;
      if (read_bytes(entry.path()).find("repaired from broker " + std::to_string(from)) !=
          std::string::npos) {
        return true;
      }
    }
    return false;
  }
  uint16_t port(int64_t id) const { return brokers_[static_cast<size_t>(id - 1)]->port(); }
  BrokerProcess& broker(int64_t id) { return *brokers_[static_cast<size_t>(id - 1)]; }
  std::vector<std::unique_ptr<BrokerProcess>> brokers_;
  std::string cluster_id_;
};

TEST_F(RepairTest, SealedSegmentsAreTheSameFilesOnEveryReplica) {
  start();
  if (HasFatalFailure()) return;
  fill("same");
  EXPECT_TRUE(same_sealed_segments("same"));
}

TEST_F(RepairTest, ADamagedSegmentFoundAtStartIsRepairedFromAnInSyncReplica) {
  start({"log.scrub.bytes.per.second=0"});
  if (HasFatalFailure()) return;
  const int64_t leader = fill("atstart");
  const int64_t damaged = leader == 1 ? 2 : 1;
  const auto good = sealed(leader, "atstart");
  ASSERT_EQ(broker(damaged).terminate(), 0);
  const auto file = broker(damaged).data_dir() / "atstart-0" / good.begin()->first;
  flip_byte(file);
  ASSERT_NE(read_bytes(file), good.begin()->second);
  broker(damaged).restart();
  ASSERT_TRUE(eventually([&] {
    auto s = cluster_state(port(leader));
    return s.partitions.at({"atstart", 0}).isr.size() == 3;
  }));
  EXPECT_EQ(read_bytes(file), good.begin()->second);
  EXPECT_EQ(sealed(damaged, "atstart"), good);  // nothing cut
  EXPECT_TRUE(quarantined_repair(damaged, "atstart", leader));
  auto report = http_request(port(damaged), "GET", "/v1/recovery");
  EXPECT_NE(report.body.find("repaired from broker " + std::to_string(leader)), std::string::npos)
      << report.body;
  expect_every_record(damaged, "atstart");
}

TEST_F(RepairTest, TheScrubRepairsADamagedSegmentWhileTheBrokerRuns) {
  start({"log.scrub.bytes.per.second=1048576"});
  if (HasFatalFailure()) return;
  const int64_t leader = fill("scrubbed");
  const int64_t damaged = leader == 3 ? 2 : 3;
  const auto good = sealed(leader, "scrubbed");
  const auto file = broker(damaged).data_dir() / "scrubbed-0" / std::next(good.begin())->first;
  flip_byte(file);
  ASSERT_TRUE(eventually([&] { return read_bytes(file) == std::next(good.begin())->second; },
                         std::chrono::seconds(30)));
  EXPECT_EQ(sealed(damaged, "scrubbed"), good);
  EXPECT_TRUE(quarantined_repair(damaged, "scrubbed", leader));
  auto metrics = http_request(port(damaged), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("sluice_scrub_repaired_segments_total 1"), std::string::npos)
      << metrics.body.substr(0, 2000);
  auto report = http_request(port(damaged), "GET", "/v1/recovery");
  EXPECT_NE(report.body.find("\"repaired_from\":" + std::to_string(leader)), std::string::npos)
      << report.body;
  expect_every_record(damaged, "scrubbed");
}

// Without a replica (a standalone broker), the scrub reports the damage and leaves the log to
// the next start-up recovery.
TEST_F(RepairTest, AStandaloneScrubReportsDamageItCannotRepair) {
  BrokerProcess::Options o;
  o.sets = {"log.scrub.bytes.per.second=1048576", "log.segment.bytes=1024"};
  BrokerProcess alone(o);
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(produce_one(alone.port(), "solo", 0, "record-" + std::to_string(i)).offset, i);
  }
  const auto file = alone.data_dir() / "solo-0" / "00000000000000000000.log";
  flip_byte(file);
  ASSERT_TRUE(eventually(
      [&] {
        auto report = http_request(alone.port(), "GET", "/v1/recovery");
        return report.body.find("\"damaged\":1") != std::string::npos;
      },
      std::chrono::seconds(30)));
  auto report = http_request(alone.port(), "GET", "/v1/recovery");
  EXPECT_NE(report.body.find("\"repaired_from\":null"), std::string::npos) << report.body;
  EXPECT_NE(report.body.find("00000000000000000000.log"), std::string::npos) << report.body;
}

}  // namespace
}  // namespace sluice::testing
