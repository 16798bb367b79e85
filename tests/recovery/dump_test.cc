#include "recovery/dump.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/recovery/partition_fixture.h"
#include "tests/temp_dir.h"

namespace sluice::recovery {
namespace {

namespace fs = std::filesystem;
using testing::PartitionWriter;

TEST(DumpTest, KindFollowsTheSuffix) {
  EXPECT_EQ(dump_kind("00000000000000000000.log"), DumpKind::log);
  EXPECT_EQ(dump_kind("a/00000000000000000005.index"), DumpKind::offset_index);
  EXPECT_EQ(dump_kind("00000000000000000005.timeindex"), DumpKind::time_index);
  EXPECT_EQ(dump_kind("x.txt"), std::nullopt);
}

TEST(DumpTest, LogDumpHoldsEveryBatchAndOnlyAskedForRecords) {
  sluice::testing::TempDir tmp;
  PartitionWriter w(tmp.path() / "d-0", 1 << 20);
  w.append_batches(5);
  w.close();
  const fs::path log = w.file(0, ".log");
  auto plain = dump_file(log, DumpKind::log, false);
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->batches.size(), 5u);
  EXPECT_EQ(plain->batches[0].position, 0u);
  EXPECT_EQ(plain->batches[1].position, plain->batches[0].header.size_bytes());
  EXPECT_TRUE(plain->batches[0].records.empty());
  EXPECT_FALSE(plain->defect);
  auto full = dump_file(log, DumpKind::log, true);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->batches[0].records.size(),
            static_cast<size_t>(full->batches[0].header.record_count));
  EXPECT_EQ(full->batches[0].records[0].offset, full->batches[0].header.base_offset);
}

TEST(DumpTest, TornLogKeepsTheBatchesBeforeTheDefect) {
  sluice::testing::TempDir tmp;
  PartitionWriter w(tmp.path() / "d-0", 1 << 20);
  w.append_batches(3);
  w.close();
  const fs::path log = w.file(0, ".log");
  fs::resize_file(log, fs::file_size(log) - 1);
  auto dumped = dump_file(log, DumpKind::log, false);
  ASSERT_TRUE(dumped);
  EXPECT_EQ(dumped->batches.size(), 2u);
  ASSERT_TRUE(dumped->defect);
  EXPECT_EQ(dumped->defect->position,
            dumped->batches[1].position + dumped->batches[1].header.size_bytes());
}

TEST(DumpTest, UnreadableFileIsAnError) {
  sluice::testing::TempDir tmp;
  EXPECT_FALSE(dump_file(tmp.path() / "00000000000000000000.log", DumpKind::log, false));
}

}  // namespace
}  // namespace sluice::recovery
