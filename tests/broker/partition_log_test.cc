#include "broker/partition_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "broker/errors.h"
#include "segment/errors.h"
#include "segment/layout.h"
#include "tests/page_cache.h"
#include "tests/temp_dir.h"

namespace sluice::broker {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

using testing::cached_pages;
using testing::count_cached;

class PartitionLogTest : public ::testing::Test {
 protected:
  PartitionLogTest() {
    config_.segment_bytes = 1024;
    config_.segment_index_bytes = 1024;
    config_.index_interval_bytes = 256;
  }

  std::unique_ptr<PartitionLog> open(const std::string& name = "t-0") {
    PartitionLog::Options o;
    o.topic = "t";
    o.dir = dir_.path() / name;
    o.config = config_;
    o.clock_ms = [this] { return now_; };
    o.cache_retain_bytes = cache_retain_bytes_;
    auto log = PartitionLog::open(std::move(o));
    EXPECT_TRUE(log) << log.error().message();
    return std::move(*log);
  }

  // Appends `count` records whose values are "v<offset>" and timestamps kNow + offset.
  AppendResult append(PartitionLog& log, int count) {
    std::vector<std::string> values;
    std::vector<segment::RecordInput> records;
    for (int i = 0; i < count; ++i) {
      values.push_back("v" + std::to_string(log.end_offset().value + i));
    }
    for (int i = 0; i < count; ++i) {
      records.push_back(
          {"k", values[static_cast<size_t>(i)], {}, kNow + log.end_offset().value + i});
    }
    auto r = log.append(records);
    EXPECT_TRUE(r) << r.error().message();
    return *r;
  }

  // The records a read at `offset` returns, in order, skipping those before `offset` in the
  // first batch as a consumer does.
  std::vector<segment::RecordView> records_from(const PartitionLog& log, Offset offset,
                                                std::string& storage) {
    auto slice = log.read(offset, 1 << 20);
    EXPECT_TRUE(slice) << slice.error().message();
    storage = slice->read().value();
    std::vector<segment::RecordView> out;
    auto bytes = std::as_bytes(std::span(storage));
    while (!bytes.empty()) {
      auto h = segment::validate_batch(bytes);
      EXPECT_TRUE(h);
      segment::RecordReader reader(bytes.first(h->size_bytes()));
      while (auto r = reader.next()) {
        if (r->offset >= offset) out.push_back(*r);
      }
      bytes = bytes.subspan(h->size_bytes());
    }
    return out;
  }

  // Appends `count` one-record batches of `value_bytes` each.
  void append_large(PartitionLog& log, int count, size_t value_bytes) {
    const std::string value(value_bytes, 'x');
    for (int i = 0; i < count; ++i) {
      std::vector<segment::RecordInput> records = {{"", value, {}, kNow}};
      ASSERT_TRUE(log.append(records));
    }
  }

  bool page_cache_is_droppable() const { return testing::page_cache_is_droppable(dir_.path()); }

  std::vector<std::filesystem::path> log_files() const {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path() / "t-0")) {
      if (e.path().extension() == segment::kLogSuffix) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  testing::TempDir dir_;
  config::TopicConfig config_;
  int64_t now_ = kNow;
  int64_t cache_retain_bytes_ = -1;
};

TEST_F(PartitionLogTest, OffsetsAreDenseAcrossRolls) {
  auto log = open();
  Offset expected{0};
  for (int i = 0; i < 200; ++i) {
    auto r = append(*log, 1 + i % 4);
    EXPECT_EQ(r.base_offset, expected);
    expected = {r.last_offset.value + 1};
  }
  EXPECT_EQ(log->end_offset(), expected);
  EXPECT_GT(log->segment_count(), 5u);
}

TEST_F(PartitionLogTest, ReadFromEveryOffsetReturnsThatRecordFirst) {
  auto log = open();
  for (int i = 0; i < 100; ++i) append(*log, 1 + i % 3);
  ASSERT_GT(log->segment_count(), 3u);
  for (int64_t o = 0; o < log->end_offset().value; ++o) {
    std::string storage;
    auto records = records_from(*log, Offset{o}, storage);
    ASSERT_FALSE(records.empty()) << o;
    EXPECT_EQ(records.front().offset, Offset{o});
    EXPECT_EQ(records.front().value, "v" + std::to_string(o));
    for (size_t i = 1; i < records.size(); ++i) {
      EXPECT_EQ(records[i].offset.value, records[i - 1].offset.value + 1);
    }
  }
}

TEST_F(PartitionLogTest, ReadOutsideTheLogIsOutOfRangeAndAtTheEndIsEmpty) {
  auto log = open();
  append(*log, 5);
  auto at_end = log->read(Offset{5}, 100);
  ASSERT_TRUE(at_end);
  EXPECT_TRUE(at_end->empty());
  auto past = log->read(Offset{6}, 100);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error(), Errc::offset_out_of_range);
  auto negative = log->read(Offset{-1}, 100);
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error(), Errc::offset_out_of_range);
}

