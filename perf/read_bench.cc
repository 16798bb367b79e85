// Cost of reading a partition log from the page cache:
//   BM_SegmentSequentialRead  walks a ~256 MiB log (batches of 1000 100-byte records) front to
//                             back in 1 MiB slices: PartitionLog::read (offset index lookup and
//                             batch header walk) plus a pread of the slice, into a zero-filled
//                             string (uninitialised:0) or an uninitialised buffer (:1, what
//                             JSON fetches use), then starts over. Throughput: slice bytes/s.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "broker/partition_log.h"
#include "segment/batch.h"
#include "tests/temp_dir.h"

namespace sluice::broker {
namespace {

using segment::RecordInput;
using sluice::testing::TempDir;

constexpr size_t kValueBytes = 100;
constexpr size_t kRecordsPerBatch = 1000;
constexpr uint64_t kLogBytes = uint64_t{256} << 20;
constexpr uint64_t kSliceBytes = uint64_t{1} << 20;
constexpr int64_t kT0 = 1'700'000'000'000;

void BM_SegmentSequentialRead(benchmark::State& state) {
  TempDir dir;
  PartitionLog::Options options;
  options.topic = "bench";
  options.dir = dir.path() / "bench-0";
  auto opened = PartitionLog::open(std::move(options));
  if (!opened) {
    state.SkipWithError("cannot open the log");
    return;
  }
  auto& log = **opened;
  const std::string value(kValueBytes, 'v');
  std::vector<RecordInput> records(kRecordsPerBatch);
  for (size_t i = 0; i < kRecordsPerBatch; ++i) {
    records[i].value = value;
    records[i].timestamp_ms = kT0 + static_cast<int64_t>(i);
  }
  while (log.size_bytes() < kLogBytes) {
    if (!log.append(records)) {
      state.SkipWithError("append failed");
      return;
    }
  }
  Offset offset = log.start_offset();
  uint64_t bytes = 0;
  for (auto _ : state) {
    if (offset >= log.end_offset()) offset = log.start_offset();
    auto slice = log.read(offset, kSliceBytes);
    if (!slice || slice->empty()) {
      state.SkipWithError("read failed");
      return;
    }
    // Arg 1: into an uninitialised buffer (what fetches use); arg 0: into a zero-filled
    // string, the peer that shows what the zero-fill costs.
    if (state.range(0) == 1) {
      auto data = slice->read_bytes();
      if (!data) {
        state.SkipWithError("slice read failed");
        return;
      }
      benchmark::DoNotOptimize(data->get());
    } else {
      auto data = slice->read();
      if (!data) {
        state.SkipWithError("slice read failed");
        return;
      }
      benchmark::DoNotOptimize(data->data());
    }
    bytes += slice->length;
    offset = slice->next_offset;
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["log_MiB"] = static_cast<double>(log.size_bytes() >> 20);
}
BENCHMARK(BM_SegmentSequentialRead)->ArgName("uninitialised")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
}  // namespace sluice::broker
