// Cost of appending to a partition log:
//   BM_SegmentAppend/N  PartitionLog::append of one batch of N 100-byte records (pre-built
//                       RecordInput arrays), into the page cache: no fsync. The log is recreated
//                       (untimed) whenever it reaches kMaxLogBytes, to bound disk use.
//   BM_DurableAppend    every thread appends one 100-byte record, then waits for
//                       GroupCommitter::wait_durable on the shared log: real fdatasync calls
//                       on the file system of the temp dir. Reports records/s and the p50/p99
//                       latency from append to durable, over every operation of every thread.
// Byte throughput (SetBytesProcessed) counts the encoded batch bytes written to the log.
// Real time, not CPU time: waits for the disk and page-cache throttling are part of the cost.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/group_commit.h"
#include "broker/partition_log.h"
#include "segment/batch.h"
#include "tests/temp_dir.h"

namespace sluice::broker {
namespace {

using segment::RecordInput;
using sluice::testing::TempDir;

constexpr size_t kValueBytes = 100;
constexpr int64_t kT0 = 1'700'000'000'000;
constexpr uint64_t kMaxLogBytes = uint64_t{1} << 30;

std::unique_ptr<PartitionLog> open_log(const std::filesystem::path& dir) {
  PartitionLog::Options options;
  options.topic = "bench";
  options.dir = dir / "bench-0";
  options.config.segment_bytes = (int64_t{1} << 31) - 1;  // rolls are rare
  auto log = PartitionLog::open(std::move(options));
  return log ? std::move(*log) : nullptr;
}

std::vector<RecordInput> make_records(size_t n, const std::string& value) {
  std::vector<RecordInput> records(n);
  for (size_t i = 0; i < n; ++i) {
    records[i].value = value;
    records[i].timestamp_ms = kT0 + static_cast<int64_t>(i);
  }
  return records;
}

size_t encoded_size(std::span<const RecordInput> records) {
  segment::BatchBuilder builder;
  builder.reset();
  for (const auto& r : records) builder.add(r);
  return builder.finish().size();
}

void BM_SegmentAppend(benchmark::State& state) {
  const std::string value(kValueBytes, 'v');
  const auto records = make_records(static_cast<size_t>(state.range(0)), value);
  const size_t batch_bytes = encoded_size(records);
  std::optional<TempDir> dir;
  dir.emplace();
  auto log = open_log(dir->path());
  if (!log) {
    state.SkipWithError("cannot open the log");
    return;
  }
  uint64_t log_bytes = 0;
  for (auto _ : state) {
    if (log_bytes + batch_bytes > kMaxLogBytes) {
      state.PauseTiming();
      log.reset();
      dir.emplace();  // removes the old directory first
      log = open_log(dir->path());
      log_bytes = 0;
      state.ResumeTiming();
      if (!log) {
        state.SkipWithError("cannot reopen the log");
        return;
      }
    }
    if (!log->append(records)) {
      state.SkipWithError("append failed");
      return;
    }
    log_bytes += batch_bytes;
  }
  const auto iterations = static_cast<int64_t>(state.iterations());
  state.SetBytesProcessed(iterations * static_cast<int64_t>(batch_bytes));
  state.SetItemsProcessed(iterations * state.range(0));
  state.counters["records/s"] = benchmark::Counter(static_cast<double>(iterations * state.range(0)),
                                                   benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SegmentAppend)->Arg(1)->Arg(100)->Arg(1000)->UseRealTime();

// State shared by the threads of one BM_DurableAppend run; Setup and Teardown run once per
// run, before the threads start and after they all stop.
struct DurableRun {
  std::optional<TempDir> dir;
  std::unique_ptr<PartitionLog> log;
  std::unique_ptr<GroupCommitter> committer;
  std::mutex mu;
  std::vector<double> latencies_us;  // guarded by mu
  int merged = 0;                    // threads that added their latencies; guarded by mu
};
DurableRun* g_durable = nullptr;

void durable_setup(const benchmark::State&) {
  g_durable = new DurableRun;
  g_durable->dir.emplace();
  g_durable->log = open_log(g_durable->dir->path());
  g_durable->committer = std::make_unique<GroupCommitter>(GroupCommitter::Options{});
}

void durable_teardown(const benchmark::State&) {
  g_durable->committer->stop();
  g_durable->committer.reset();
  g_durable->log.reset();
  delete g_durable;  // removes the directory
  g_durable = nullptr;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

void BM_DurableAppend(benchmark::State& state) {
  using Clock = std::chrono::steady_clock;
  DurableRun& run = *g_durable;
  if (!run.log) {
    state.SkipWithError("cannot open the log");
    return;
  }
  const std::string value(kValueBytes, 'v');
  const auto records = make_records(1, value);
  std::vector<double> latencies_us;
  latencies_us.reserve(4096);
  for (auto _ : state) {
    const auto start = Clock::now();
    if (!run.log->append(records) || !run.committer->wait_durable(*run.log)) {
      state.SkipWithError("durable append failed");
      break;
    }
    latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  const auto iterations = static_cast<int64_t>(state.iterations());
  state.SetBytesProcessed(iterations * static_cast<int64_t>(encoded_size(records)));
  state.SetItemsProcessed(iterations);
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(iterations), benchmark::Counter::kIsRate);
  // Counters are summed over threads: only the last thread to finish sets the percentiles,
  // computed over the latencies of all threads.
  std::lock_guard lock(run.mu);
  run.latencies_us.insert(run.latencies_us.end(), latencies_us.begin(), latencies_us.end());
  if (++run.merged == state.threads()) {
    std::sort(run.latencies_us.begin(), run.latencies_us.end());
    state.counters["p50_us"] = percentile(run.latencies_us, 0.50);
    state.counters["p99_us"] = percentile(run.latencies_us, 0.99);
    state.counters["fsyncs"] = static_cast<double>(run.committer->flush_rounds());
  }
}
BENCHMARK(BM_DurableAppend)
    ->Setup(durable_setup)
    ->Teardown(durable_teardown)
    ->Threads(1)
    ->Threads(8)
    ->Threads(64)
    ->MinTime(2.0)
    ->UseRealTime();

}  // namespace
}  // namespace sluice::broker
