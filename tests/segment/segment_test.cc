#include "segment/segment.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "segment/errors.h"
#include "tests/disk_blocks.h"
#include "tests/page_cache.h"
#include "tests/small_fs.h"
#include "tests/temp_dir.h"

namespace sluice::segment {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

class SegmentTest : public ::testing::Test {
 protected:
  std::shared_ptr<Segment> make(SegmentOptions options = {1 << 16, 4096}) {
    auto s = Segment::create(dir_.path(), Offset{100}, options, kNow);
    EXPECT_TRUE(s) << s.error().message();
    return *s;
  }

  // Appends a batch of `count` records of `value_size` bytes at the segment's next offset.
  BatchHeader append(Segment& s, int count, size_t value_size, int64_t ts) {
    builder_.reset();
    const std::string value(value_size, 'v');
    for (int i = 0; i < count; ++i) builder_.add({"key", value, {}, ts + i});
    auto batch = builder_.finish();
    stamp_batch(batch, s.next_offset(), 0);
    auto h = parse_header(batch);
    EXPECT_TRUE(h);
    EXPECT_TRUE(s.append(batch, *h));
    return *h;
  }

  testing::TempDir dir_;
  BatchBuilder builder_;
};

TEST(SegmentFileNameTest, NamesRoundTripAndRejectOthers) {
  EXPECT_EQ(segment_file_name(Offset{368769}, kLogSuffix), "00000000000000368769.log");
  EXPECT_EQ(parse_segment_file_name("00000000000000368769.log", kLogSuffix), Offset{368769});
  EXPECT_FALSE(parse_segment_file_name("0000000000000036876x.log", kLogSuffix));
  EXPECT_FALSE(parse_segment_file_name("368769.log", kLogSuffix));
  EXPECT_FALSE(parse_segment_file_name("00000000000000368769.index", kLogSuffix));
}

TEST_F(SegmentTest, ReadFromEveryOffsetStartsWithTheBatchHoldingIt) {
  auto s = make();
  std::vector<BatchHeader> batches;
  for (int i = 0; i < 20; ++i) batches.push_back(append(*s, 3, 100, kNow + i * 10));
  EXPECT_EQ(s->next_offset(), Offset{160});
  for (int64_t o = 100; o < 160; ++o) {
    auto slice = s->read(Offset{o}, 1);
    ASSERT_TRUE(slice);
    const auto& expected = batches[static_cast<size_t>((o - 100) / 3)];
    EXPECT_EQ(slice->first_base_offset, expected.base_offset) << o;
    EXPECT_EQ(slice->length, expected.size_bytes()) << o;
    auto bytes = slice->read();
    ASSERT_TRUE(bytes);
    auto h = validate_batch(std::as_bytes(std::span(*bytes)));
    ASSERT_TRUE(h);
    EXPECT_EQ(h->base_offset, expected.base_offset);
  }
  auto past = s->read(Offset{160}, 1 << 20);
  ASSERT_TRUE(past);
  EXPECT_TRUE(past->empty());
}

TEST_F(SegmentTest, ReadStopsAtMaxBytesButReturnsAtLeastOneBatch) {
  auto s = make();
  const auto h = append(*s, 10, 500, kNow);
  append(*s, 10, 500, kNow);
  append(*s, 10, 500, kNow);
  auto one = s->read(Offset{100}, 10);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->length, h.size_bytes());
  EXPECT_EQ(one->next_offset, Offset{110});
  auto two = s->read(Offset{100}, 2 * h.size_bytes() + 1);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->next_offset, Offset{120});
  auto all = s->read(Offset{105}, 1 << 20);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->first_base_offset, Offset{100});
  EXPECT_EQ(all->next_offset, Offset{130});
}

TEST_F(SegmentTest, ReadTakesTheMostWholeBatchesThatFitMaxBytes) {
  auto s = make({1 << 16, 300});
  std::vector<BatchHeader> batches;
  for (int i = 0; i < 80; ++i) batches.push_back(append(*s, 1 + i % 3, 20 + (i * 37) % 200, kNow));
  for (size_t first = 0; first < batches.size(); first += 7) {
    for (uint64_t max_bytes : {1ul, 100ul, 700ul, 2000ul, 5000ul, 100000ul}) {
      // The reference: whole batches from `first` while they fit, at least one.
      uint64_t expected = batches[first].size_bytes();
      size_t next = first + 1;
      while (next < batches.size() && expected + batches[next].size_bytes() <= max_bytes) {
        expected += batches[next++].size_bytes();
      }
      auto slice = s->read(batches[first].base_offset, max_bytes);
      ASSERT_TRUE(slice);
      EXPECT_EQ(slice->length, expected) << first << " " << max_bytes;
      EXPECT_EQ(slice->next_offset,
                next < batches.size() ? batches[next].base_offset : s->next_offset());
    }
  }
}

