// Cost of the batch format in memory, no I/O:
//   BM_BatchEncode/N          encode 1000 records of an N-byte value into one batch with a
//                             reused BatchBuilder (reset, add x1000, finish: checksums included).
//   BM_BatchDecodeValidate/N  validate_batch over such a batch, then read every record with a
//                             RecordReader (what a consumer of an untrusted batch pays).
//   BM_Checksum/N             segment::checksum (XXH3-64) over N bytes.
// Throughput is batch bytes per second (SetBytesProcessed) and records per second.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "segment/batch.h"

namespace sluice::segment {
namespace {

constexpr int kRecordsPerBatch = 1000;
constexpr int64_t kT0 = 1'700'000'000'000;

// kRecordsPerBatch records with a null key and a value of value_size bytes, 1 ms apart.
std::vector<RecordInput> make_records(const std::string& value) {
  std::vector<RecordInput> records(kRecordsPerBatch);
  for (int i = 0; i < kRecordsPerBatch; ++i) {
    records[i].value = value;
    records[i].timestamp_ms = kT0 + i;
  }
  return records;
}

void BM_BatchEncode(benchmark::State& state) {
  const std::string value(static_cast<size_t>(state.range(0)), 'v');
  const auto records = make_records(value);
  BatchBuilder builder;
  size_t batch_bytes = 0;
  for (auto _ : state) {
    builder.reset();
    for (const auto& r : records) builder.add(r);
    auto batch = builder.finish();
    batch_bytes = batch.size();
    benchmark::DoNotOptimize(batch.data());
    benchmark::ClobberMemory();
  }
  const auto iterations = static_cast<int64_t>(state.iterations());
  state.SetBytesProcessed(iterations * static_cast<int64_t>(batch_bytes));
  state.SetItemsProcessed(iterations * kRecordsPerBatch);
  state.counters["records/s"] = benchmark::Counter(
      static_cast<double>(iterations) * kRecordsPerBatch, benchmark::Counter::kIsRate);
  state.counters["batch_bytes"] = static_cast<double>(batch_bytes);
}
BENCHMARK(BM_BatchEncode)->Arg(100)->Arg(1024);

void BM_BatchDecodeValidate(benchmark::State& state) {
  const std::string value(static_cast<size_t>(state.range(0)), 'v');
  const auto records = make_records(value);
  BatchBuilder builder;
  builder.reset();
  for (const auto& r : records) builder.add(r);
  const auto built = builder.finish();
  const std::vector<std::byte> batch(built.begin(), built.end());
  for (auto _ : state) {
    auto header = validate_batch(batch);
    if (!header) {
      state.SkipWithError("validate_batch rejected the batch");
      return;
    }
    RecordReader reader(batch);
    size_t value_bytes = 0;
    int32_t count = 0;
    while (auto record = reader.next()) {
      value_bytes += record->value ? record->value->size() : 0;
      ++count;
    }
    benchmark::DoNotOptimize(value_bytes);
    benchmark::DoNotOptimize(count);
  }
  const auto iterations = static_cast<int64_t>(state.iterations());
  state.SetBytesProcessed(iterations * static_cast<int64_t>(batch.size()));
  state.SetItemsProcessed(iterations * kRecordsPerBatch);
  state.counters["records/s"] = benchmark::Counter(
      static_cast<double>(iterations) * kRecordsPerBatch, benchmark::Counter::kIsRate);
  state.counters["batch_bytes"] = static_cast<double>(batch.size());
}
BENCHMARK(BM_BatchDecodeValidate)->Arg(100)->Arg(1024);

void BM_Checksum(benchmark::State& state) {
  std::vector<std::byte> bytes(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * 131 + 7);
  for (auto _ : state) {
    benchmark::DoNotOptimize(checksum(bytes));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_Checksum)->Arg(4096)->Arg(65536)->Arg(1 << 20);

}  // namespace
}  // namespace sluice::segment
