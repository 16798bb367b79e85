#include "index/offset_index.h"

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
#include "tests/small_fs.h"
#include "tests/temp_dir.h"

namespace sluice::index {
namespace {

using sluice::testing::TempDir;

constexpr Offset kBase{1000};
constexpr size_t kMaxBytes = 64 * kOffsetEntrySize;

OffsetIndex open_writable(const std::filesystem::path& path, size_t max_bytes = kMaxBytes) {
  auto index = OffsetIndex::open(path, kBase, max_bytes, true);
  EXPECT_TRUE(index) << index.error().message();
  return std::move(*index);
}

// Entries (base + 10 i, 100 i) for i in [0, n).
std::vector<OffsetEntry> fill(OffsetIndex& index, int n) {
  std::vector<OffsetEntry> appended;
  for (int i = 0; i < n; ++i) {
    const OffsetEntry e{Offset{kBase.value + 10 * i}, FilePos{100u * static_cast<uint64_t>(i)}};
    auto r = index.append(e.offset, e.position);
    EXPECT_TRUE(r) << r.error().message();
    appended.push_back(e);
  }
  return appended;
}

TEST(OffsetIndexTest, FloorPositionFindsTheLastEntryAtOrBeforeAPosition) {
  TempDir dir;
  auto index = open_writable(dir.file("p.index"));
  fill(index, 5);  // positions 0, 100, ..., 400
  EXPECT_EQ(index.floor_position(FilePos{0})->position, FilePos{0});
  EXPECT_EQ(index.floor_position(FilePos{250})->position, FilePos{200});
  EXPECT_EQ(index.floor_position(FilePos{250})->offset, Offset{kBase.value + 20});
  EXPECT_EQ(index.floor_position(FilePos{300})->position, FilePos{300});
  EXPECT_EQ(index.floor_position(FilePos{1u << 30})->position, FilePos{400});
  auto empty = open_writable(dir.file("e.index"));
  EXPECT_FALSE(empty.floor_position(FilePos{10}).has_value());
}

std::vector<OffsetEntry> all_entries(const OffsetIndex& index) {
  std::vector<OffsetEntry> out;
  const auto last = index.last();
  if (!last) return out;
  for (int64_t o = kBase.value; o <= last->offset.value; ++o) {
    auto e = index.floor(Offset{o});
    if (e && (out.empty() || !(out.back() == *e))) out.push_back(*e);
  }
  return out;
}

void write_raw(const std::filesystem::path& path, uint64_t pos, uint32_t rel, uint32_t position) {
  auto f = File::open(path, O_WRONLY | O_CREAT);
  ASSERT_TRUE(f);
  std::array<std::byte, kOffsetEntrySize> bytes{};
  store_le<uint32_t>(bytes.data(), rel);
  store_le<uint32_t>(bytes.data() + 4, position);
  ASSERT_TRUE(f->pwrite_all(bytes, pos));
}

TEST(OffsetIndexTest, EmptyIndexFindsNothing) {
  TempDir dir;
  auto index = open_writable(dir.file("a.index"));
  EXPECT_EQ(index.entries(), 0u);
  EXPECT_FALSE(index.floor(kBase));
  EXPECT_FALSE(index.floor(Offset{kBase.value + 1000}));
  EXPECT_FALSE(index.last());
  EXPECT_FALSE(index.full());
  EXPECT_EQ(index.max_entries(), 64u);
  EXPECT_TRUE(index.verify());
}

TEST(OffsetIndexTest, FloorAtAnEntryReturnsIt) {
  TempDir dir;
  auto index = open_writable(dir.file("a.index"));
  const auto appended = fill(index, 5);
  for (const auto& e : appended) EXPECT_EQ(index.floor(e.offset), e);
}

TEST(OffsetIndexTest, FloorBetweenEntriesReturnsTheLowerOne) {
  TempDir dir;
  auto index = open_writable(dir.file("a.index"));
  const auto appended = fill(index, 5);
  EXPECT_EQ(index.floor(Offset{kBase.value + 1}), appended[0]);
  EXPECT_EQ(index.floor(Offset{kBase.value + 19}), appended[1]);
  EXPECT_EQ(index.floor(Offset{kBase.value + 35}), appended[3]);
}

TEST(OffsetIndexTest, FloorBeforeTheFirstEntryIsNullopt) {
  TempDir dir;
  auto index = open_writable(dir.file("a.index"));
  ASSERT_TRUE(index.append(Offset{kBase.value + 5}, FilePos{40}));
  EXPECT_FALSE(index.floor(Offset{kBase.value + 4}));
  EXPECT_FALSE(index.floor(Offset{0}));
  EXPECT_EQ(index.floor(Offset{kBase.value + 5}), (OffsetEntry{Offset{kBase.value + 5}, {40}}));
}

TEST(OffsetIndexTest, FloorAfterTheLastEntryReturnsTheLast) {
  TempDir dir;
  auto index = open_writable(dir.file("a.index"));
  const auto appended = fill(index, 5);
  EXPECT_EQ(index.floor(Offset{kBase.value + 1'000'000}), appended.back());
  EXPECT_EQ(index.last(), appended.back());
}

TEST(OffsetIndexTest, FullIndexRefusesAppendWithIndexFull) {
  TempDir dir;
  auto index = open_writable(dir.file("a.index"), 3 * kOffsetEntrySize + 5);  // rounds down to 3
  EXPECT_EQ(index.max_entries(), 3u);
  fill(index, 3);
  EXPECT_TRUE(index.full());
  auto r = index.append(Offset{kBase.value + 100}, FilePos{10'000});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::index_full);
  EXPECT_EQ(index.entries(), 3u);
  EXPECT_EQ(std::filesystem::file_size(dir.file("a.index")), 3 * kOffsetEntrySize);
}

TEST(OffsetIndexTest, NonIncreasingAppendIsRefused) {
  TempDir dir;
  auto index = open_writable(dir.file("a.index"));
  ASSERT_TRUE(index.append(Offset{kBase.value + 10}, FilePos{100}));
  for (const auto& [offset, position] :
       std::vector<std::pair<int64_t, uint64_t>>{{kBase.value + 10, 200},
                                                 {kBase.value + 9, 200},
                                                 {kBase.value + 11, 100},
                                                 {kBase.value + 11, 50}}) {
    auto r = index.append(Offset{offset}, FilePos{position});
    ASSERT_FALSE(r) << offset << " " << position;
    EXPECT_EQ(r.error(), Errc::not_increasing);
  }
  EXPECT_EQ(index.entries(), 1u);
}

TEST(OffsetIndexTest, OffsetBeforeBaseIsRefusedAsNotIncreasing) {
  TempDir dir;
  auto index = open_writable(dir.file("a.index"));
  auto r = index.append(Offset{kBase.value - 1}, FilePos{0});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::not_increasing);
  EXPECT_EQ(index.entries(), 0u);
}

TEST(OffsetIndexTest, ValuesBeyond32BitsReportIndexFull) {
  TempDir dir;
  auto index = open_writable(dir.file("a.index"));
  auto too_far = index.append(Offset{kBase.value + (int64_t{1} << 32)}, FilePos{0});
  ASSERT_FALSE(too_far);
  EXPECT_EQ(too_far.error(), Errc::index_full);
  auto too_deep = index.append(kBase, FilePos{uint64_t{1} << 32});
  ASSERT_FALSE(too_deep);
  EXPECT_EQ(too_deep.error(), Errc::index_full);
  ASSERT_TRUE(index.append(Offset{kBase.value + 0xFFFF'FFFF}, FilePos{0xFFFF'FFFF}));
  EXPECT_EQ(index.floor(Offset{kBase.value + (int64_t{1} << 40)}),
            (OffsetEntry{Offset{kBase.value + 0xFFFF'FFFF}, FilePos{0xFFFF'FFFF}}));
}

TEST(OffsetIndexTest, ReopenOfUntrimmedPreallocatedFileRestoresExactlyTheEntries) {
  TempDir dir;
  const auto path = dir.file("a.index");
  std::vector<OffsetEntry> appended;
  {
    auto index = open_writable(path);
    appended = fill(index, 7);
    ASSERT_TRUE(index.flush());
  }
  EXPECT_EQ(std::filesystem::file_size(path), kMaxBytes);
  auto index = open_writable(path);
  EXPECT_EQ(index.entries(), 7u);
  EXPECT_EQ(all_entries(index), appended);
  EXPECT_EQ(index.max_entries(), 64u);
  ASSERT_TRUE(index.append(Offset{kBase.value + 70}, FilePos{700}));
  EXPECT_EQ(index.last(), (OffsetEntry{Offset{kBase.value + 70}, FilePos{700}}));
}

TEST(OffsetIndexTest, ReopenDoesNotResurrectTruncatedEntries) {
  TempDir dir;
  const auto path = dir.file("a.index");
  {
    auto index = open_writable(path);
    fill(index, 6);
    index.truncate_to(Offset{kBase.value + 20});
    ASSERT_TRUE(index.append(Offset{kBase.value + 25}, FilePos{250}));
  }
  auto index = open_writable(path);
  EXPECT_EQ(index.entries(), 3u);
  EXPECT_EQ(index.last(), (OffsetEntry{Offset{kBase.value + 25}, FilePos{250}}));
}

TEST(OffsetIndexTest, WritableReopenZeroesStaleBytesAfterTheLastEntry) {
  TempDir dir;
  const auto path = dir.file("a.index");
  {
    auto index = open_writable(path);
    fill(index, 2);
  }
  // Entry 2 is blank, entry 3 holds leftovers that would look valid after a new entry 2.
  write_raw(path, 3 * kOffsetEntrySize, 40, 400);
  {
    auto index = open_writable(path);
    ASSERT_EQ(index.entries(), 2u);
    ASSERT_TRUE(index.append(Offset{kBase.value + 20}, FilePos{200}));
  }
  auto index = open_writable(path);
  EXPECT_EQ(index.entries(), 3u);
}

TEST(OffsetIndexTest, ReopenAfterTrimRestoresEntriesAndRoom) {
  TempDir dir;
  const auto path = dir.file("a.index");
  std::vector<OffsetEntry> appended;
  {
    auto index = open_writable(path);
    appended = fill(index, 4);
    ASSERT_TRUE(index.trim());
  }
  EXPECT_EQ(std::filesystem::file_size(path), 4 * kOffsetEntrySize);
  auto index = open_writable(path);
  EXPECT_EQ(all_entries(index), appended);
  EXPECT_EQ(std::filesystem::file_size(path), kMaxBytes);
  EXPECT_TRUE(index.append(Offset{kBase.value + 40}, FilePos{400}));
}

TEST(OffsetIndexTest, TrimSealsTheIndexAgainstAppends) {
  TempDir dir;
  auto index = open_writable(dir.file("a.index"));
  fill(index, 3);
  ASSERT_TRUE(index.trim());
  EXPECT_TRUE(index.full());
  EXPECT_EQ(index.max_entries(), 3u);
  auto r = index.append(Offset{kBase.value + 30}, FilePos{300});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::index_full);
  EXPECT_EQ(index.floor(Offset{kBase.value + 25}),
            (OffsetEntry{Offset{kBase.value + 20}, FilePos{200}}));
  ASSERT_TRUE(index.flush());
}

TEST(OffsetIndexTest, ReadOnlyOpenOfTrimmedFileReadsEntriesAndRefusesAppend) {
  TempDir dir;
  const auto path = dir.file("a.index");
  std::vector<OffsetEntry> appended;
  {
    auto index = open_writable(path);
    appended = fill(index, 5);
    ASSERT_TRUE(index.trim());
  }
  auto index = OffsetIndex::open(path, kBase, kMaxBytes, false);
  ASSERT_TRUE(index) << index.error().message();
  EXPECT_EQ(all_entries(*index), appended);
  EXPECT_TRUE(index->verify());
  EXPECT_TRUE(index->full());
  EXPECT_FALSE(index->append(Offset{kBase.value + 50}, FilePos{500}));
  EXPECT_TRUE(index->trim());
  EXPECT_TRUE(index->flush());
  EXPECT_EQ(std::filesystem::file_size(path), 5 * kOffsetEntrySize);
}

TEST(OffsetIndexTest, ReadOnlyOpenOfEmptyFileIsAnEmptyIndex) {
  TempDir dir;
  const auto path = dir.file("a.index");
  {
    auto f = File::open(path, O_WRONLY | O_CREAT);
    ASSERT_TRUE(f);
  }
  auto index = OffsetIndex::open(path, kBase, kMaxBytes, false);
  ASSERT_TRUE(index) << index.error().message();
  EXPECT_EQ(index->entries(), 0u);
  EXPECT_FALSE(index->floor(kBase));
  EXPECT_FALSE(index->last());
  EXPECT_TRUE(index->verify());
  EXPECT_EQ(std::filesystem::file_size(path), 0u);
}

TEST(OffsetIndexTest, ReadOnlyOpenOfMissingFileFails) {
  TempDir dir;
  auto index = OffsetIndex::open(dir.file("missing.index"), kBase, kMaxBytes, false);
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error(), std::errc::no_such_file_or_directory);
}

TEST(OffsetIndexTest, TruncateToDropsEntriesAtAndAfterTheOffset) {
  TempDir dir;
  auto index = open_writable(dir.file("a.index"));
  const auto appended = fill(index, 6);
  index.truncate_to(Offset{kBase.value + 31});  // keeps offsets 0..30
  EXPECT_EQ(index.entries(), 4u);
  EXPECT_EQ(index.last(), appended[3]);
  index.truncate_to(Offset{kBase.value + 30});  // drops the entry at exactly 30
  EXPECT_EQ(index.entries(), 3u);
  EXPECT_EQ(index.floor(Offset{kBase.value + 100}), appended[2]);
  index.truncate_to(Offset{kBase.value + 500});  // past the end: nothing to drop
  EXPECT_EQ(index.entries(), 3u);
  index.truncate_to(kBase);
  EXPECT_EQ(index.entries(), 0u);
  EXPECT_FALSE(index.floor(Offset{kBase.value + 100}));
  EXPECT_TRUE(index.append(Offset{kBase.value + 1}, FilePos{7}));
}

TEST(OffsetIndexTest, VerifyDetectsOutOfOrderEntriesWrittenByHand) {
  TempDir dir;
  const auto path = dir.file("a.index");
  {
    auto index = open_writable(path);
    fill(index, 3);
    ASSERT_TRUE(index.verify());
  }
  write_raw(path, 3 * kOffsetEntrySize, 5, 12345);  // offset goes back
  auto index = OffsetIndex::open(path, kBase, kMaxBytes, false);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->entries(), 4u);
  auto r = index->verify();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::corrupt);
}