TEST_F(SegmentTest, OffsetIndexGetsAnEntryEveryIntervalBytes) {
  auto s = make({1 << 16, 1000});
  uint64_t last_indexed = 0;
  size_t expected_entries = 0;
  for (int i = 0; i < 30; ++i) {
    const uint64_t pos = s->size_bytes();
    auto h = append(*s, 1, 300, kNow + i);
    if (i == 0 || pos - last_indexed >= 1000) {
      ++expected_entries;
      last_indexed = pos;
      EXPECT_EQ(s->offset_index().last()->offset, h.base_offset);
    }
  }
  EXPECT_EQ(s->offset_index().entries(), expected_entries);
  EXPECT_GT(expected_entries, 5u);
}

TEST_F(SegmentTest, ReopenRestoresNextOffsetSizeAndMaxTimestamp) {
  uint64_t size = 0;
  {
    auto s = make({1 << 16, 500});
    for (int i = 0; i < 25; ++i) append(*s, 2, 100, kNow + i);
    size = s->size_bytes();
  }
  auto s = Segment::open(dir_.path(), Offset{100}, {1 << 16, 500}, true, kNow);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ((*s)->next_offset(), Offset{150});
  EXPECT_EQ((*s)->size_bytes(), size);
  EXPECT_EQ((*s)->max_timestamp(), kNow + 25);
  append(**s, 1, 10, kNow + 100);
  EXPECT_EQ((*s)->next_offset(), Offset{151});
}

TEST_F(SegmentTest, OffsetForTimestampFindsTheFirstRecordAtOrAfter) {
  auto s = make({1 << 16, 200});
  // Batch i holds offsets 100+4i .. 100+4i+3 with timestamps kNow + 10i + 0..3.
  for (int i = 0; i < 50; ++i) append(*s, 4, 50, kNow + 10 * i);
  auto at = [&](int64_t ts) { return s->offset_for_timestamp(ts).value(); };
  EXPECT_EQ(at(0), Offset{100});
  EXPECT_EQ(at(kNow), Offset{100});
  EXPECT_EQ(at(kNow + 1), Offset{101});
  EXPECT_EQ(at(kNow + 4), Offset{104});  // between batches: first of the next
  EXPECT_EQ(at(kNow + 250), Offset{200});
  EXPECT_EQ(at(kNow + 493), Offset{299});
  EXPECT_FALSE(at(kNow + 494).has_value());
}

TEST_F(SegmentTest, TruncateRemovesWholeBatchesFromTheOneHoldingTheOffset) {
  auto s = make({1 << 16, 300});
  std::vector<uint64_t> positions;
  for (int i = 0; i < 10; ++i) {
    positions.push_back(s->size_bytes());
    append(*s, 5, 100, kNow + i);
  }
  ASSERT_TRUE(s->truncate_to(Offset{127}));  // inside batch 5 (offsets 125..129)
  EXPECT_EQ(s->next_offset(), Offset{125});
  EXPECT_EQ(s->size_bytes(), positions[5]);
  EXPECT_TRUE(s->offset_index().verify());
  auto h = append(*s, 1, 10, kNow);
  EXPECT_EQ(h.base_offset, Offset{125});
  auto slice = s->read(Offset{125}, 1 << 20);
  ASSERT_TRUE(slice);
  EXPECT_EQ(slice->next_offset, Offset{126});
}

