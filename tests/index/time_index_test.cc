#include "index/time_index.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <thread>
#include <vector>

#include "common/endian.h"
#include "common/file.h"
#include "index/errors.h"
#include "tests/temp_dir.h"

namespace sluice::index {
namespace {

using sluice::testing::TempDir;

constexpr Offset kBase{5000};
constexpr int64_t kT0 = 1'700'000'000'000;
constexpr size_t kMaxBytes = 64 * kTimeEntrySize;

TimeIndex open_writable(const std::filesystem::path& path, size_t max_bytes = kMaxBytes) {
  auto index = TimeIndex::open(path, kBase, max_bytes, true);
  EXPECT_TRUE(index) << index.error().message();
  return std::move(*index);
}

// Entries (t0 + 1000 i, base + 10 i) for i in [0, n).
std::vector<TimeEntry> fill(TimeIndex& index, int n) {
  std::vector<TimeEntry> appended;
  for (int i = 0; i < n; ++i) {
    const TimeEntry e{kT0 + 1000 * i, Offset{kBase.value + 10 * i}};
    auto r = index.append(e.timestamp_ms, e.offset);
    EXPECT_TRUE(r) << r.error().message();
    appended.push_back(e);
  }
  return appended;
}

// Every entry, found one by one through last_before (each entry is the last before ts + 1).
std::vector<TimeEntry> all_entries(const TimeIndex& index) {
  std::vector<TimeEntry> out;
  const auto last = index.last();
  if (!last) return out;
  auto e = index.last_before(last->timestamp_ms + 1);
  while (e) {
    out.insert(out.begin(), *e);
    e = index.last_before(e->timestamp_ms);
  }
  return out;
}

void write_raw(const std::filesystem::path& path, uint64_t pos, int64_t ts, uint32_t rel) {
  auto f = File::open(path, O_WRONLY | O_CREAT);
  ASSERT_TRUE(f);
  std::array<std::byte, kTimeEntrySize> bytes{};
  store_le<int64_t>(bytes.data(), ts);
  store_le<uint32_t>(bytes.data() + 8, rel);
  ASSERT_TRUE(f->pwrite_all(bytes, pos));
}

TEST(TimeIndexTest, EmptyIndexFindsNothing) {
  TempDir dir;
  auto index = open_writable(dir.file("a.timeindex"));
  EXPECT_EQ(index.entries(), 0u);
  EXPECT_FALSE(index.last_before(kT0));
  EXPECT_FALSE(index.last_before(INT64_MAX));
  EXPECT_FALSE(index.last());
  EXPECT_FALSE(index.full());
  EXPECT_EQ(index.max_entries(), 64u);
  EXPECT_TRUE(index.verify());
}

TEST(TimeIndexTest, LastBeforeAnEntrysTimestampReturnsThePreviousEntry) {
  TempDir dir;
  auto index = open_writable(dir.file("a.timeindex"));
  const auto appended = fill(index, 5);
  for (size_t i = 1; i < appended.size(); ++i) {
    EXPECT_EQ(index.last_before(appended[i].timestamp_ms), appended[i - 1]);
  }
  EXPECT_EQ(index.last_before(kT0 + 3001), appended[3]);
}

TEST(TimeIndexTest, LastBeforeBetweenEntriesReturnsTheLowerOne) {
  TempDir dir;
  auto index = open_writable(dir.file("a.timeindex"));
  const auto appended = fill(index, 5);
  EXPECT_EQ(index.last_before(kT0 + 1), appended[0]);
  EXPECT_EQ(index.last_before(kT0 + 1999), appended[1]);
  EXPECT_EQ(index.last_before(kT0 + 3500), appended[3]);
}

TEST(TimeIndexTest, LastBeforeTheFirstTimestampIsNullopt) {
  TempDir dir;
  auto index = open_writable(dir.file("a.timeindex"));
  fill(index, 3);
  EXPECT_FALSE(index.last_before(kT0));
  EXPECT_FALSE(index.last_before(kT0 - 1));
  EXPECT_FALSE(index.last_before(INT64_MIN));
}

TEST(TimeIndexTest, LastBeforeAfterTheLastTimestampReturnsTheLast) {
  TempDir dir;
  auto index = open_writable(dir.file("a.timeindex"));
  const auto appended = fill(index, 5);
  EXPECT_EQ(index.last_before(INT64_MAX), appended.back());
  EXPECT_EQ(index.last(), appended.back());
}

TEST(TimeIndexTest, FullIndexRefusesAppendWithIndexFull) {
  TempDir dir;
  auto index = open_writable(dir.file("a.timeindex"), 2 * kTimeEntrySize + 11);  // rounds to 2
  EXPECT_EQ(index.max_entries(), 2u);
  fill(index, 2);
  EXPECT_TRUE(index.full());
  auto r = index.append(kT0 + 10'000, Offset{kBase.value + 100});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::index_full);
  EXPECT_EQ(index.entries(), 2u);
}

TEST(TimeIndexTest, NonIncreasingTimestampOrDecreasingOffsetIsRefused) {
  TempDir dir;
  auto index = open_writable(dir.file("a.timeindex"));
  ASSERT_TRUE(index.append(kT0, Offset{kBase.value + 10}));
  for (const auto& [ts, offset] : std::vector<std::pair<int64_t, int64_t>>{
           {kT0, kBase.value + 20}, {kT0 - 1, kBase.value + 20}, {kT0 + 1, kBase.value + 9}}) {
    auto r = index.append(ts, Offset{offset});
    ASSERT_FALSE(r) << ts << " " << offset;
    EXPECT_EQ(r.error(), Errc::not_increasing);
  }
  EXPECT_TRUE(index.append(kT0 + 1, Offset{kBase.value + 10}));  // same offset is allowed
  EXPECT_EQ(index.entries(), 2u);
}

TEST(TimeIndexTest, OffsetBeforeBaseIsRefusedAndBeyond32BitsIsFull) {
  TempDir dir;
  auto index = open_writable(dir.file("a.timeindex"));
  auto before = index.append(kT0, Offset{kBase.value - 1});
  ASSERT_FALSE(before);
  EXPECT_EQ(before.error(), Errc::not_increasing);
  auto beyond = index.append(kT0, Offset{kBase.value + (int64_t{1} << 32)});
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error(), Errc::index_full);
  EXPECT_EQ(index.entries(), 0u);
}

TEST(TimeIndexTest, ReopenOfUntrimmedPreallocatedFileRestoresExactlyTheEntries) {
  TempDir dir;
  const auto path = dir.file("a.timeindex");
  std::vector<TimeEntry> appended;
  {
    auto index = open_writable(path);
    appended = fill(index, 7);
    ASSERT_TRUE(index.flush());
  }
  EXPECT_EQ(std::filesystem::file_size(path), kMaxBytes);
  auto index = open_writable(path);
  EXPECT_EQ(index.entries(), 7u);
  EXPECT_EQ(all_entries(index), appended);
  ASSERT_TRUE(index.append(kT0 + 7000, Offset{kBase.value + 70}));
  EXPECT_EQ(index.last(), (TimeEntry{kT0 + 7000, Offset{kBase.value + 70}}));
}

TEST(TimeIndexTest, ReopenStopsAtATimestampThatDoesNotIncrease) {
  TempDir dir;
  const auto path = dir.file("a.timeindex");
  {
    auto index = open_writable(path);
    fill(index, 3);
  }
  write_raw(path, 3 * kTimeEntrySize, kT0 + 2000, 40);  // same timestamp as entry 2
  write_raw(path, 4 * kTimeEntrySize, kT0 + 9000, 50);
  auto index = TimeIndex::open(path, kBase, kMaxBytes, false);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->entries(), 3u);
  EXPECT_EQ(index->last(), (TimeEntry{kT0 + 2000, Offset{kBase.value + 20}}));
}

TEST(TimeIndexTest, ReopenDoesNotResurrectTruncatedEntries) {
  TempDir dir;
  const auto path = dir.file("a.timeindex");
  {
    auto index = open_writable(path);
    fill(index, 6);
    index.truncate_to(Offset{kBase.value + 20});
    ASSERT_TRUE(index.append(kT0 + 1500, Offset{kBase.value + 25}));
  }
  auto index = open_writable(path);
  EXPECT_EQ(index.entries(), 3u);
  EXPECT_EQ(index.last(), (TimeEntry{kT0 + 1500, Offset{kBase.value + 25}}));
}

TEST(TimeIndexTest, ReopenAfterTrimRestoresEntriesAndRoom) {
  TempDir dir;
  const auto path = dir.file("a.timeindex");
  std::vector<TimeEntry> appended;
  {
    auto index = open_writable(path);
    appended = fill(index, 4);
    ASSERT_TRUE(index.trim());
  }
  EXPECT_EQ(std::filesystem::file_size(path), 4 * kTimeEntrySize);
  auto index = open_writable(path);
  EXPECT_EQ(all_entries(index), appended);
  EXPECT_EQ(std::filesystem::file_size(path), kMaxBytes);
  EXPECT_TRUE(index.append(kT0 + 4000, Offset{kBase.value + 40}));
}

TEST(TimeIndexTest, TrimSealsTheIndexAgainstAppends) {
  TempDir dir;
  auto index = open_writable(dir.file("a.timeindex"));
  fill(index, 3);
  ASSERT_TRUE(index.trim());
  EXPECT_TRUE(index.full());
  EXPECT_EQ(index.max_entries(), 3u);
  auto r = index.append(kT0 + 3000, Offset{kBase.value + 30});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::index_full);
  EXPECT_EQ(index.last_before(kT0 + 2500), (TimeEntry{kT0 + 2000, Offset{kBase.value + 20}}));
  ASSERT_TRUE(index.flush());
}