TEST_F(PartitionLogTest, OffsetForTimestampAtBoundaries) {
  auto log = open();
  for (int i = 0; i < 60; ++i) append(*log, 3);  // record o has timestamp kNow + o
  ASSERT_GT(log->segment_count(), 2u);
  EXPECT_EQ(log->offset_for_timestamp(0).value(), Offset{0});
  EXPECT_EQ(log->offset_for_timestamp(kNow).value(), Offset{0});
  for (int64_t o : {1, 2, 3, 50, 99, 100, 179}) {
    EXPECT_EQ(log->offset_for_timestamp(kNow + o).value(), Offset{o}) << o;
  }
  EXPECT_FALSE(log->offset_for_timestamp(kNow + 180).value().has_value());
}

TEST_F(PartitionLogTest, ReopenRestoresEveryRecord) {
  {
    auto log = open();
    for (int i = 0; i < 50; ++i) append(*log, 2);
    ASSERT_TRUE(log->close());
  }
  auto log = open();
  EXPECT_EQ(log->end_offset(), Offset{100});
  std::string storage;
  auto records = records_from(*log, Offset{37}, storage);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.front().value, "v37");
  EXPECT_EQ(append(*log, 1).base_offset, Offset{100});
}

// A clean stop leaves the active segment's indexes trimmed to their entries (their room is
// preallocated while the segment takes appends), and a reopen extends them and goes on.
TEST_F(PartitionLogTest, CloseTrimsTheActiveSegmentsIndexesAndReopenExtendsThem) {
  namespace fs = std::filesystem;
  const fs::path dir = dir_.path() / "t-0";
  auto index_sizes = [&] {
    std::vector<uintmax_t> sizes;
    for (const auto& e : fs::directory_iterator(dir)) {
      const auto ext = e.path().extension();
      if (ext == segment::kIndexSuffix || ext == segment::kTimeIndexSuffix)
        sizes.push_back(fs::file_size(e.path()));
    }
    return sizes;
  };
  {
    auto log = open();
    append(*log, 3);  // one segment, one batch: one entry in each index
    ASSERT_EQ(log->segment_count(), 1u);
    for (auto size : index_sizes()) EXPECT_GE(size, 1000u) << "preallocated while active";
    ASSERT_TRUE(log->close());
  }
  auto sizes = index_sizes();
  ASSERT_EQ(sizes.size(), 2u);
  for (auto size : sizes) EXPECT_TRUE(size == 8 || size == 12) << size;
  auto log = open();
  for (auto size : index_sizes()) EXPECT_GE(size, 1000u) << "extended again when reopened";
  EXPECT_EQ(append(*log, 1).base_offset, Offset{3});
  std::string storage;
  EXPECT_EQ(records_from(*log, Offset{0}, storage).size(), 4u);
}

TEST_F(PartitionLogTest, TruncateThenReappendContinuesFromTheCut) {
  auto log = open();
  for (int i = 0; i < 40; ++i) append(*log, 5);  // batches of 5: 0-4, 5-9, ...
  ASSERT_GT(log->segment_count(), 2u);
  ASSERT_TRUE(log->truncate_to(Offset{62}));  // inside batch 60..64: the whole batch goes
  EXPECT_EQ(log->end_offset(), Offset{60});
  EXPECT_EQ(append(*log, 1).base_offset, Offset{60});
  std::string storage;
  auto records = records_from(*log, Offset{58}, storage);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].offset, Offset{60});
  EXPECT_EQ(records[2].value, "v60");
  // The truncated state survives a reopen.
  ASSERT_TRUE(log->close());
  log.reset();
  log = open();
  EXPECT_EQ(log->end_offset(), Offset{61});
}

TEST_F(PartitionLogTest, RetentionByTimeDeletesOldSealedSegmentsOnly) {
  config_.retention_ms = 1000;
  auto log = open();
  for (int i = 0; i < 60; ++i) append(*log, 3);
  const size_t segments = log->segment_count();
  ASSERT_GT(segments, 3u);
  now_ = kNow + 500;
  EXPECT_EQ(log->apply_retention()->segments_deleted, 0u);
  now_ = kNow + 100000;  // everything expired: all but the active segment go
  auto r = log->apply_retention();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->segments_deleted, segments - 1);
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_GT(log->start_offset(), Offset{0});
  auto old = log->read(Offset{0}, 100);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error(), Errc::offset_out_of_range);
  std::string storage;
  auto records = records_from(*log, log->start_offset(), storage);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.front().offset, log->start_offset());
}

