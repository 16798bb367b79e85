// A broker whose data directory runs out of space: produce is refused with a clear error, the
// broker stays up, nothing acknowledged before is lost or changed, and once space is freed the
// same partitions take writes again. The data directory is a small tmpfs mounted for the test,
// so the suite skips it where mounting is not allowed (not root, or in a container).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <memory>
#include <string>
#include <vector>

#include "segment/batch.h"
#include "tests/net/api_test_util.h"
#include "tests/net/broker_process.h"
#include "tests/small_fs.h"

namespace sluice::testing {
namespace {

const std::map<std::string, std::string> kRawContent = {
    {"Content-Type", "application/vnd.sluice.batch"}};

// One batch of `count` records with distinct values of `value_bytes` bytes each.
std::string batch_bytes(int first, int count, size_t value_bytes) {
  segment::BatchBuilder builder;
  builder.reset();
  std::vector<std::string> values;
  values.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    std::string v = "record-" + std::to_string(first + i) + "-";
    v.resize(value_bytes, static_cast<char>('a' + (first + i) % 26));
    values.push_back(std::move(v));
  }
  for (const auto& v : values) builder.add({std::nullopt, v, {}, 1700000000000 + first});
  auto bytes = builder.finish();
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Run on a tmpfs and on ext4 (a loop-mounted image), each with acks=1, written by the network
// threads through the page cache, and with acks=all, written by the group-commit flusher with
// O_DIRECT (log.direct.io).
struct FullDiskCase {
  std::string fs;
  std::string acks;
};

class FullDiskTest : public ::testing::TestWithParam<FullDiskCase> {
 protected:
  void SetUp() override {
    if (!fs_.mounted()) GTEST_SKIP() << fs_.why_not();
    broker_ = std::make_unique<BrokerProcess>(BrokerProcess::Options{
        .sets = {"log.flush.policy=interval"}, .data_dir = fs_.path() / "data"});
  }

  void TearDown() override { broker_.reset(); }

  uint16_t port() const { return broker_->port(); }

  HttpResponse produce(std::string_view topic, const std::string& batch) {
    return http_request(
        port(), "POST",
        "/topics/" + std::string(topic) + "/partitions/0/records?acks=" + GetParam().acks, batch,
        kRawContent);
  }

  // Every byte of the partition, read by raw fetches from offset 0 to the end.
  std::string fetch_all(std::string_view topic) {
    std::string all;
    int64_t offset = 0;
    for (int i = 0; i < 1000; ++i) {
      auto r = http_request(port(), "GET",
                            "/topics/" + std::string(topic) +
                                "/partitions/0/records?timeout=0&offset=" + std::to_string(offset),
                            {}, kAcceptRaw);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200 || r.body.empty()) break;
      all += r.body;
      offset = std::stoll(r.header("x-sluice-next-offset"));
    }
    return all;
  }

  // What the broker stores for `batch` appended at `base`: the producer's bytes with the base
  // offset stamped in.
  static std::string stored(std::string batch, int64_t base) {
    segment::stamp_batch(std::as_writable_bytes(std::span(batch)), Offset{base}, 0);
    return batch;
  }

  SmallFs fs_{GetParam().fs == "ext4" ? "8m" : "6m", GetParam().fs};
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_P(FullDiskTest, ProduceIsRefusedWithoutLosingDataAndResumesWhenSpaceIsFreed) {
  constexpr int kPerBatch = 50;
  std::string kept;  // what partition keep-0 must hold, byte for byte
  int64_t next = 0;
  for (int i = 0; i < 4; ++i) {
    auto batch = batch_bytes(static_cast<int>(next), kPerBatch, 200);
    auto r = produce("keep", batch);
    ASSERT_EQ(r.status, 200) << r.body;
    kept += stored(batch, next);
    next += kPerBatch;
  }

  const std::map<std::string, std::string> v2 = {{"Content-Type", "application/vnd.kafka.v2+json"}};
  auto created =
      http_request(port(), "POST", "/consumers/g", R"({"name":"c","format":"binary"})", v2);
  ASSERT_EQ(created.status, 200) << created.body;

  // Fill the disk through another topic until the broker refuses.
  int accepted = 0;
  HttpResponse refused;
  for (int i = 0; i < 1000 && refused.status == 0; ++i) {
    auto r = produce("filler", batch_bytes(i * 100, 100, 500));
    if (r.status == 200) {
      ++accepted;
    } else {
      refused = r;
    }
  }
  ASSERT_GT(accepted, 10) << "the disk filled before the test had written anything";
  EXPECT_EQ(refused.status, 507) << refused.body;
  EXPECT_EQ(error_code_of(refused), 50701) << refused.body;
  EXPECT_NE(refused.body.find("No space left on device"), std::string::npos) << refused.body;

  // Smaller batches to the first topic fill what is left; each is either stored whole and
  // acknowledged, or refused with the same error. The broker stays up throughout.
  refused = {};
  for (int i = 0; i < 1000 && refused.status == 0; ++i) {
    auto batch = batch_bytes(static_cast<int>(next), kPerBatch, 200);
    auto r = produce("keep", batch);
    if (r.status == 200) {
      kept += stored(batch, next);
      next += kPerBatch;
    } else {
      refused = r;
    }
  }
  EXPECT_EQ(refused.status, 507) << refused.body;
  EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);

