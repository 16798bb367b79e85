#include "broker/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <string>
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

TEST_F(GroupCommitTest, IntervalModeFlushesATopicWithAShorterFlushMsBetweenTicks) {
  config::TopicConfig config;
  config.flush_ms = 50;
  auto log = open(config);
  GroupCommitter committer({std::chrono::hours(1)});  // no tick during the test
  committer.track(log.get());
  append_one(*log);
  committer.notify_appended(*log);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (log->flushed_offset() < Offset{1} && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(log->flushed_offset(), Offset{1}) << "flush.ms=50 did not flush within 10 s";

  // Back to the default (no flush.ms of its own): the next append waits for the hourly tick.
  config.flush_ms = INT64_MAX;
  log->set_config(config);
  append_one(*log);
  committer.notify_appended(*log);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(log->flushed_offset(), Offset{1});
  EXPECT_EQ(log->unflushed_messages(), 1);
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

// A round over several partitions flushes them at once (the flusher and its helpers), and
// each waiter hears its own partition's outcome.
TEST_F(GroupCommitTest, ARoundFlushesSeveralLogsAtOnceAndAnswersEachWithItsOwnOutcome) {
  std::atomic<int> syncing{0};
  std::atomic<int> most{0};
  std::atomic<int> log0_syncs{0};
  std::atomic<bool> queued{false};
  std::vector<std::unique_ptr<PartitionLog>> logs;
  for (int i = 0; i < 4; ++i) {
    PartitionLog::Options o;
    o.topic = "t";
    o.partition = i;
    o.dir = dir_.path() / ("t-" + std::to_string(i));
    o.sync = [&, failing = i == 3, first_log = i == 0](int fd) -> Result<void> {
      const int now = syncing.fetch_add(1) + 1;
      for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
      }
      // The first round (log 0 alone) lasts until every request of the second is queued; a
      // sync of the second lasts until another runs beside it. So neither the round's makeup
      // nor the overlap is left to the scheduler of a loaded machine (5 s at most each: then
      // the checks below fail).
      const bool first_round = first_log && log0_syncs.fetch_add(1) == 0;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      do {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      } while ((first_round ? !queued.load() : most.load() < 2) &&
               std::chrono::steady_clock::now() < deadline);
      syncing.fetch_sub(1);
      if (failing) return errno_code(EIO);
      return fdatasync_fd(fd);
    };
    logs.push_back(PartitionLog::open(std::move(o)).value());
  }
  GroupCommitter committer({});
  for (auto& log : logs) committer.track(log.get());
  // A first round keeps the flusher busy while the next requests queue up for the second.
  append_one(*logs[0]);
  std::promise<std::error_code> first;
  committer.request(*logs[0], [&](std::error_code ec) { first.set_value(ec); });
  std::vector<std::promise<std::error_code>> answers(logs.size());
  for (size_t i = 0; i < logs.size(); ++i) {
    append_one(*logs[i]);
    committer.request(*logs[i], [&, i](std::error_code ec) { answers[i].set_value(ec); });
  }
  queued = true;
  EXPECT_FALSE(first.get_future().get());
  for (size_t i = 0; i < logs.size(); ++i) {
    const auto ec = answers[i].get_future().get();
    if (i == 3) {
      EXPECT_EQ(ec, std::errc::io_error);
    } else {
      EXPECT_FALSE(ec) << i << ": " << ec.message();
      EXPECT_EQ(logs[i]->flushed_offset(), logs[i]->end_offset());
    }
  }
  EXPECT_GE(most.load(), 2);
  for (auto& log : logs) committer.untrack(log.get());
}

// Producers that hand their batches to the flusher (append_durable), through the page cache or
// direct: each answer comes after a sync that covers its batch, syncs are shared, and every
// record is stored once, where its answer says.
class GroupCommitAppendTest : public GroupCommitTest, public ::testing::WithParamInterface<bool> {};

TEST_P(GroupCommitAppendTest, AppendDurableStoresEachBatchOnceAndSyncsBeforeAnswering) {
  auto log = open();
  GroupCommitter committer({std::chrono::milliseconds(0), GetParam()});
  committer.track(log.get());
  constexpr int kThreads = 12;
  constexpr int kAppendsPerThread = 20;
  constexpr int kRecords = 5;
  std::atomic<int> uncovered{0};
  std::vector<std::vector<AppendResult>> answers(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      segment::BatchBuilder builder;
      for (int i = 0; i < kAppendsPerThread; ++i) {
        builder.reset();
        const std::string prefix = std::to_string(t) + "-" + std::to_string(i) + ":";
        for (int r = 0; r < kRecords; ++r) {
          builder.add(
              {"", prefix + std::string(500, static_cast<char>('a' + r)), {}, 1'700'000'000'000});
        }
        auto built = builder.finish();
        std::vector<std::byte> bytes(built.begin(), built.end());
        const auto batch = segment::ValidBatch::check(bytes).value();
        std::promise<std::pair<std::error_code, std::vector<AppendResult>>> answer;
        committer.append_durable(*log, std::span(&batch, 1),
                                 [&](std::error_code ec, std::vector<AppendResult> results) {
                                   if (!ec && log->flushed_offset() <= results.back().last_offset) {
                                     uncovered.fetch_add(1);
                                   }
                                   answer.set_value({ec, std::move(results)});
                                 });
        auto [ec, results] = answer.get_future().get();
        ASSERT_FALSE(ec) << ec.message();
        ASSERT_EQ(results.size(), 1u);
        answers[static_cast<size_t>(t)].push_back(results[0]);
      }
    });
  }
  for (auto& t : threads) t.join();
  committer.untrack(log.get());
  constexpr int kBatches = kThreads * kAppendsPerThread;
  EXPECT_EQ(uncovered.load(), 0);
  EXPECT_EQ(log->end_offset(), Offset{kBatches * kRecords});
  EXPECT_LE(syncs_.load() * 2, kBatches) << syncs_.load() << " syncs for " << kBatches;
  // Read everything back: each answer's base offset holds that batch's first record.
  std::map<int64_t, std::string> first_values;
  for (Offset at{0}; at < log->end_offset();) {
    auto slice = log->read(at, 1 << 20);
    ASSERT_TRUE(slice);
    const auto bytes = slice->read().value();
    auto rest = std::as_bytes(std::span(bytes));
    while (!rest.empty()) {
      auto h = segment::validate_batch(rest);
      ASSERT_TRUE(h);
      segment::RecordReader reader(rest.first(h->size_bytes()));
      auto first = reader.next();
      ASSERT_TRUE(first);
      first_values[first->offset.value] = std::string(first->value->substr(0, 8));
      rest = rest.subspan(h->size_bytes());
    }
    at = slice->next_offset;
  }
  EXPECT_EQ(first_values.size(), static_cast<size_t>(kBatches));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kAppendsPerThread; ++i) {
      const auto& r = answers[static_cast<size_t>(t)][static_cast<size_t>(i)];
      EXPECT_EQ(r.last_offset.value - r.base_offset.value, kRecords - 1);
      const std::string prefix = std::to_string(t) + "-" + std::to_string(i) + ":";
      EXPECT_EQ(first_values[r.base_offset.value].substr(0, prefix.size()), prefix);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Writes, GroupCommitAppendTest, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Direct" : "PageCache"; });

TEST_F(GroupCommitTest, AppendDurableAfterStopIsRefused) {
  auto log = open();
  GroupCommitter committer({std::chrono::milliseconds(0), true});
  committer.track(log.get());
  committer.stop();
  segment::BatchBuilder builder;
  builder.reset();
  builder.add({"k", "v", {}, 1'700'000'000'000});
  auto built = builder.finish();
  std::vector<std::byte> bytes(built.begin(), built.end());
  const auto batch = segment::ValidBatch::check(bytes).value();
  std::error_code result;
  committer.append_durable(*log, std::span(&batch, 1),
                           [&](std::error_code ec, std::vector<AppendResult>) { result = ec; });
  EXPECT_EQ(result, Errc::shutting_down);
  EXPECT_EQ(log->end_offset(), Offset{0});
}

}  // namespace
}  // namespace sluice::broker
