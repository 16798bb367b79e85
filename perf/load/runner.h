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

// A client connection, plain or TLS (--tls-port), with Beast's stream interface: the deadline
// of beast::tcp_stream applies to the TCP layer under TLS as well. Both kinds of operation
// complete the same way, so a caller's code is the same for either.
class LoadStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;
  LoadStream(const executor_type& executor, asio::ssl::context* tls)
      : tcp_(executor), tls_context_(tls) {}

  beast::tcp_stream& tcp() { return tcp_; }
  asio::ip::tcp::socket& socket() { return tcp_.socket(); }
  executor_type get_executor() { return tcp_.get_executor(); }
  template <class Duration>
  void expires_after(Duration d) {
    tcp_.expires_after(d);
  }
  // For a new connection: a fresh TLS session over the TCP stream, or null for plain HTTP.
  asio::ssl::stream<beast::tcp_stream&>* start_tls() {
    tls_.reset();
    if (tls_context_ != nullptr) tls_.emplace(tcp_, *tls_context_);
    return tls_ ? &*tls_ : nullptr;
  }
  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return tcp_.async_read_some(buffers, std::forward<Token>(token));
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return tcp_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  beast::tcp_stream tcp_;
  asio::ssl::context* tls_context_;
  std::optional<asio::ssl::stream<beast::tcp_stream&>> tls_;
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
      LoadStream& stream, beast::flat_buffer& buffer,
      beast::http::request<beast::http::string_body>& request, Stats& stats, std::string_view what);
  asio::awaitable<bool> connect(LoadStream& stream, Stats& stats);
  asio::awaitable<bool> await_slot(Clock::time_point slot, asio::steady_timer& timer,
                                   LoadStream& stream, Stats& stats, bool& connected);
  std::optional<Clock::time_point> next_slot();
  bool slot_bounded() const;
  uint64_t now_ns() const;
  std::string fetch_target(int partition, int64_t offset, int timeout_ms) const;
  void print_progress(double seconds, uint64_t records, uint64_t bytes, uint64_t errors,
                      double interval_s);

  Options o_;
  std::string cluster_id_;
  std::vector<int64_t> start_offsets_;
  asio::ip::tcp::endpoint endpoint_;
  std::string host_header_;
  std::unique_ptr<asio::ssl::context> tls_;    // --tls-port: the client context
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