TEST_F(PartitionLogTest, RetentionDeletesNothingFromACompactedTopic) {
  config_.retention_ms = 1000;
  config_.retention_bytes = 1;
  config_.cleanup_policy = config::CleanupPolicy::compact;
  auto log = open();
  for (int i = 0; i < 60; ++i) append(*log, 3);
  const size_t segments = log->segment_count();
  ASSERT_GT(segments, 3u);
  now_ = kNow + 100000;
  auto r = log->apply_retention();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->segments_deleted, 0u);
  EXPECT_EQ(log->segment_count(), segments);
  EXPECT_EQ(log->start_offset(), Offset{0});
}

TEST_F(PartitionLogTest, RetentionByBytesKeepsTheNewestSegmentsWithinTheLimit) {
  config_.retention_bytes = 2048;
  auto log = open();
  for (int i = 0; i < 100; ++i) append(*log, 3);
  ASSERT_GT(log->size_bytes(), 3 * 2048u);
  ASSERT_TRUE(log->apply_retention());
  EXPECT_LE(log->size_bytes(), 2048u + 1024u);
  EXPECT_GT(log->size_bytes(), 1024u);
  EXPECT_EQ(log->end_offset(), Offset{300});
}

TEST_F(PartitionLogTest, ReaderKeepsReadingASegmentThatRetentionDeleted) {
  config_.retention_ms = 1000;
  auto log = open();
  for (int i = 0; i < 60; ++i) append(*log, 3);
  auto slice = log->read(Offset{0}, 1 << 20);
  ASSERT_TRUE(slice);
  now_ = kNow + 100000;
  ASSERT_TRUE(log->apply_retention());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "t-0" /
                                       segment::segment_file_name(Offset{0}, segment::kLogSuffix)));
  auto bytes = slice->read();
  ASSERT_TRUE(bytes);
  EXPECT_TRUE(segment::validate_batch(std::as_bytes(std::span(*bytes))));
}

TEST_F(PartitionLogTest, DeleteBeforeAdvancesTheStartAndSurvivesReopen) {
  auto log = open();
  for (int i = 0; i < 60; ++i) append(*log, 3);
  ASSERT_TRUE(log->delete_before(Offset{100}));
  EXPECT_EQ(log->start_offset(), Offset{100});
  std::string storage;
  EXPECT_EQ(records_from(*log, Offset{100}, storage).front().offset, Offset{100});
  ASSERT_TRUE(log->close());
  log.reset();
  log = open();
  EXPECT_EQ(log->start_offset(), Offset{100});
  EXPECT_EQ(log->end_offset(), Offset{180});
}

TEST_F(PartitionLogTest, LogAppendTimeStampsTheBrokerClock) {
  config_.message_timestamp_type = TimestampType::log_append_time;
  auto log = open();
  now_ = kNow + 777;
  auto r = append(*log, 2);
  EXPECT_EQ(r.log_append_time_ms, kNow + 777);
  std::string storage;
  for (const auto& rec : records_from(*log, Offset{0}, storage)) {
    EXPECT_EQ(rec.timestamp_ms, kNow + 777);
  }
}

TEST_F(PartitionLogTest, RawBatchIsValidatedAndStampedWithTheNextOffset) {
  auto log = open();
  append(*log, 3);
  segment::BatchBuilder builder;
  builder.reset();
  builder.add({"a", "x", {}, kNow});
  builder.add({"b", "y", {}, kNow});
  auto batch = builder.finish();
  std::vector<std::byte> copy(batch.begin(), batch.end());
  auto r = log->append_batch(copy);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->base_offset, Offset{3});
  EXPECT_EQ(r->last_offset, Offset{4});
  copy[copy.size() - 1] ^= std::byte{1};
  auto bad = log->append_batch(copy);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), segment::Errc::checksum_mismatch);
  EXPECT_EQ(log->end_offset(), Offset{5});
}

TEST_F(PartitionLogTest, BatchLargerThanMaxMessageBytesIsRejected) {
  config_.max_message_bytes = 1000;
  auto log = open();
  const std::string big(2000, 'x');
  std::vector<segment::RecordInput> records = {{"k", big, {}, kNow}};
  auto r = log->append(records);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::record_too_large);
  EXPECT_EQ(log->end_offset(), Offset{0});
}

