// Start-up recovery throughput: BM_RecoveryScan/record_bytes:N/threads:T runs a full
// LogRecovery (every batch validated, every index compared with its rebuild) over 1 GiB of
// segment data in 8 partitions, written once per record size by segment::Segment with the
// broker's default topic settings and reused across iterations (the data stays in the page
// cache: this measures the scan, not the disk). Throughput is log bytes per wall-clock second
// (SetBytesProcessed with UseRealTime; the work runs on T recovery threads). The data is
// deleted when the record size changes and at exit.

#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "recovery/log_recovery.h"
#include "segment/segment.h"

namespace sluice::recovery {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kTotalBytes = uint64_t{1} << 30;
constexpr int kPartitions = 8;
constexpr uint64_t kSegmentBytes = 64 << 20;
constexpr size_t kBatchBytes = 64 << 10;
constexpr int64_t kNow = 1'700'000'000'000;

// One data set: kTotalBytes of batches of `record_bytes`-byte values, removed on destruction.
class DataSet {
 public:
  explicit DataSet(size_t record_bytes)
      : record_bytes_(record_bytes),
        dir_(fs::temp_directory_path() / ("sluice-recovery-bench-" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    for (int p = 0; p < kPartitions; ++p) write_partition(dir_ / ("bench-" + std::to_string(p)));
  }
  ~DataSet() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  DataSet(const DataSet&) = delete;
  DataSet& operator=(const DataSet&) = delete;

  size_t record_bytes() const { return record_bytes_; }
  const fs::path& dir() const { return dir_; }

 private:
  void write_partition(const fs::path& dir) {
    fs::create_directories(dir);
    const segment::SegmentOptions options{};  // broker defaults, as LogRecovery assumes
    const std::string value(record_bytes_, 'v');
    const size_t per_batch = std::max<size_t>(1, kBatchBytes / (record_bytes_ + 16));
    segment::BatchBuilder builder;
    std::shared_ptr<segment::Segment> active;
    Offset next{0};
    uint64_t written = 0;
    while (written < kTotalBytes / kPartitions) {
      builder.reset();
      for (size_t i = 0; i < per_batch; ++i) {
        builder.add({"key", value, {}, kNow + static_cast<int64_t>(next.value + i)});
      }
      auto batch = builder.finish();
      segment::stamp_batch(batch, next, 0);
      auto h = segment::parse_header(batch).value();
      if (!active ||
          active->needs_roll(batch.size(), h.last_offset(), kSegmentBytes, INT64_MAX, kNow)) {
        if (active) (void)active->seal();
        active = segment::Segment::create(dir, next, options, kNow).value();
      }
      (void)active->append(batch, h);
      next = h.next_offset();
      written += batch.size();
    }
    (void)active->flush_indexes();
  }

  size_t record_bytes_;
  fs::path dir_;
};

// Destroyed (and the data deleted) at exit.
std::unique_ptr<DataSet>& data_set() {
  static std::unique_ptr<DataSet> data;
  return data;
}

void BM_RecoveryScan(benchmark::State& state) {
  const auto record_bytes = static_cast<size_t>(state.range(0));
  auto& data = data_set();
  if (!data || data->record_bytes() != record_bytes) {
    data.reset();
    data = std::make_unique<DataSet>(record_bytes);
  }
  spdlog::set_level(spdlog::level::warn);
  LogRecoveryOptions options;
  options.log_dirs = {data->dir()};
  options.threads = static_cast<int>(state.range(1));
  uint64_t bytes = 0;
  for (auto _ : state) {
    auto report = LogRecovery(options).run();
    if (!report || report->failed() || report->total_bytes_quarantined() != 0) {
      state.SkipWithError("recovery failed or cut data");
      break;
    }
    bytes += report->total_bytes_scanned();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["log_MiB"] =
      static_cast<double>(bytes) / static_cast<double>(state.iterations()) / (1 << 20);
}

BENCHMARK(BM_RecoveryScan)
    ->ArgNames({"record_bytes", "threads"})
    ->Args({100, 1})
    ->Args({100, 2})
    ->Args({1024, 1})
    ->Args({1024, 2})
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice::recovery
