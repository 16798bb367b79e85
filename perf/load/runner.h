#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/http_url.h"
#include "net/http/client_stream.h"
#include "perf/load/histogram.h"
#include "perf/load/options.h"
#include "segment/batch.h"

namespace sluice::load {

namespace asio = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;

// Counters of one load thread. The owning thread writes; the progress line reads concurrently.
struct Stats {
  Histogram latency;  // request latency: from the scheduled send time to the whole reply
  Histogram e2e;      // e2e mode: from the producer's stamp to the fetcher's reply
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> records{0};
  std::atomic<uint64_t> payload_bytes{0};  // record value bytes (fetch: reply body bytes)
  std::atomic<uint64_t> tx_bytes{0};       // request body bytes
  std::atomic<uint64_t> rx_bytes{0};       // reply body bytes

  void add_error(const std::string& kind);
  std::map<std::string, uint64_t> errors() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> errors_;  // guarded by mu_
};

// Drives one run: `connections` clients, one request in flight on each unless --in-flight
// asks for HTTP/1.1 pipelining (RESP pipelines records_per_request commands as one request),
// spread over `threads` threads
// each with its own io_context. With a rate, request k is due at start + k / rate whichever
// connection is free to take it, and its latency counts from that due time, so time spent
// queued behind a slow server is measured rather than omitted.
class Runner {
 public:
  // `start_offsets` holds, per partition, where fetches start (fetch and e2e modes).
  Runner(Options options, std::string cluster_id, std::vector<int64_t> start_offsets);

  // Runs until the duration or record bound is reached; prints the progress line.
  void run();
  // The result as one JSON object.
  std::string result_json() const;

 private:
  struct RequestTemplate {
    beast::http::request<beast::http::string_body> request;
    uint64_t records_per_request = 1;
    uint64_t payload_per_request = 0;
  };
  // The request a client of `partition` sends (fetch and e2e set the target per request).
  RequestTemplate make_request(int partition, segment::BatchBuilder& builder) const;
  bool count_reply(Stats& stats, Clock::time_point sent, size_t request_body_bytes,
                   const beast::http::response<beast::http::string_body>& response,
                   unsigned ok_status) const;
  asio::awaitable<void> http_client(int index, Stats& stats);
  asio::awaitable<void> pipelined_client(int index, Stats& stats);
  asio::awaitable<void> resp_client(int index, Stats& stats);
  asio::awaitable<void> tail_fetcher(int partition, Stats& stats);
  asio::awaitable<void> consumer_client(int index, Stats& stats);
  // One request and its reply on `stream`; nullopt (the error counted as `what`) on failure.
  asio::awaitable<std::optional<beast::http::response<beast::http::string_body>>> exchange(
      net::ClientStream& stream, beast::flat_buffer& buffer,
      beast::http::request<beast::http::string_body>& request, Stats& stats, std::string_view what);
  asio::awaitable<bool> connect(net::ClientStream& stream, Stats& stats);
  asio::awaitable<bool> await_slot(Clock::time_point slot, asio::steady_timer& timer,
                                   net::ClientStream& stream, Stats& stats, bool& connected);
  std::optional<Clock::time_point> next_slot();
  bool slot_bounded() const;
  uint64_t now_ns() const;
  std::string fetch_target(int partition, int64_t offset, int timeout_ms) const;
  void print_progress(double seconds, uint64_t records, uint64_t bytes, uint64_t errors,
                      double interval_s);

  Options o_;
  std::string cluster_id_;
  std::vector<int64_t> start_offsets_;
  HttpAddress address_;  // where the load goes (https with --tls-port)
  std::string host_header_;
  std::shared_ptr<asio::ssl::context> tls_;    // --tls-port: the client context
  std::vector<std::unique_ptr<Stats>> stats_;  // one per thread
  Clock::time_point start_;
  Clock::time_point deadline_;
  double elapsed_s_ = 0;
  std::atomic<uint64_t> slots_{0};
  std::atomic<uint64_t> records_done_{0};      // fetch and xrange record bound
  std::atomic<int> producers_active_{0};       // e2e: producers still running
  std::atomic<uint64_t> produced_records_{0};  // e2e: records acknowledged
  std::atomic<uint64_t> fetched_records_{0};   // e2e: records the fetchers saw
};

}  // namespace sluice::load