// set_config() while other threads append and read the configuration: every append sees one
// configuration or the other, whole, and the log stays dense (run under TSan too).
TEST_F(PartitionLogTest, ConfigChangesWhileAppendingApplyWholeToEachAppend) {
  config_.segment_bytes = 64 << 10;
  config_.max_message_bytes = 1 << 20;
  auto log = open();
  const std::string value(500, 'x');
  std::atomic<int> stored{0};
  std::atomic<bool> changing{true};
  std::vector<std::thread> appenders;
  for (int t = 0; t < 2; ++t) {
    appenders.emplace_back([&] {
      std::vector<segment::RecordInput> records = {{"k", value, {}, kNow}};
      for (int i = 0; i < 300; ++i) {
        auto r = log->append(records);
        if (r) {
          ++stored;
        } else {
          EXPECT_EQ(r.error(), Errc::record_too_large);
        }
        const int64_t limit = log->config()->max_message_bytes;
        EXPECT_TRUE(limit == 100 || limit == 1 << 20) << limit;
      }
    });
  }
  std::thread changer([&] {
    config::TopicConfig small = config_;
    small.max_message_bytes = 100;
    config::TopicConfig large = config_;
    large.max_message_bytes = 1 << 20;
    for (int i = 0; i < 200; ++i) log->set_config(i % 2 == 0 ? small : large);
    log->set_config(large);
    changing = false;
  });
  for (auto& t : appenders) t.join();
  changer.join();
  EXPECT_FALSE(changing);
  EXPECT_EQ(log->end_offset(), Offset{stored.load()});
  int64_t read = 0;
  for (int64_t offset = 0; offset < log->end_offset().value;) {
    std::string storage;
    auto records = records_from(*log, Offset{offset}, storage);
    ASSERT_FALSE(records.empty()) << offset;
    for (const auto& r : records) EXPECT_EQ(r.offset, Offset{read++});  // dense
    offset = read;
  }
  EXPECT_EQ(read, stored.load());
  std::vector<segment::RecordInput> records = {{"k", value, {}, kNow}};
  EXPECT_TRUE(log->append(records));
  config::TopicConfig small = config_;
  small.max_message_bytes = 100;
  log->set_config(small);
  EXPECT_EQ(log->append(records).error(), Errc::record_too_large);
}

// An append may run on a network thread, so a roll must not sync: it creates the next segment
// and leaves sealing the old one, and syncing the directory, to the next flush.
TEST_F(PartitionLogTest, AppendsThatRollSyncNothingAndTheNextFlushSealsWhatTheyLeft) {
  namespace fs = std::filesystem;
  std::atomic<int> syncs{0};
  std::vector<bool> rolls;
  PartitionLog::Options o;
  o.topic = "t";
  o.dir = dir_.path() / "t-0";
  o.config = config_;
  o.clock_ms = [this] { return now_; };
  o.sync = [&syncs](int fd) {
    ++syncs;
    return fdatasync_fd(fd);
  };
  o.on_append = [&rolls](PartitionLog&, bool rolled) { rolls.push_back(rolled); };
  auto log = PartitionLog::open(std::move(o)).value();
  while (log->segment_count() < 3) append(*log, 10);
  EXPECT_EQ(syncs.load(), 0);
  EXPECT_EQ(std::count(rolls.begin(), rolls.end(), true), 2);
  const auto first_index = dir_.path() / "t-0" / segment::segment_file_name(Offset{0}, ".index");
  EXPECT_GE(fs::file_size(first_index), 1000u) << "not sealed yet: still preallocated";
  ASSERT_TRUE(log->flush());
  EXPECT_GT(syncs.load(), 0);
  EXPECT_LT(fs::file_size(first_index), 1000u) << "sealed by the flush: trimmed to its entries";
}

TEST_F(PartitionLogTest, FailedSyncTakesTheLogOffline) {
  PartitionLog::Options o;
  o.topic = "t";
  o.dir = dir_.path() / "t-0";
  o.config = config_;
  o.sync = [](int) -> Result<void> { return errno_code(EIO); };
  auto log = PartitionLog::open(std::move(o)).value();
  append(*log, 1);
  auto flushed = log->flush();
  ASSERT_FALSE(flushed);
  EXPECT_EQ(flushed.error(), std::errc::io_error);
  std::vector<segment::RecordInput> records = {{"k", "v", {}, kNow}};
  auto r = log->append(records);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::log_offline);
  EXPECT_EQ(log->flush().error(), Errc::log_offline);
}

TEST_F(PartitionLogTest, FlushDropsCachedPagesBehindTheRetainedWindow) {
  if (!page_cache_is_droppable()) GTEST_SKIP() << "the temp dir is on tmpfs";
  config_.segment_bytes = 1 << 20;
  config_.segment_index_bytes = 1 << 20;
  cache_retain_bytes_ = 16 << 10;
  auto log = open();
  append_large(*log, 200, 1000);
  ASSERT_EQ(log_files().size(), 1u);  // ~200 KiB in one segment
  const auto file = log_files().at(0);
  const size_t size = std::filesystem::file_size(file);
  ASSERT_EQ(count_cached(cached_pages(file)), cached_pages(file).size());

  ASSERT_TRUE(log->flush());
  const auto pages = cached_pages(file);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t window_start = (size - (16 << 10)) / page;  // the page holding the window's start
  EXPECT_EQ(count_cached({pages.begin(), pages.begin() + static_cast<ptrdiff_t>(window_start)}),
            0u);
  EXPECT_EQ(count_cached({pages.begin() + static_cast<ptrdiff_t>(window_start), pages.end()}),
            pages.size() - window_start);

  // Dropping is only a hint: every record still reads back, and appends go on.
  std::string storage;
  EXPECT_EQ(records_from(*log, Offset{0}, storage).size(), 200u);
  append_large(*log, 1, 1000);
  EXPECT_EQ(records_from(*log, Offset{200}, storage).size(), 1u);
}

