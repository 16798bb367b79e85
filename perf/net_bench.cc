// CPU cost of the HTTP front end's own work, without sockets:
//   BM_ProduceParse/json|binary  parse_produce_request over a REST Proxy v2 body of 1000
//                                records with 100-byte values (embedded JSON strings, or
//                                base64); throughput is body bytes per second.
//   BM_Base64Decode              base64_decode of 1 MiB of base64 text; bytes of text per second.
//   BM_RenderRecords/json|binary render_records of 1 MiB slices of a log of 1000-record batches
//                                with 100-byte values, walking the log; records per second.
//   BM_RouterDispatch/<path>     Router::handle for one request (target parsing, percent
//                                decoding, route match, the handler); time per request. The
//                                data route answers 503 here: no broker is attached, so the
//                                figure is the dispatch, not the fetch.

#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "broker/partition_log.h"
#include "common/base64.h"
#include "net/rest/produce_parser.h"
#include "net/rest/record_render.h"
#include "net/rest/router.h"
#include "segment/batch.h"
#include "tests/temp_dir.h"

namespace sluice::net {
namespace {

constexpr size_t kRecords = 1000;
constexpr size_t kValueBytes = 100;
constexpr int64_t kT0 = 1'700'000'000'000;

// A REST Proxy v2 produce body: 1000 records whose values are 100-byte JSON strings (json) or
// 100 bytes as base64 (binary).
std::string produce_body(EmbeddedFormat format) {
  const std::string raw(kValueBytes, 'v');
  const std::string value = format == EmbeddedFormat::json
                                ? "\"" + std::string(kValueBytes - 2, 'v') + "\""
                                : "\"" + base64_encode(raw) + "\"";
  std::string body = R"({"records":[)";
  for (size_t i = 0; i < kRecords; ++i) {
    if (i > 0) body += ',';
    body += R"({"value":)" + value + "}";
  }
  body += "]}";
  return body;
}

void BM_ProduceParse(benchmark::State& state) {
  const auto format = state.range(0) == 0 ? EmbeddedFormat::json : EmbeddedFormat::binary;
  std::string body = produce_body(format);
  const size_t body_bytes = body.size();
  ProduceRequest request;
  for (auto _ : state) {
    request = {};
    if (auto error = parse_produce_request(body, format, request)) {
      state.SkipWithError(error->message.c_str());
      return;
    }
    benchmark::DoNotOptimize(request.records.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body_bytes));
  state.counters["records/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kRecords), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ProduceParse)->ArgName("binary")->Arg(0)->Arg(1);

void BM_Base64Decode(benchmark::State& state) {
  std::string raw(size_t{3} << 18, '\0');  // 768 KiB -> 1 MiB of base64
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>(i * 131 + 7);
  const std::string text = base64_encode(raw);
  std::string out;
  for (auto _ : state) {
    if (!base64_decode(text, out)) {
      state.SkipWithError("decode failed");
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Base64Decode);

void BM_RenderRecords(benchmark::State& state) {
  const auto format = state.range(0) == 0 ? RecordFormat::json : RecordFormat::binary;
  sluice::testing::TempDir dir;
  broker::PartitionLog::Options options;
  options.topic = "bench";
  options.dir = dir.path() / "bench-0";
  auto opened = broker::PartitionLog::open(std::move(options));
  if (!opened) {
    state.SkipWithError("cannot open the log");
    return;
  }
  auto& log = **opened;
  const std::string value = "\"" + std::string(kValueBytes - 2, 'v') + "\"";  // valid JSON
  std::vector<segment::RecordInput> records(kRecords);
  for (size_t i = 0; i < kRecords; ++i) {
    records[i].value = value;
    records[i].timestamp_ms = kT0 + static_cast<int64_t>(i);
  }
  while (log.size_bytes() < (uint64_t{64} << 20)) {
    if (!log.append(records)) {
      state.SkipWithError("append failed");
      return;
    }
  }
  Offset offset = log.start_offset();
  uint64_t rendered = 0;
  std::string out;
  for (auto _ : state) {
    if (offset >= log.end_offset()) offset = log.start_offset();
    auto slice = log.read(offset, uint64_t{1} << 20);
    if (!slice || slice->empty()) {
      state.SkipWithError("read failed");
      return;
    }
    out.clear();
    auto result = render_records(*slice, offset, "bench", 0, format, out);
    if (!result) {
      state.SkipWithError(result.error().message.c_str());
      return;
    }
    const Offset next = *result;
    benchmark::DoNotOptimize(out.data());
    rendered += static_cast<uint64_t>(next.value - offset.value);
    offset = next;
  }
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(rendered), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RenderRecords)->ArgName("binary")->Arg(0)->Arg(1)->UseRealTime();

void router_dispatch(benchmark::State& state, const char* target) {
  ApiContext ctx;
  Router router(ctx);
  asio::io_context io;
  // The benchmark loop runs inside one coroutine, so no per-iteration spawn is measured.
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (auto _ : state) {
          Request request{http::verb::get, target, 11};
          request.set(http::field::host, "bench");
          Reply reply = co_await router.handle(std::move(request));
          benchmark::DoNotOptimize(reply.message.body().data());
        }
      },
      asio::detached);
  io.run();
}
BENCHMARK_CAPTURE(router_dispatch, healthz, "/healthz");
BENCHMARK_CAPTURE(router_dispatch, data_route,
                  "/topics/orders%2Deu/partitions/3/records?offset=42&max_bytes=1048576");

}  // namespace
}  // namespace sluice::net