TEST(TimeIndexTest, ReadOnlyOpenOfTrimmedFileReadsEntriesAndRefusesAppend) {
  TempDir dir;
  const auto path = dir.file("a.timeindex");
  std::vector<TimeEntry> appended;
  {
    auto index = open_writable(path);
    appended = fill(index, 5);
    ASSERT_TRUE(index.trim());
  }
  auto index = TimeIndex::open(path, kBase, kMaxBytes, false);
  ASSERT_TRUE(index) << index.error().message();
  EXPECT_EQ(all_entries(*index), appended);
  EXPECT_TRUE(index->verify());
  EXPECT_TRUE(index->full());
  EXPECT_FALSE(index->append(kT0 + 5000, Offset{kBase.value + 50}));
  EXPECT_EQ(std::filesystem::file_size(path), 5 * kTimeEntrySize);
}

TEST(TimeIndexTest, ReadOnlyOpenOfEmptyFileIsAnEmptyIndex) {
  TempDir dir;
  const auto path = dir.file("a.timeindex");
  {
    auto f = File::open(path, O_WRONLY | O_CREAT);
    ASSERT_TRUE(f);
  }
  auto index = TimeIndex::open(path, kBase, kMaxBytes, false);
  ASSERT_TRUE(index) << index.error().message();
  EXPECT_EQ(index->entries(), 0u);
  EXPECT_FALSE(index->last_before(INT64_MAX));
  EXPECT_TRUE(index->verify());
}

