#include "recovery/log_dir_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/recovery/partition_fixture.h"
#include "tests/temp_dir.h"

namespace sluice::recovery {
namespace {

namespace fs = std::filesystem;

TEST(LogDirLockTest, AcquireWritesThePidIntoTheLockFile) {
  sluice::testing::TempDir dir;
  auto lock = LogDirLock::acquire(dir.path());
  EXPECT_EQ(testing::read_file(dir.path() / kLogDirLockFile), std::to_string(::getpid()) + "\n");
  EXPECT_EQ(log_dir_lock_holder(dir.path()), ::getpid());
}

TEST(LogDirLockTest, SecondAcquireThrowsNamingTheDirAndTheHolder) {
  sluice::testing::TempDir dir;
  auto lock = LogDirLock::acquire(dir.path());
  try {
    (void)LogDirLock::acquire(dir.path());
    FAIL() << "the second lock was granted";
  } catch (const LogDirLocked& e) {
    EXPECT_EQ(e.holder(), ::getpid());
    EXPECT_NE(std::string(e.what()).find(dir.path().string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("process " + std::to_string(::getpid())),
              std::string::npos)
        << e.what();
  }
}

TEST(LogDirLockTest, DestroyingTheLockReleasesIt) {
  sluice::testing::TempDir dir;
  { auto lock = LogDirLock::acquire(dir.path()); }
  EXPECT_EQ(log_dir_lock_holder(dir.path()), std::nullopt);  // the file stays, unlocked
  EXPECT_TRUE(fs::exists(dir.path() / kLogDirLockFile));
  auto again = LogDirLock::acquire(dir.path());
  EXPECT_EQ(log_dir_lock_holder(dir.path()), ::getpid());
}

TEST(LogDirLockTest, HolderOfAnUnlockedDirIsNobodyAndCreatesNothing) {
  sluice::testing::TempDir dir;
  EXPECT_EQ(log_dir_lock_holder(dir.path()), std::nullopt);
  EXPECT_FALSE(fs::exists(dir.path() / kLogDirLockFile));
}

TEST(LogDirLockTest, MissingLogDirIsAnIoError) {
  sluice::testing::TempDir dir;
  EXPECT_THROW((void)LogDirLock::acquire(dir.path() / "missing"), std::system_error);
}

}  // namespace
}  // namespace sluice::recovery