TEST_F(SegmentTest, RollIsNeededOnSizeAgeFullIndexAndOffsetOverflow) {
  auto s = make({24, 0});  // room for three offset-index entries, two time-index entries
  EXPECT_FALSE(s->needs_roll(1 << 20, Offset{100}, 1000, 1000, kNow + 5000));  // empty
  append(*s, 1, 10, kNow);
  EXPECT_FALSE(s->needs_roll(100, Offset{101}, 1000, 1000, kNow));
  EXPECT_TRUE(s->needs_roll(1000, Offset{101}, 1000, 1000, kNow));               // size
  EXPECT_TRUE(s->needs_roll(100, Offset{101}, 1000, 1000, kNow + 1000));         // age
  EXPECT_TRUE(s->needs_roll(100, Offset{100 + (1LL << 32)}, 1000, 1000, kNow));  // offsets
  append(*s, 1, 10, kNow + 1);
  EXPECT_TRUE(s->needs_roll(100, Offset{102}, 1000, 1000, kNow));  // time index full
}

TEST_F(SegmentTest, SealTrimsIndexesAndRefusesAppends) {
  auto s = make({1 << 16, 0});
  for (int i = 0; i < 5; ++i) append(*s, 1, 10, kNow + i);
  ASSERT_TRUE(s->seal());
  EXPECT_EQ(std::filesystem::file_size(dir_.path() / "00000000000000000100.index"),
            5 * index::kOffsetEntrySize);
  EXPECT_EQ(s->time_index().last()->timestamp_ms, kNow + 4);
  builder_.reset();
  builder_.add({"k", "v", {}, kNow});
  auto batch = builder_.finish();
  stamp_batch(batch, s->next_offset(), 0);
  auto r = s->append(batch, *parse_header(batch));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::segment_full);
}

using testing::allocated_bytes;

constexpr uint64_t kReserve = 1 << 20;

TEST_F(SegmentTest, ReservedBlocksKeepTheFileSizeThatOfItsBatchesAndAreFreedBySeal) {
  auto s = make({1 << 16, 4096, kReserve});
  append(*s, 3, 100, kNow);
  if (allocated_bytes(s->log_path()) < kReserve) GTEST_SKIP() << "no fallocate here";
  EXPECT_EQ(std::filesystem::file_size(s->log_path()), s->size_bytes());
  for (int i = 0; i < 40; ++i) append(*s, 10, 1000, kNow + i);  // past the first reservation
  EXPECT_EQ(std::filesystem::file_size(s->log_path()), s->size_bytes());
  EXPECT_GE(allocated_bytes(s->log_path()), s->size_bytes() + kReserve / 2);
  // Reads and a reopen see the batches alone.
  auto slice = s->read(Offset{100}, UINT64_MAX);
  ASSERT_TRUE(slice);
  EXPECT_EQ(slice->length, s->size_bytes());
  EXPECT_EQ(slice->next_offset, Offset{503});

  ASSERT_TRUE(s->seal());
  EXPECT_EQ(std::filesystem::file_size(s->log_path()), s->size_bytes());
  EXPECT_LT(allocated_bytes(s->log_path()), s->size_bytes() + 64 * 1024);
}

TEST_F(SegmentTest, BlocksReservedBeforeACrashAreFreedWhenTheReopenedSegmentCloses) {
  uint64_t size = 0;
  {
    auto s = make({1 << 16, 4096, kReserve});
    append(*s, 3, 100, kNow);
    if (allocated_bytes(s->log_path()) < kReserve) GTEST_SKIP() << "no fallocate here";
    size = s->size_bytes();
    // Dropped without close_indexes(), as a crash would.
  }
  auto s = Segment::open(dir_.path(), Offset{100}, {1 << 16, 4096, kReserve}, true, kNow);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ((*s)->size_bytes(), size);
  EXPECT_EQ((*s)->next_offset(), Offset{103});
  EXPECT_GE(allocated_bytes((*s)->log_path()), kReserve);
  ASSERT_TRUE((*s)->close_indexes());
  EXPECT_EQ(std::filesystem::file_size((*s)->log_path()), size);
  EXPECT_LT(allocated_bytes((*s)->log_path()), size + 64 * 1024);
}

TEST_F(SegmentTest, TruncationFreesReservedBlocksAndAppendsReserveAgain) {
  auto s = make({1 << 16, 4096, kReserve});
  append(*s, 3, 100, kNow);
  if (allocated_bytes(s->log_path()) < kReserve) GTEST_SKIP() << "no fallocate here";
  append(*s, 3, 100, kNow);
  ASSERT_TRUE(s->truncate_to(Offset{103}));
  EXPECT_EQ(std::filesystem::file_size(s->log_path()), s->size_bytes());
  EXPECT_LT(allocated_bytes(s->log_path()), s->size_bytes() + 64 * 1024);
  append(*s, 3, 100, kNow);
  EXPECT_EQ(s->next_offset(), Offset{106});
  EXPECT_EQ(std::filesystem::file_size(s->log_path()), s->size_bytes());
  EXPECT_GE(allocated_bytes(s->log_path()), kReserve);
}

