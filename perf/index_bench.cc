// Lookup cost of the sparse indexes: BM_OffsetIndexLookup/N and BM_TimeIndexLookup/N run one
// binary search per iteration over an index of N entries, at pseudo-random targets. Throughput
// is reported as lookups per second (SetItemsProcessed): a lookup reads about log2(N) entries,
// so bytes per second would say nothing. BENCHMARK_MAIN() lives in the benchmark program that
// links this file.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "index/offset_index.h"
#include "index/time_index.h"

namespace sluice::index {
namespace {

constexpr Offset kBase{1'000'000};
constexpr int64_t kT0 = 1'700'000'000'000;

// A scratch directory for one benchmark run, removed afterwards.
class ScratchDir {
 public:
  explicit ScratchDir(std::string name) {
    name += '-';
    name += std::to_string(::getpid());
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::create_directories(path_);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

uint64_t next_random(uint64_t& x) {
  x = x * 6364136223846793005u + 1442695040888963407u;
  return x >> 33;
}

void BM_OffsetIndexLookup(benchmark::State& state) {
  const auto n = static_cast<int64_t>(state.range(0));
  ScratchDir dir("sluice-bench-offset-index");
  auto index = OffsetIndex::open(dir.path() / "bench.index", kBase,
                                 static_cast<size_t>(n) * kOffsetEntrySize, true);
  if (!index) {
    state.SkipWithError(index.error().message().c_str());
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    if (!index->append(Offset{kBase.value + 8 * i}, FilePos{4096u * static_cast<uint64_t>(i)})) {
      state.SkipWithError("append failed");
      return;
    }
  }
  uint64_t x = 42;
  for (auto _ : state) {
    const Offset target{kBase.value + static_cast<int64_t>(next_random(x) % (8u * n))};
    benchmark::DoNotOptimize(index->floor(target));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OffsetIndexLookup)->RangeMultiplier(16)->Range(16, 1 << 20);

void BM_TimeIndexLookup(benchmark::State& state) {
  const auto n = static_cast<int64_t>(state.range(0));
  ScratchDir dir("sluice-bench-time-index");
  auto index = TimeIndex::open(dir.path() / "bench.timeindex", kBase,
                               static_cast<size_t>(n) * kTimeEntrySize, true);
  if (!index) {
    state.SkipWithError(index.error().message().c_str());
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    if (!index->append(kT0 + 10 * i, Offset{kBase.value + 8 * i})) {
      state.SkipWithError("append failed");
      return;
    }
  }
  uint64_t x = 42;
  for (auto _ : state) {
    const int64_t target = kT0 + static_cast<int64_t>(next_random(x) % (10u * n));
    benchmark::DoNotOptimize(index->last_before(target));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimeIndexLookup)->RangeMultiplier(16)->Range(16, 1 << 20);

}  // namespace
}  // namespace sluice::index