TEST_F(PartitionLogTest, FlushDropsSealedSegmentsWhollyOnceTheWindowPassesThem) {
  if (!page_cache_is_droppable()) GTEST_SKIP() << "the temp dir is on tmpfs";
  config_.segment_bytes = 8 << 10;
  cache_retain_bytes_ = 0;
  auto log = open();
  append_large(*log, 40, 1000);  // five or six segments, each ending in a partial page
  ASSERT_TRUE(log->flush());
  const auto files = log_files();
  ASSERT_GE(files.size(), 4u);
  for (size_t i = 0; i + 1 < files.size(); ++i) {
    EXPECT_EQ(count_cached(cached_pages(files[i])), 0u) << files[i].filename();
  }
  // The active segment keeps the partial page the next append writes into.
  const auto active = cached_pages(files.back());
  ASSERT_FALSE(active.empty());
  EXPECT_TRUE(active.back());
  EXPECT_EQ(count_cached(active), 1u);
  // Every record still reads back, segment after segment.
  int64_t next = 0;
  while (next < 40) {
    std::string storage;
    const auto records = records_from(*log, Offset{next}, storage);
    ASSERT_FALSE(records.empty());
    EXPECT_EQ(records.front().offset, Offset{next});
    EXPECT_EQ(records.front().value->size(), 1000u);
    next = records.back().offset.value + 1;
  }
}

TEST_F(PartitionLogTest, FlushKeepsCachedPagesWhenTheWindowIsUnlimited) {
  config_.segment_bytes = 1 << 20;
  cache_retain_bytes_ = -1;
  auto log = open();
  append_large(*log, 100, 1000);
  ASSERT_TRUE(log->flush());
  const auto pages = cached_pages(log_files().at(0));
  EXPECT_EQ(count_cached(pages), pages.size());
}

// Client batches for append_jobs: each `count` records valued "j<job>-<i>" and `pad` bytes more.
std::vector<std::vector<std::byte>> client_batches(int job, int batches, int count,
                                                   size_t pad = 0) {
  std::vector<std::vector<std::byte>> out;
  segment::BatchBuilder builder;
  for (int b = 0; b < batches; ++b) {
    builder.reset();
    std::vector<std::string> values;
    for (int i = 0; i < count; ++i) {
      values.push_back("j" + std::to_string(job) + "-" + std::to_string(b * count + i) + "." +
                       std::string(pad, 'x'));
    }
    for (const auto& v : values) builder.add({"k", v, {}, kNow});
    auto bytes = builder.finish();
    out.emplace_back(bytes.begin(), bytes.end());
  }
  return out;
}

std::vector<segment::ValidBatch> check_all(std::vector<std::vector<std::byte>>& batches) {
  std::vector<segment::ValidBatch> out;
  for (auto& b : batches) out.push_back(segment::ValidBatch::check(b).value());
  return out;
}