TEST(TimeIndexTest, TruncateToDropsEntriesAtAndAfterTheOffset) {
  TempDir dir;
  auto index = open_writable(dir.file("a.timeindex"));
  const auto appended = fill(index, 6);
  index.truncate_to(Offset{kBase.value + 31});
  EXPECT_EQ(index.entries(), 4u);
  EXPECT_EQ(index.last(), appended[3]);
  index.truncate_to(Offset{kBase.value + 30});
  EXPECT_EQ(index.entries(), 3u);
  EXPECT_EQ(index.last_before(INT64_MAX), appended[2]);
  index.truncate_to(kBase);
  EXPECT_EQ(index.entries(), 0u);
  EXPECT_TRUE(index.append(kT0, kBase));
}

TEST(TimeIndexTest, VerifyDetectsDecreasingOffsetsWrittenByHand) {
  TempDir dir;
  const auto path = dir.file("a.timeindex");
  {
    auto index = open_writable(path);
    fill(index, 3);
    ASSERT_TRUE(index.verify());
  }
  write_raw(path, 3 * kTimeEntrySize, kT0 + 9000, 5);  // later timestamp, earlier offset
  auto index = TimeIndex::open(path, kBase, kMaxBytes, false);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->entries(), 4u);
  auto r = index->verify();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::corrupt);
}

TEST(TimeIndexTest, MovedFromIndexIsEmpty) {
  TempDir dir;
  auto index = open_writable(dir.file("a.timeindex"));
  const auto appended = fill(index, 3);
  TimeIndex moved = std::move(index);
  EXPECT_EQ(moved.last(), appended.back());
  EXPECT_EQ(index.entries(), 0u);  // NOLINT(bugprone-use-after-move): testing the moved-from state
  EXPECT_FALSE(index.last_before(INT64_MAX));
  EXPECT_FALSE(index.append(kT0 + 10'000, Offset{kBase.value + 100}));
}

TEST(TimeIndexTest, ConcurrentReaderSeesOnlyAppendedEntries) {
  TempDir dir;
  constexpr int kEntries = 20'000;
  auto index = open_writable(dir.file("a.timeindex"), kEntries * kTimeEntrySize);
  std::atomic<bool> done{false};
  std::atomic<int64_t> bad{0};
  std::atomic<int64_t> found{0};
  std::thread reader([&] {
    uint64_t x = 54321;
    auto check = [&] {
      x = x * 6364136223846793005u + 1442695040888963407u;
      const int64_t target = kT0 + static_cast<int64_t>((x >> 33) % (5u * kEntries));
      const auto e = index.last_before(target);
      if (!e) return;
      ++found;
      // Every entry appended is (t0 + 2 i, base + 3 i), before the target.
      const int64_t i = (e->timestamp_ms - kT0) / 2;
      if ((e->timestamp_ms - kT0) % 2 != 0 || e->offset.value != kBase.value + 3 * i ||
          e->timestamp_ms >= target) {
        ++bad;
      }
    };
    while (!done.load(std::memory_order_acquire)) check();
    for (int i = 0; i < 1000; ++i) check();
  });
  for (int i = 0; i < kEntries; ++i) {
    auto r = index.append(kT0 + 2 * i, Offset{kBase.value + 3 * i});
    if (!r) {
      ADD_FAILURE() << "append " << i << ": " << r.error().message();
      break;
    }
  }
  done.store(true, std::memory_order_release);
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(found.load(), 0);
  EXPECT_EQ(index.entries(), static_cast<size_t>(kEntries));
}

}  // namespace
}  // namespace sluice::index
