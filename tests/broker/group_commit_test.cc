#include "broker/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <thread>
#include <vector>

#include "broker/errors.h"
#include "tests/temp_dir.h"

namespace sluice::broker {
namespace {

class GroupCommitTest : public ::testing::Test {
 protected:
  std::unique_ptr<PartitionLog> open(config::TopicConfig config = {}) {
    PartitionLog::Options o;
    o.topic = "t";
    o.dir = dir_.path() / "t-0";
    o.config = config;
    o.sync = [this](int fd) {
      syncs_.fetch_add(1);
      // A device takes time to sync; without it, on a file system where fdatasync is nearly
      // free, appenders would rarely find a sync in progress to queue behind.
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      return fdatasync_fd(fd);
    };
    return PartitionLog::open(std::move(o)).value();
  }

  static Offset append_one(PartitionLog& log) {
    std::vector<segment::RecordInput> records = {{"k", "value", {}, -1}};
    return log.append(records).value().last_offset;
  }

  testing::TempDir dir_;
  std::atomic<int> syncs_{0};
};

TEST_F(GroupCommitTest, ConcurrentDurableAppendersShareFdatasyncs) {
  auto log = open();
  GroupCommitter committer({});
  committer.track(log.get());
  constexpr int kThreads = 16;
  constexpr int kAppendsPerThread = 40;
  std::atomic<int> uncovered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kAppendsPerThread; ++i) {
        const Offset last = append_one(*log);
        ASSERT_TRUE(committer.wait_durable(*log));
        // Acknowledged only once a completed fdatasync covers the record.
        if (log->flushed_offset() <= last) uncovered.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  committer.untrack(log.get());
  EXPECT_EQ(uncovered.load(), 0);
  EXPECT_EQ(log->end_offset(), Offset{kThreads * kAppendsPerThread});
  EXPECT_EQ(log->flushed_offset(), log->end_offset());
  EXPECT_GT(syncs_.load(), 0);
  EXPECT_LE(syncs_.load() * 2, kThreads * kAppendsPerThread)
      << syncs_.load() << " syncs for " << kThreads * kAppendsPerThread << " appends";
}

// untrack() used to take the round lock and then mu_, while the flusher took mu_ and then the
// round lock: removing a partition while another one had durable producers could deadlock.
TEST_F(GroupCommitTest, UntrackWhileAnotherLogIsFlushedKeepsGoing) {
  auto busy = open();
  PartitionLog::Options o;
  o.topic = "other";
  o.dir = dir_.path() / "other-0";
  auto other = PartitionLog::open(std::move(o)).value();
  GroupCommitter committer({});
  committer.track(busy.get());
  std::atomic<bool> stop{false};
  std::vector<std::thread> producers;
  for (int t = 0; t < 8; ++t) {
    producers.emplace_back([&] {
      while (!stop.load()) {
        append_one(*busy);
        ASSERT_TRUE(committer.wait_durable(*busy));
      }
    });
  }
  std::atomic<int> completed{0};
  auto churn = std::async(std::launch::async, [&] {
    for (int i = 0; i < 1000; ++i) {
      committer.track(other.get());
      append_one(*other);
      committer.request(*other, [&](std::error_code ec) {
        if (!ec) completed.fetch_add(1);
      });
      committer.untrack(other.get());  // completes the request if no round took it
    }
  });
  if (churn.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "untrack() made no progress for 60 s: deadlocked with the flusher";
    std::_Exit(1);  // the threads cannot be joined
  }
  stop.store(true);
  for (auto& t : producers) t.join();
  committer.untrack(busy.get());
  EXPECT_EQ(completed.load(), 1000);
  EXPECT_EQ(other->flushed_offset(), other->end_offset());
}

TEST_F(GroupCommitTest, RequestWithNothingNewCompletesWithoutSyncing) {
  auto log = open();
  GroupCommitter committer({});
  committer.track(log.get());
  append_one(*log);
  ASSERT_TRUE(committer.wait_durable(*log));
  const int after_first = syncs_.load();
  ASSERT_TRUE(committer.wait_durable(*log));
  EXPECT_EQ(syncs_.load(), after_first);
  committer.untrack(log.get());
}

TEST_F(GroupCommitTest, IntervalModeFlushesWhenFlushMessagesIsReached) {
  config::TopicConfig config;
  config.flush_messages = 3;
  auto log = open(config);
  GroupCommitter committer({std::chrono::hours(1)});
  committer.track(log.get());
  append_one(*log);
  append_one(*log);
  committer.notify_appended(*log);  // 2 < 3: nothing to do
  append_one(*log);
  committer.notify_appended(*log);
  // A request is served after the urgent flush it queued behind; both cover offset 2.
  ASSERT_TRUE(committer.wait_durable(*log));
  EXPECT_EQ(log->flushed_offset(), Offset{3});
  EXPECT_EQ(log->unflushed_messages(), 0);
  committer.untrack(log.get());
}

TEST_F(GroupCommitTest, StopFlushesPendingWorkAndRefusesNewRequests) {
  auto log = open();
  GroupCommitter committer({std::chrono::hours(1)});
  committer.track(log.get());
  append_one(*log);
  committer.stop();
  EXPECT_EQ(log->flushed_offset(), Offset{1});
  std::error_code result;
  committer.request(*log, [&](std::error_code ec) { result = ec; });
  EXPECT_EQ(result, Errc::shutting_down);
}

TEST_F(GroupCommitTest, SyncFailureIsReportedToEveryWaiter) {
  PartitionLog::Options o;
  o.topic = "t";
  o.dir = dir_.path() / "t-0";
  o.sync = [](int) -> Result<void> { return errno_code(ENOSPC); };
  auto log = PartitionLog::open(std::move(o)).value();
  GroupCommitter committer({});
  committer.track(log.get());
  append_one(*log);
  auto r = committer.wait_durable(*log);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::no_space_on_device);
  committer.untrack(log.get());
}

}  // namespace
}  // namespace sluice::broker