// The flusher hands append_jobs() every batch queued during a sync: offsets follow the jobs'
// order, segments roll inside a run as they would between single appends, and each record
// reads back where its job's results put it, direct or not.
TEST_F(PartitionLogTest, AppendJobsStampInJobOrderAndRollInsideARun) {
  config_.segment_bytes = 8192;  // runs of several 4 KiB blocks, and rolls inside them
  config_.segment_index_bytes = 4096;
  for (const bool direct : {false, true}) {
    SCOPED_TRACE(direct ? "direct" : "buffered");
    std::filesystem::remove_all(dir_.path() / "t-0");
    auto log = open();
    append(*log, 2);
    std::vector<std::vector<std::vector<std::byte>>> bytes;
    std::vector<std::vector<segment::ValidBatch>> batches;
    for (int j = 0; j < 6; ++j) bytes.push_back(client_batches(j, 1 + j % 3, 4 + j, 300));
    for (auto& b : bytes) batches.push_back(check_all(b));
    std::vector<PartitionLog::AppendJob> jobs(bytes.size());
    std::vector<PartitionLog::AppendJob*> job_ptrs;
    for (size_t j = 0; j < jobs.size(); ++j) {
      jobs[j].batches = batches[j];
      job_ptrs.push_back(&jobs[j]);
    }
    segment::DirectBuffer scratch;
    log->append_jobs(job_ptrs, direct ? &scratch : nullptr);
    Offset expected{2};
    for (size_t j = 0; j < jobs.size(); ++j) {
      ASSERT_FALSE(jobs[j].error) << j << ": " << jobs[j].error.message();
      ASSERT_EQ(jobs[j].results.size(), batches[j].size()) << j;
      for (size_t b = 0; b < jobs[j].results.size(); ++b) {
        const auto& r = jobs[j].results[b];
        EXPECT_EQ(r.base_offset, expected) << j << "/" << b;
        const auto count = static_cast<int64_t>(4 + j);
        EXPECT_EQ(r.last_offset, Offset{expected.value + count - 1});
        std::string storage;
        const auto records = records_from(*log, r.base_offset, storage);
        ASSERT_GE(records.size(), static_cast<size_t>(count));
        EXPECT_EQ(records[0].offset, r.base_offset);
        EXPECT_TRUE(records[0].value->starts_with("j" + std::to_string(j) + "-" +
                                                  std::to_string(b * count) + "."));
        expected = Offset{r.last_offset.value + 1};
      }
    }
    EXPECT_EQ(log->end_offset(), expected);
    EXPECT_GT(log->segment_count(), 2u);
    log.reset();
    auto reopened = open();
    EXPECT_EQ(reopened->end_offset(), expected);
  }
}

TEST_F(PartitionLogTest, AppendJobsFailOnlyTheJobWithABatchTooLarge) {
  config_.max_message_bytes = 400;
  auto log = open();
  auto small = client_batches(0, 2, 3);
  auto large = client_batches(1, 1, 60);
  auto after = client_batches(2, 1, 3);
  auto small_valid = check_all(small);
  auto large_valid = check_all(large);
  auto after_valid = check_all(after);
  ASSERT_GT(large.front().size(), 400u);
  PartitionLog::AppendJob a{small_valid, false, {}, {}};
  PartitionLog::AppendJob b{large_valid, false, {}, {}};
  PartitionLog::AppendJob c{after_valid, false, {}, {}};
  std::vector<PartitionLog::AppendJob*> jobs = {&a, &b, &c};
  log->append_jobs(jobs, nullptr);
  EXPECT_FALSE(a.error);
  EXPECT_EQ(a.results.size(), 2u);
  EXPECT_EQ(b.error, Errc::record_too_large);
  EXPECT_TRUE(b.results.empty());
  EXPECT_FALSE(c.error);
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_EQ(c.results[0].base_offset, Offset{6});
  EXPECT_EQ(log->end_offset(), Offset{9});
}

// Every byte of the log from `offset` to its end, as a replica fetch would send it.
std::string log_bytes(const PartitionLog& log, Offset offset) {
  std::string out;
  while (offset < log.end_offset()) {
    auto slice = log.read(offset, 1 << 20);
    EXPECT_TRUE(slice);
    if (!slice || slice->empty()) break;
    std::string chunk(slice->length, '\0');
    EXPECT_EQ(
        ::pread(slice->fd(), chunk.data(), chunk.size(), static_cast<off_t>(slice->position.value)),
        static_cast<ssize_t>(chunk.size()));
    out += chunk;
    offset = slice->next_offset;
  }
  return out;
}

// The batches of `bytes` (whole batches back to back), validated in place.
std::vector<segment::ValidBatch> split_batches(std::string& bytes) {
  std::vector<segment::ValidBatch> out;
  auto rest = std::as_writable_bytes(std::span(bytes));
  while (!rest.empty()) {
    auto batch = segment::ValidBatch::check(rest);
    EXPECT_TRUE(batch) << batch.error().message();
    if (!batch) break;
    rest = rest.subspan(batch->bytes().size());
    out.push_back(*batch);
  }
  return out;
}

TEST_F(PartitionLogTest, BatchesAreStampedWithTheEpochOfTheLeadershipTakenBeforeThem) {
  auto log = open();
  append(*log, 3);
  ASSERT_TRUE(log->become_leader(7));
  append(*log, 2);
  auto slice = log->read(Offset{3}, 1 << 20);
  ASSERT_TRUE(slice);
  std::string bytes(slice->length, '\0');
  ASSERT_EQ(
      ::pread(slice->fd(), bytes.data(), bytes.size(), static_cast<off_t>(slice->position.value)),
      static_cast<ssize_t>(bytes.size()));
  auto header = segment::parse_header(std::as_bytes(std::span(bytes)));
  ASSERT_TRUE(header);
  EXPECT_EQ(header->leader_epoch, 7);
  EXPECT_EQ(log->last_batch_epoch(), 7);
}

