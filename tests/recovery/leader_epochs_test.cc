#include "recovery/leader_epochs.h"

#include <gtest/gtest.h>

#include <fstream>

#include "recovery/errors.h"
#include "segment/layout.h"
#include "tests/temp_dir.h"

namespace sluice::recovery {
namespace {

using testing::TempDir;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(LeaderEpochsTest, AMissingFileIsAnEmptyHistory) {
  TempDir dir;
  auto epochs = LeaderEpochs::load(dir.path());
  ASSERT_TRUE(epochs);
  EXPECT_TRUE(epochs->entries().empty());
  EXPECT_FALSE(epochs->latest_epoch());
  EXPECT_FALSE(epochs->end_offset_for(0, 10));
}

TEST(LeaderEpochsTest, AssignWritesKafkasLayoutAndSurvivesAReload) {
  TempDir dir;
  auto epochs = LeaderEpochs::load(dir.path());
  ASSERT_TRUE(epochs);
  ASSERT_TRUE(epochs->assign(0, 0));
  ASSERT_TRUE(epochs->assign(0, 7));  // the same epoch again: nothing changes
  ASSERT_TRUE(epochs->assign(2, 10));
  EXPECT_EQ(read_file(dir.path() / segment::kLeaderEpochFile), "0\n2\n0 0\n2 10\n");
  auto reloaded = LeaderEpochs::load(dir.path());
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(reloaded->entries(), (std::vector<EpochEntry>{{0, 0}, {2, 10}}));
  EXPECT_EQ(reloaded->latest_epoch(), 2);
}

TEST(LeaderEpochsTest, ANewerLeadershipReplacesEntriesItOverrides) {
  TempDir dir;
  auto epochs = LeaderEpochs::load(dir.path());
  ASSERT_TRUE(epochs);
  ASSERT_TRUE(epochs->assign(1, 0));
  ASSERT_TRUE(epochs->assign(3, 50));
  // Epoch 4 starts at 40: epoch 3's entry at 50 was never confirmed by the new leader.
  ASSERT_TRUE(epochs->assign(4, 40));
  EXPECT_EQ(epochs->entries(), (std::vector<EpochEntry>{{1, 0}, {4, 40}}));
  // A leadership that wrote nothing gives way to the next one at the same offset.
  ASSERT_TRUE(epochs->assign(5, 40));
  EXPECT_EQ(epochs->entries(), (std::vector<EpochEntry>{{1, 0}, {5, 40}}));
}

TEST(LeaderEpochsTest, EndOffsetForEpochFollowsKafka) {
  TempDir dir;
  auto epochs = LeaderEpochs::load(dir.path());
  ASSERT_TRUE(epochs);
  ASSERT_TRUE(epochs->assign(1, 0));
  ASSERT_TRUE(epochs->assign(3, 100));
  ASSERT_TRUE(epochs->assign(6, 250));
  using P = std::pair<int32_t, int64_t>;
  EXPECT_EQ(epochs->end_offset_for(6, 300), P(6, 300));  // the latest: the log end
  EXPECT_EQ(epochs->end_offset_for(3, 300), P(3, 250));  // ends where 6 starts
  EXPECT_EQ(epochs->end_offset_for(4, 300), P(3, 250));  // unknown here: the one before it
  EXPECT_EQ(epochs->end_offset_for(1, 300), P(1, 100));
  EXPECT_EQ(epochs->end_offset_for(0, 300), P(0, 0));  // older than everything: cut to 0
  EXPECT_FALSE(epochs->end_offset_for(7, 300));        // newer than anything known
}

// A follower that led epoch 7 from offset 500 while its leader's log went on in epoch 5 (an
// epoch the follower never saw): the leader answers "5 ends at 950"; the follower's epoch-7
// records from 500 are not the leader's, though they lie below 950.
TEST(LeaderEpochsTest, AFollowerCutsWhereItsOwnHistoryLeftTheLeadersEpoch) {
  TempDir dir;
  auto epochs = LeaderEpochs::load(dir.path());
  ASSERT_TRUE(epochs);
  ASSERT_TRUE(epochs->assign(3, 100));
  ASSERT_TRUE(epochs->assign(7, 500));
  EXPECT_EQ(epochs->divergence_point(5, 950, 900), 500);
  // The same epoch on both sides: the leader's end, or the log's end when that comes first.
  EXPECT_EQ(epochs->divergence_point(7, 700, 900), 700);
  EXPECT_EQ(epochs->divergence_point(7, 950, 900), 900);
  // Older than this history: everything it holds goes.
  EXPECT_EQ(epochs->divergence_point(2, 950, 900), 100);
  // The leader had nothing to compare: its end.
  EXPECT_EQ(epochs->divergence_point(-1, 300, 900), 300);
}

TEST(LeaderEpochsTest, TruncationDropsEntriesPastTheCutAndBeforeTheStart) {
  TempDir dir;
  auto epochs = LeaderEpochs::load(dir.path());
  ASSERT_TRUE(epochs);
  ASSERT_TRUE(epochs->assign(1, 0));
  ASSERT_TRUE(epochs->assign(3, 100));
  ASSERT_TRUE(epochs->assign(6, 250));
  ASSERT_TRUE(epochs->truncate_from_end(250));
  EXPECT_EQ(epochs->entries(), (std::vector<EpochEntry>{{1, 0}, {3, 100}}));
  ASSERT_TRUE(epochs->truncate_from_start(120));
  EXPECT_EQ(epochs->entries(), (std::vector<EpochEntry>{{3, 120}}));
  auto reloaded = LeaderEpochs::load(dir.path());
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(reloaded->entries(), (std::vector<EpochEntry>{{3, 120}}));
}

TEST(LeaderEpochsTest, AMalformedFileIsRefusedNotGuessed) {
  for (const char* text :
       {"", "1\n0\n", "0\n1\n", "0\n2\n1 0\n", "0\n2\n1 5\n1 9\n", "0\n2\n2 9\n3 9\n",
        "0\n1\n-1 0\n", "0\n1\n1 x\n", "0\n1\n1 0", "0\n1\n1  0\n"}) {
    EXPECT_FALSE(parse_leader_epochs(text)) << text;
  }
  auto ok = parse_leader_epochs("0\n0\n");
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->empty());
  TempDir dir;
  {
    std::ofstream out(dir.path() / segment::kLeaderEpochFile);
    out << "0\n2\n5 0\n";
  }
  auto epochs = LeaderEpochs::load(dir.path());
  ASSERT_FALSE(epochs);
  EXPECT_EQ(epochs.error(), Errc::bad_checkpoint);
}

}  // namespace
}  // namespace sluice::recovery