  // Down to the last page: one small record at a time until even that is refused.
  for (int i = 0; i < 1000; ++i) {
    auto batch = batch_bytes(static_cast<int>(next), 1, 10);
    if (produce("keep", batch).status != 200) break;
    kept += stored(batch, next);
    next += 1;
  }

  // A consumer's offset commit is a write too (its instance was created while there was
  // space: the first one creates __consumer_offsets). A commit is a small record that may still
  // fit in the last block its partition holds: it is either stored and acknowledged, or refused
  // the same way, naming the offsets topic.
  auto commit = http_request(port(), "POST", "/consumers/g/instances/c/offsets",
                             R"({"offsets":[{"topic":"keep","partition":0,"offset":5}]})", v2);
  if (commit.status == 200) {
    auto committed = http_request(port(), "GET", "/consumers/g/instances/c/offsets",
                                  R"({"partitions":[{"topic":"keep","partition":0}]})", v2);
    EXPECT_NE(committed.body.find(R"("offset":6)"), std::string::npos) << committed.body;
  } else {
    EXPECT_EQ(commit.status, 507) << commit.body;
    EXPECT_NE(commit.body.find("__consumer_offsets"), std::string::npos) << commit.body;
  }
  EXPECT_TRUE(fetch_all("keep") == kept) << "partition keep-0 changed on a full disk";

  // Space freed: the refused partition takes writes again at the next offset.
  auto cluster = cluster_id(port());
  auto deleted = http_request(port(), "DELETE", "/v3/clusters/" + cluster + "/topics/filler");
  ASSERT_EQ(deleted.status, 204) << deleted.body;
  auto batch = batch_bytes(static_cast<int>(next), kPerBatch, 200);
  auto resumed = produce("keep", batch);
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  simdjson::dom::parser parser;
  EXPECT_EQ(int64_t(parse(parser, resumed.body)["batches"].at(0)["base_offset"]), next);
  kept += stored(batch, next);
  EXPECT_TRUE(fetch_all("keep") == kept);

  // And a restart recovers exactly what was acknowledged.
  broker_->terminate();
  broker_->restart();
  EXPECT_TRUE(fetch_all("keep") == kept) << "partition keep-0 changed across a restart";
}

TEST_P(FullDiskTest, CrashOnAFullDiskKeepsEveryAcknowledgedRecord) {
  std::string kept;
  int64_t next = 0;
  // Writes until refused, keeping what was acknowledged; returns whether it was refused.
  auto fill = [&] {
    for (int i = 0; i < 1000; ++i) {
      auto batch = batch_bytes(static_cast<int>(next), 100, 500);
      auto r = produce("full", batch);
      if (r.status != 200) {
        EXPECT_EQ(r.status, 507) << r.body;
        return true;
      }
      kept += stored(batch, next);
      next += 100;
    }
    return false;
  };
  ASSERT_TRUE(fill());
  ASSERT_GT(next, 1000);
  // A crash with the disk still full: recovery must start without room to spare and keep
  // every acknowledged record; what room it frees (index preallocation) takes new writes.
  broker_->kill9();
  broker_->restart();
  EXPECT_TRUE(fetch_all("full") == kept) << "acknowledged records lost on a full disk";
  EXPECT_TRUE(fill());
  EXPECT_TRUE(fetch_all("full") == kept);
  // A topic created on the full disk has index files with no blocks at all.
  EXPECT_EQ(produce("late", batch_bytes(0, 100, 500)).status, 507);
  // A clean stop on the full disk, whose checkpoint may find no room: the next start must
  // still come up with everything.
  broker_->terminate();
  broker_->restart();
  EXPECT_TRUE(fetch_all("full") == kept) << "acknowledged records lost after a stop on a full disk";
}

INSTANTIATE_TEST_SUITE_P(Disks, FullDiskTest,
                         ::testing::Values(FullDiskCase{"tmpfs", "1"}, FullDiskCase{"tmpfs", "all"},
                                           FullDiskCase{"ext4", "1"}, FullDiskCase{"ext4", "all"}),
                         [](const auto& p) {
                           return p.param.fs + (p.param.acks == "1" ? "Leader" : "All");
                         });

}  // namespace
}  // namespace sluice::testing