// A follower keeps its leader's batches as they are: the same bytes at the same offsets, rolled
// at the same sizes, so both logs read back identical.
TEST_F(PartitionLogTest, AReplicaAppendsItsLeadersBatchesByteForByte) {
  auto leader = open("t-0");
  auto follower = open("t-1");
  ASSERT_TRUE(leader->become_leader(2));
  for (int i = 0; i < 30; ++i) append(*leader, 1 + i % 4);
  ASSERT_TRUE(leader->become_leader(5));
  for (int i = 0; i < 10; ++i) append(*leader, 2);
  std::string fetched = log_bytes(*leader, Offset{0});
  auto batches = split_batches(fetched);
  auto appended = follower->append_replicated(batches);
  ASSERT_TRUE(appended) << appended.error().message();
  EXPECT_EQ(follower->end_offset(), leader->end_offset());
  EXPECT_EQ(follower->last_batch_epoch(), 5);
  EXPECT_GT(leader->segment_count(), 1u);
  EXPECT_EQ(follower->segment_count(), leader->segment_count());
  EXPECT_TRUE(log_bytes(*follower, Offset{0}) == log_bytes(*leader, Offset{0}));
}

// A follower told where each of its leader's segments begins rolls exactly there, whatever
// its own settings say, so its sealed segments are the leader's files (repair from a replica
// relies on it).
TEST_F(PartitionLogTest, AReplicaRollsWhereItsLeadersSegmentsBegin) {
  auto leader = open("t-0");
  ASSERT_TRUE(leader->become_leader(1));
  for (int i = 0; i < 40; ++i) append(*leader, 1 + i % 3);
  ASSERT_GT(leader->segment_count(), 3u);
  config_.segment_bytes = 1 << 20;  // the follower alone would never roll
  config_.segment_ms = 1;           // nor roll by age: only where the leader did
  auto follower = open("t-1");
  for (const auto& s : leader->sealed_segments()) {
    // One fetch per leader segment, as the leader answers them.
    std::string fetched = log_bytes(*leader, s->base_offset());
    auto batches = split_batches(fetched);
    std::vector<segment::ValidBatch> in_segment;
    for (const auto& b : batches) {
      if (b.header().base_offset < s->next_offset()) in_segment.push_back(b);
    }
    ASSERT_TRUE(follower->append_replicated(in_segment, s->base_offset()));
  }
  std::string rest = log_bytes(*leader, leader->active_base());
  auto tail = split_batches(rest);
  ASSERT_TRUE(follower->append_replicated(tail, leader->active_base()));
  const auto ours = follower->sealed_segments();
  const auto theirs = leader->sealed_segments();
  ASSERT_EQ(ours.size(), theirs.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_EQ(ours[i]->base_offset(), theirs[i]->base_offset());
    EXPECT_EQ(ours[i]->size_bytes(), theirs[i]->size_bytes());
  }
  EXPECT_EQ(follower->active_base(), leader->active_base());
}

TEST_F(PartitionLogTest, AReplicaRefusesABatchNotAtItsEndOrOfAnOlderEpoch) {
  auto leader = open("t-0");
  auto follower = open("t-1");
  ASSERT_TRUE(leader->become_leader(3));
  append(*leader, 2);
  append(*leader, 2);
  std::string fetched = log_bytes(*leader, Offset{0});
  auto batches = split_batches(fetched);
  ASSERT_EQ(batches.size(), 2u);
  // The second batch alone starts at offset 2; the follower's log ends at 0.
  auto gap = follower->append_replicated(std::span(batches).subspan(1));
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error(), Errc::not_at_log_end);
  EXPECT_EQ(follower->end_offset(), Offset{0});
  ASSERT_TRUE(follower->append_replicated(batches));

  // A batch of epoch 1 after epoch 3's: a deposed leader's, never accepted.
  auto old_leader = open("t-2");
  ASSERT_TRUE(old_leader->become_leader(1));
  for (int i = 0; i < 3; ++i) append(*old_leader, 4);  // offsets 0..11; its batch at 4 is next
  std::string old_bytes = log_bytes(*old_leader, Offset{4});
  auto old_batches = split_batches(old_bytes);
  ASSERT_FALSE(old_batches.empty());
  auto stale = follower->append_replicated(std::span(old_batches).first(1));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error(), Errc::stale_epoch);
  EXPECT_EQ(follower->end_offset(), Offset{4});
}

// A follower records each leader epoch its leader's batches carry in its own checkpoint, so it
// can later answer where an epoch ended (and recovery can check it).
TEST_F(PartitionLogTest, AReplicaRecordsTheLeaderEpochsOfTheBatchesItAppends) {
  auto leader = open("t-0");
  auto follower = open("t-1");
  ASSERT_TRUE(leader->become_leader(2));
  append(*leader, 3);
  ASSERT_TRUE(leader->become_leader(4));
  append(*leader, 2);
  std::string fetched = log_bytes(*leader, Offset{0});
  ASSERT_TRUE(follower->append_replicated(split_batches(fetched)));
  const auto entries = follower->epochs().entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].epoch, 2);
  EXPECT_EQ(entries[0].start_offset, 0);
  EXPECT_EQ(entries[1].epoch, 4);
  EXPECT_EQ(entries[1].start_offset, 3);
}