TEST(OffsetIndexTest, VerifyDetectsPositionThatDoesNotIncrease) {
  TempDir dir;
  const auto path = dir.file("a.index");
  write_raw(path, 0, 0, 0);  // creates the file
  write_raw(path, kOffsetEntrySize, 1, 500);
  write_raw(path, 2 * kOffsetEntrySize, 2, 500);
  auto index = OffsetIndex::open(path, kBase, kMaxBytes, true);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->entries(), 3u);
  auto r = index->verify();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::corrupt);
}

TEST(OffsetIndexTest, MovedFromIndexIsEmpty) {
  TempDir dir;
  auto index = open_writable(dir.file("a.index"));
  const auto appended = fill(index, 3);
  OffsetIndex moved = std::move(index);
  EXPECT_EQ(moved.last(), appended.back());
  EXPECT_EQ(index.entries(), 0u);  // NOLINT(bugprone-use-after-move): testing the moved-from state
  EXPECT_FALSE(index.floor(Offset{kBase.value + 10}));
  EXPECT_FALSE(index.append(Offset{kBase.value + 100}, FilePos{1000}));
}

TEST(OffsetIndexTest, ErrorsCarryTheIndexCategoryAndAMessage) {
  const std::error_code ec = Errc::corrupt;
  EXPECT_STREQ(ec.category().name(), "index");
  EXPECT_EQ(ec.message(), "index entries out of order");
  EXPECT_EQ(std::error_code(Errc::index_full).message(), "index full");
}

