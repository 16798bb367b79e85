#include "recovery/log_recovery.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <thread>
#include <tuple>

#include "common/json_string.h"
#include "recovery/checkpoint.h"
#include "recovery/errors.h"
#include "tests/recovery/partition_fixture.h"
#include "tests/temp_dir.h"

namespace sluice::recovery {
namespace {

using testing::PartitionWriter;
using testing::read_file;
using testing::snapshot;
using testing::write_file;
namespace fs = std::filesystem;

class LogRecoveryTest : public ::testing::Test {
 protected:
  fs::path log_dir() const { return tmp_.path(); }

  PartitionWriter write(const std::string& name, int batches) {
    PartitionWriter w(log_dir() / name, 4096, Offset{0});
    w.append_batches(batches);
    w.close();
    return w;
  }

  Result<RecoveryReport> recover(RecoveryMode mode = RecoveryMode::full, int threads = 2) {
    LogRecoveryOptions o;
    o.log_dirs = {log_dir()};
    o.threads = threads;
    o.mode = mode;
    o.topic_defaults = testing::topic_config();
    return LogRecovery(o).run();
  }

  sluice::testing::TempDir tmp_;
};

TEST_F(LogRecoveryTest, RecoversEveryPartitionAndWritesTheReport) {
  std::vector<PartitionWriter> writers;
  for (int p = 0; p < 5; ++p) writers.push_back(write("events-" + std::to_string(p), 40 + p));
  auto torn = writers[3].file(writers[3].bases().size() - 1, ".log");
  fs::resize_file(torn, fs::file_size(torn) - 7);
  fs::create_directories(log_dir() / segment::kQuarantineDir / "old-1");
  fs::create_directories(log_dir() / "lost+found");
  fs::create_directories(log_dir() / "events-9.deleted");
  fs::create_directories(log_dir() / "no_number");
  write_file(log_dir() / segment::kMetaFile, "broker.id=1\n");
  auto r = recover();
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->partitions.size(), 5u);
  EXPECT_FALSE(r->failed());
  uint64_t bytes = 0;
  for (int p = 0; p < 5; ++p) {
    const auto& rep = r->partitions[static_cast<size_t>(p)];
    EXPECT_EQ(rep.name, "events-" + std::to_string(p));
    EXPECT_EQ(rep.truncation.has_value(), p == 3);
    EXPECT_EQ(rep.next_offset,
              p == 3 ? writers[3].batches().back().base : writers[p].next_offset());
    bytes += rep.bytes_scanned;
  }
  EXPECT_EQ(r->total_bytes_scanned(), bytes);
  EXPECT_GT(r->total_bytes_quarantined(), 0u);
  const std::string json = read_file(log_dir() / segment::kRecoveryReportFile);
  EXPECT_NE(json.find("\"partition\": \"events-3\""), std::string::npos);
  EXPECT_NE(json.find("\"mode\": \"full\""), std::string::npos);
  EXPECT_EQ(json, to_json(*r, &r->log_dirs[0]));
  EXPECT_TRUE(fs::exists(log_dir() / segment::kQuarantineDir / "events-3"));
}

TEST_F(LogRecoveryTest, ProgressCountsEverythingWhenDone) {
  for (int p = 0; p < 3; ++p) write("t-" + std::to_string(p), 60);
  LogRecoveryOptions o;
  o.log_dirs = {log_dir()};
  o.threads = 2;
  o.topic_defaults = testing::topic_config();
  LogRecovery recovery(o);
  std::atomic<bool> done{false};
  uint64_t max_seen = 0;
  std::thread reader([&] {
    while (!done.load()) max_seen = std::max(max_seen, recovery.progress().bytes_done.load());
  });
  auto r = recovery.run();
  done = true;
  reader.join();
  ASSERT_TRUE(r);
  const auto& p = recovery.progress();
  EXPECT_EQ(p.partitions_done.load(), 3u);
  EXPECT_EQ(p.partitions_total.load(), 3u);
  EXPECT_EQ(p.segments_done.load(), p.segments_total.load());
  EXPECT_EQ(p.bytes_done.load(), p.bytes_total.load());
  EXPECT_EQ(p.bytes_total.load(), r->total_bytes_scanned());
  EXPECT_LE(max_seen, p.bytes_total.load());
}

// Every index file under dir: name -> (inode, mtime in ns, bytes).
std::map<std::string, std::tuple<ino_t, int64_t, std::string>> index_files(const fs::path& dir) {
  std::map<std::string, std::tuple<ino_t, int64_t, std::string>> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with(segment::kIndexSuffix) && !name.ends_with(segment::kTimeIndexSuffix)) {
      continue;
    }
    struct stat st {};
    EXPECT_EQ(::stat(e.path().c_str(), &st), 0);
    out[name] = {st.st_ino, st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec,
                 read_file(e.path())};
  }
  return out;
}

TEST_F(LogRecoveryTest, UncleanStartUnderAnotherIntervalRewritesNoIndex) {
  // Written with index.interval.bytes 256 and segment.index.bytes 600; the broker now runs with
  // the defaults (4096 and 10 MiB). The indexes are denser than the defaults ask: still valid.
  auto w = write("dense-0", 150);
  ASSERT_GE(w.bases().size(), 4u);
  const auto before = index_files(log_dir() / "dense-0");
  ASSERT_EQ(before.size(), 2 * w.bases().size());
  LogRecoveryOptions o;
  o.log_dirs = {log_dir()};
  o.topic_defaults = config::TopicConfig{};
  ASSERT_NE(o.topic_defaults.index_interval_bytes, testing::topic_config().index_interval_bytes);
  auto r = LogRecovery(o).run();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->partitions.size(), 1u);
  EXPECT_EQ(r->partitions[0].indexes_rebuilt, 0u);
  EXPECT_TRUE(r->partitions[0].clean()) << r->partitions[0].problems.front();
  EXPECT_EQ(index_files(log_dir() / "dense-0"), before);
}