TEST_F(SegmentTest, NothingIsReservedOnANearlyFullFileSystem) {
  // 1 MiB steps: a 64 MiB file system has room for 16 of them, an 8 MiB one has not.
  testing::SmallFs roomy("64m");
  if (!roomy.mounted()) GTEST_SKIP() << roomy.why_not();
  testing::SmallFs tight("8m");
  ASSERT_TRUE(tight.mounted());
  for (const auto* fs : {&roomy, &tight}) {
    auto s = Segment::create(fs->path(), Offset{100}, {1 << 16, 4096, kReserve}, kNow);
    ASSERT_TRUE(s) << s.error().message();
    append(**s, 3, 100, kNow);
    append(**s, 3, 100, kNow);
    EXPECT_EQ(std::filesystem::file_size((*s)->log_path()), (*s)->size_bytes());
    if (fs == &roomy) {
      EXPECT_GE(allocated_bytes((*s)->log_path()), kReserve);
    } else {
      EXPECT_LT(allocated_bytes((*s)->log_path()), 64 * 1024);
    }
  }
}

// Whole batches built and stamped for runs of Segment::append(batches, direct).
class RunBuilder {
 public:
  // A one-record batch of exactly `bytes` bytes (at least 80), stamped from `next`.
  void add_sized(size_t bytes, Offset& next) {
    size_t value = bytes - 70;
    for (int i = 0; i < 4; ++i) {
      const auto built = build(value);
      if (built == bytes) break;
      value = value + bytes - built;
    }
    add(value, next);
    EXPECT_EQ(storage_.back().size(), bytes);
  }

  // A one-record batch with a `value`-byte value, stamped from `next`.
  void add(size_t value, Offset& next) {
    build(value);
    auto batch = builder_.finish();
    storage_.emplace_back(batch.begin(), batch.end());
    stamp_batch(storage_.back(), next, 0);
    auto h = parse_header(storage_.back());
    EXPECT_TRUE(h);
    headers_.push_back(*h);
    next = h->next_offset();
  }

  // The batches added since the last call, as a run.
  std::vector<StampedBatch> take() {
    std::vector<StampedBatch> run;
    for (size_t i = taken_; i < storage_.size(); ++i) run.push_back({storage_[i], headers_[i]});
    taken_ = storage_.size();
    return run;
  }

 private:
  size_t build(size_t value) {
    builder_.reset();
    builder_.add({"", std::string(value, static_cast<char>('a' + storage_.size() % 26)), {}, kNow});
    return builder_.size_bytes();
  }

  BatchBuilder builder_;
  std::deque<std::vector<std::byte>> storage_;
  std::vector<BatchHeader> headers_;
  size_t taken_ = 0;
};

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool direct_io_works(const std::filesystem::path& dir) {
  const auto probe = dir / "direct-probe";
  const int fd = ::open(probe.c_str(), O_CREAT | O_WRONLY | O_DIRECT | O_CLOEXEC, 0644);
  if (fd >= 0) ::close(fd);
  std::filesystem::remove(probe);
  return fd >= 0;
}