// A standalone log shows consumers everything appended; a tracked high watermark moves only
// forward, never past the end, and truncation below it pulls it back.
TEST_F(PartitionLogTest, TheHighWatermarkBoundsReadsAndOnlyMovesForwardUnlessTruncated) {
  auto log = open();
  append(*log, 2);
  append(*log, 3);
  EXPECT_EQ(log->high_watermark(), Offset{5});
  EXPECT_FALSE(log->tracks_high_watermark());
  log->track_high_watermark();
  EXPECT_EQ(log->high_watermark(), Offset{0});
  EXPECT_TRUE(log->advance_high_watermark(Offset{2}));
  EXPECT_FALSE(log->advance_high_watermark(Offset{1}));
  EXPECT_EQ(log->high_watermark(), Offset{2});
  // A read up to the high watermark stops at the batch boundary there.
  auto slice = log->read(Offset{0}, 1 << 20, log->high_watermark());
  ASSERT_TRUE(slice);
  EXPECT_EQ(slice->next_offset, Offset{2});
  auto beyond = log->read(Offset{2}, 1 << 20, log->high_watermark());
  ASSERT_TRUE(beyond);
  EXPECT_TRUE(beyond->empty());
  EXPECT_TRUE(log->advance_high_watermark(Offset{99}));
  EXPECT_EQ(log->high_watermark(), Offset{5});
  ASSERT_TRUE(log->truncate_to(Offset{2}));
  EXPECT_EQ(log->high_watermark(), Offset{2});
}

// What a truncation cuts is shown to the caller first, as the file and position where the cut
// starts; a refusal cuts nothing.
TEST_F(PartitionLogTest, ATruncationDescribesItsCutFirstAndARefusedCopyCutsNothing) {
  auto log = open();
  for (int i = 0; i < 20; ++i) append(*log, 2);
  ASSERT_GT(log->segment_count(), 1u);
  const auto end = log->end_offset();
  auto refuse = [](const recovery::QuarantineCut&) -> Result<void> {
    return std::make_error_code(std::errc::io_error);
  };
  EXPECT_FALSE(log->truncate_to(Offset{7}, refuse));
  EXPECT_EQ(log->end_offset(), end);
  recovery::QuarantineCut seen;
  auto keep = [&](const recovery::QuarantineCut& cut) -> Result<void> {
    seen = cut;
    return {};
  };
  ASSERT_TRUE(log->truncate_to(Offset{7}, keep));
  EXPECT_EQ(log->end_offset(), Offset{6});  // the batch holding 7 starts at 6
  EXPECT_FALSE(seen.first_file.empty());
  EXPECT_FALSE(seen.later_files.empty());
  auto slice = log->read(Offset{4}, 1 << 20);
  ASSERT_TRUE(slice);
  EXPECT_EQ(slice->position.value + slice->length, seen.position);
}

// A follower behind its leader's log start starts over there: empty, at that offset, every old
// batch described first so it can be copied away.
TEST_F(PartitionLogTest, ARestartAtALaterOffsetEmptiesTheLogAndStartsItThere) {
  auto log = open();
  ASSERT_TRUE(log->become_leader(1));
  for (int i = 0; i < 20; ++i) append(*log, 2);
  ASSERT_GT(log->segment_count(), 1u);
  EXPECT_FALSE(log->restart_at(Offset{10}));  // not past the end
  const size_t files_before = log_files().size();
  recovery::QuarantineCut seen;
  auto keep = [&](const recovery::QuarantineCut& cut) -> Result<void> {
    seen = cut;
    return {};
  };
  ASSERT_TRUE(log->restart_at(Offset{100}, keep));
  EXPECT_EQ(seen.position, 0u);
  EXPECT_EQ(seen.later_files.size() + 1, files_before);
  EXPECT_EQ(log_files().size(), 1u);
  EXPECT_EQ(log->start_offset(), Offset{100});
  EXPECT_EQ(log->end_offset(), Offset{100});
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_TRUE(log->epochs().entries().empty());
  append(*log, 3);
  EXPECT_EQ(log->end_offset(), Offset{103});
  ASSERT_TRUE(log->flush());
  ASSERT_TRUE(log->close());
  log.reset();
  auto reopened = open();
  EXPECT_EQ(reopened->start_offset(), Offset{100});
  EXPECT_EQ(reopened->end_offset(), Offset{103});
}

}  // namespace
}  // namespace sluice::broker