TEST(OffsetIndexTest, ConcurrentReaderSeesOnlyAppendedEntries) {
  TempDir dir;
  constexpr int kEntries = 20'000;
  auto index = open_writable(dir.file("a.index"), kEntries * kOffsetEntrySize);
  std::atomic<bool> done{false};
  std::atomic<int64_t> bad{0};
  std::atomic<int64_t> found{0};
  std::thread reader([&] {
    uint64_t x = 12345;
    auto check = [&] {
      x = x * 6364136223846793005u + 1442695040888963407u;
      const Offset target{kBase.value + static_cast<int64_t>((x >> 33) % (3u * kEntries))};
      const size_t seen = index.entries();
      const auto e = index.floor(target);
      if (!e) {
        if (seen > 0) ++bad;
        return;
      }
      ++found;
      // Every entry appended is (base + 3 i, 7 i), at or below the target.
      const int64_t rel = e->offset.value - kBase.value;
      if (rel % 3 != 0 || e->position.value != static_cast<uint64_t>(rel / 3 * 7) ||
          e->offset > target) {
        ++bad;
      }
    };
    while (!done.load(std::memory_order_acquire)) check();
    for (int i = 0; i < 1000; ++i) check();
  });
  for (int i = 0; i < kEntries; ++i) {
    auto r = index.append(Offset{kBase.value + 3 * i}, FilePos{7u * static_cast<uint64_t>(i)});
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
  EXPECT_TRUE(index.full());
}

// The index file is sparse; a store into one of its holes on a full filesystem would raise
// SIGBUS and kill the broker. Appends must fail with ENOSPC instead, and work again once there
// is room.
TEST(OffsetIndexTest, AppendOnAFullFilesystemFailsWithNoSpaceInsteadOfFaulting) {
  sluice::testing::SmallFs fs("256k");
  if (!fs.mounted()) GTEST_SKIP() << fs.why_not();
  auto index = open_writable(fs.path() / "full.index", 1024 * 1024);
  ASSERT_GT(fs.fill(), 0u);

  auto r = index.append(kBase, FilePos{0});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::no_space_on_device) << r.error().message();
  EXPECT_EQ(index.entries(), 0u);

  std::filesystem::remove(fs.path() / "filler");
  const auto appended = fill(index, 40);
  ASSERT_EQ(index.entries(), appended.size());
  EXPECT_EQ(index.last()->offset, appended.back().offset);
}

// An index left preallocated (sparse) and reopened on a full filesystem: reading its holes
// through the mapping would need pages (tmpfs allocates them on a read fault) and raise SIGBUS.
TEST(OffsetIndexTest, ReopenOnAFullFilesystemReadsNoHoles) {
  sluice::testing::SmallFs fs("256k");
  if (!fs.mounted()) GTEST_SKIP() << fs.why_not();
  const auto path = fs.path() / "sparse.index";
  { auto empty = open_writable(fs.path() / "empty.index", 1024 * 1024); }
  std::vector<OffsetEntry> appended;
  {
    auto index = open_writable(path, 1024 * 1024);
    appended = fill(index, 10);
  }
  fs.fill();

  auto reopened = open_writable(path, 1024 * 1024);
  EXPECT_EQ(reopened.entries(), appended.size());
  EXPECT_EQ(reopened.last()->offset, appended.back().offset);
  auto empty = open_writable(fs.path() / "empty.index", 1024 * 1024);
  EXPECT_EQ(empty.entries(), 0u);
}

}  // namespace
}  // namespace sluice::index