TEST_F(LogRecoveryTest, UncleanStartWithASmallerIntervalRebuildsTooSparseIndexes) {
  {
    PartitionWriter w(log_dir() / "sparse-0", 4096, Offset{0}, {600, 4096});
    w.append_batches(100);
    w.close();
  }
  LogRecoveryOptions o;
  o.log_dirs = {log_dir()};
  o.topic_defaults = testing::topic_config();  // index.interval.bytes 256
  auto r = LogRecovery(o).run();
  ASSERT_TRUE(r);
  const auto& p = r->partitions.at(0);
  // Every .index, and the active segment's .timeindex, which stops short of the new .index's
  // last entry (the sealed ones end with the seal's entry, which reaches every batch).
  EXPECT_EQ(p.indexes_rebuilt, p.segments + 1);
  ASSERT_FALSE(p.problems.empty());
  EXPECT_NE(p.problems.front().find("too sparse"), std::string::npos) << p.problems.front();
  auto again = LogRecovery(o).run();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->partitions.at(0).indexes_rebuilt, 0u);
}

TEST_F(LogRecoveryTest, CheckpointModeTrustsSegmentsBelowTheRecoveryPointAfterACleanStop) {
  auto w = write("pay-0", 100);
  ASSERT_GE(w.bases().size(), 4u);
  // Damage in segment 0 that only a full scan can see.
  const auto first = w.file(0, segment::kLogSuffix);
  std::string bytes = read_file(first);
  bytes[100] = static_cast<char>(bytes[100] ^ 0x40);
  write_file(first, bytes);
  ASSERT_TRUE(write_recovery_checkpoint(log_dir(), {{"pay-0", w.bases().back()}}));
  ASSERT_TRUE(mark_clean_shutdown(log_dir()));
  auto r = recover(RecoveryMode::checkpoint);
  ASSERT_TRUE(r);
  EXPECT_FALSE(fs::exists(log_dir() / segment::kCleanShutdownFile));
  ASSERT_EQ(r->clean_shutdown, std::vector<bool>{true});
  const auto& p = r->partitions.at(0);
  EXPECT_EQ(p.mode, "checkpoint");
  EXPECT_EQ(p.segments_skipped, w.bases().size() - 1);
  EXPECT_EQ(p.segments_scanned, 1u);
  EXPECT_FALSE(p.truncation);
  EXPECT_EQ(read_file(first), bytes);
  EXPECT_NE(read_file(log_dir() / segment::kRecoveryReportFile).find("\"checkpoint\""),
            std::string::npos);
  // No .clean_shutdown now (consumed): the same mode validates everything.
  auto full = recover(RecoveryMode::checkpoint);
  ASSERT_TRUE(full);
  ASSERT_EQ(full->clean_shutdown, std::vector<bool>{false});
  const auto& q = full->partitions.at(0);
  EXPECT_EQ(q.mode, "full");
  EXPECT_EQ(q.segments_skipped, 0u);
  ASSERT_TRUE(q.truncation);
  EXPECT_EQ(q.segments, 1u);
}

TEST(CheckpointTest, RecoveryPointsRoundTripAndBadFilesAreRejected) {
  sluice::testing::TempDir dir;
  auto empty = read_recovery_checkpoint(dir.path());
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  const RecoveryPoints points{{"a-b-0", Offset{5}}, {"orders-12", Offset{123456789}}};
  ASSERT_TRUE(write_recovery_checkpoint(dir.path(), points));
  EXPECT_EQ(read_file(dir.path() / segment::kRecoveryCheckpointFile),
            "0\n2\na-b 0 5\norders 12 123456789\n");
  auto back = read_recovery_checkpoint(dir.path());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, points);
  for (const char* bad : {"1\n0\n", "0\n2\na 0 5\n", "0\n1\na x 5\n", "0\n1\na 0 5\nextra\n", ""}) {
    write_file(dir.path() / segment::kRecoveryCheckpointFile, bad);
    auto r = read_recovery_checkpoint(dir.path());
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), Errc::bad_checkpoint);
  }
}

TEST(CheckpointTest, CleanShutdownMarkerIsConsumedOnce) {
  sluice::testing::TempDir dir;
  EXPECT_FALSE(consume_clean_shutdown(dir.path()).value());
  ASSERT_TRUE(mark_clean_shutdown(dir.path()));
  EXPECT_TRUE(fs::exists(dir.path() / segment::kCleanShutdownFile));
  EXPECT_TRUE(consume_clean_shutdown(dir.path()).value());
  EXPECT_FALSE(fs::exists(dir.path() / segment::kCleanShutdownFile));
  EXPECT_FALSE(consume_clean_shutdown(dir.path()).value());
}

TEST(ReportTest, JsonStringsAreEscaped) {
  EXPECT_EQ(json_quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  PartitionReport p;
  p.name = "t-0";
  p.truncation = "bad \"batch\"";
  const std::string json = to_json(p);
  EXPECT_NE(json.find("\"truncation\": \"bad \\\"batch\\\"\""), std::string::npos);
  EXPECT_NE(json.find("\"failure\": null"), std::string::npos);
}

}  // namespace
}  // namespace sluice::recovery