// Runs that start and end inside a block, at its edges, and span more than the direct buffer:
// the file and the segment's state come out as from buffered appends, and survive a reopen.
TEST_F(SegmentTest, DirectRunsStoreWhatBufferedRunsStore) {
  constexpr uint64_t kBlock = DirectBuffer::kAlignment;
  std::filesystem::create_directories(dir_.path() / "direct");
  std::filesystem::create_directories(dir_.path() / "buffered");
  const SegmentOptions options{1 << 16, 4096};
  auto direct = Segment::create(dir_.path() / "direct", Offset{100}, options, kNow).value();
  auto buffered = Segment::create(dir_.path() / "buffered", Offset{100}, options, kNow).value();
  DirectBuffer scratch(2 * kBlock);  // small, so that long runs take several writes
  RunBuilder runs;
  Offset next{100};
  uint64_t size = 0;
  auto append_run = [&](const char* what) {
    const auto run = runs.take();
    for (const auto& b : run) size += b.bytes.size();
    ASSERT_TRUE(direct->append(run, &scratch)) << what;
    ASSERT_TRUE(buffered->append(run, nullptr)) << what;
    ASSERT_EQ(direct->size_bytes(), size) << what;
    ASSERT_EQ(file_bytes(direct->log_path()), file_bytes(buffered->log_path())) << what;
  };
  runs.add_sized(2 * kBlock, next);  // from 0 to a block edge
  append_run("aligned to aligned");
  runs.add(100, next);  // inside one block
  runs.add(200, next);
  append_run("inside a block");
  runs.add_sized(3 * kBlock - size % kBlock, next);  // from inside a block to an edge
  append_run("inside to an edge");
  runs.add(5000, next);  // from an edge to inside a block
  runs.add(9000, next);
  append_run("edge to inside");
  for (int i = 0; i < 8; ++i) runs.add(3000 + 1000 * i, next);  // longer than the buffer
  append_run("longer than the buffer");
  for (size_t value : {1u, 4000u, 4096u, 8191u, 70000u}) {
    runs.add(value, next);
    append_run("one batch");
  }
  EXPECT_EQ(direct->next_offset(), next);
  const auto reopened =
      Segment::open(dir_.path() / "direct", Offset{100}, options, true, kNow).value();
  EXPECT_EQ(reopened->next_offset(), next);
  EXPECT_EQ(reopened->size_bytes(), size);
  for (int64_t o = 100; o < next.value; ++o) {
    auto slice = reopened->read(Offset{o}, 1);
    ASSERT_TRUE(slice);
    auto bytes = slice->read();
    ASSERT_TRUE(bytes);
    auto h = validate_batch(std::as_bytes(std::span(*bytes)));
    ASSERT_TRUE(h) << o;
    EXPECT_EQ(h->base_offset, Offset{o});
  }
}

// Where the file system refuses O_DIRECT (ramfs), direct runs go through the page cache instead
// and store the same bytes.
TEST_F(SegmentTest, DirectRunsFallBackToThePageCacheWhereODirectIsRefused) {
  testing::SmallFs fs("16m", "ramfs");
  if (!fs.mounted()) GTEST_SKIP() << fs.why_not();
  ASSERT_FALSE(direct_io_works(fs.path()));
  const SegmentOptions options{1 << 16, 4096};
  auto s = Segment::create(fs.path(), Offset{0}, options, kNow).value();
  DirectBuffer scratch;
  RunBuilder runs;
  Offset next{0};
  std::string expected;
  for (int i = 0; i < 3; ++i) {
    for (int b = 0; b < 3; ++b) runs.add(5000 + 1000 * b, next);
    const auto run = runs.take();
    for (const auto& b : run) {
      expected.append(reinterpret_cast<const char*>(b.bytes.data()), b.bytes.size());
    }
    ASSERT_TRUE(s->append(run, &scratch));
  }
  EXPECT_EQ(s->next_offset(), next);
  EXPECT_EQ(file_bytes(s->log_path()), expected);
}

TEST_F(SegmentTest, DirectRunsKeepOnlyTheirPartialBlocksInThePageCache) {
  if (!direct_io_works(dir_.path())) GTEST_SKIP() << "no O_DIRECT on this file system";
  constexpr uint64_t kBlock = DirectBuffer::kAlignment;
  auto s = make();
  DirectBuffer scratch;
  RunBuilder runs;
  Offset next{100};
  runs.add(100, next);  // the first block, partly
  ASSERT_TRUE(s->append(runs.take(), &scratch));
  for (int i = 0; i < 4; ++i) runs.add(3 * kBlock, next);
  ASSERT_TRUE(s->append(runs.take(), &scratch));
  const auto cached = testing::cached_pages(s->log_path());
  ASSERT_EQ(cached.size(), (s->size_bytes() + kBlock - 1) / kBlock);
  // The first block was partial, so it went through the page cache, as does the last one.
  EXPECT_TRUE(cached.front());
  EXPECT_TRUE(cached.back());
  EXPECT_EQ(testing::count_cached(cached), 2u);
}

}  // namespace
}  // namespace sluice::segment
