#include "perf/load/runner.h"

#include <fmt/format.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cstdio>
#include <limits>
#include <thread>

#include "perf/load/bodies.h"
#include "perf/load/resp.h"

namespace sluice::load {
namespace {

namespace http = beast::http;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr auto kIoTimeout = std::chrono::seconds(30);
constexpr size_t kReadBufferBytes = 256 * 1024;
constexpr auto kReconnectDelay = std::chrono::milliseconds(100);
// After the producers stop, e2e fetchers wait this long for the last records.
constexpr auto kDrainTime = std::chrono::seconds(3);

uint64_t to_ns(Clock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

int64_t header_int(const http::response<http::string_body>& r, std::string_view name) {
  const auto text = r[name];
  int64_t value = -1;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// The reply body of each request reuses the memory of the one before. A fresh string for
// every reply of a MiB fetch is a fresh mapping (glibc gives a freed block that size back to the
// kernel), faulted in and zero-filled page by page: that cost the load generator more CPU than
// reading the reply's bytes did.
class BodyRecycler {
 public:
  void lend(http::response_parser<http::string_body>& parser) {
    spare_.clear();
    parser.get().body() = std::move(spare_);
  }
  void take_back(http::response_parser<http::string_body>& parser) {
    spare_ = std::move(parser.get().body());
  }

 private:
  std::string spare_;
};

std::string latency_json(const Histogram& h) {
  auto us = [&h](double q) { return static_cast<double>(h.percentile_ns(q)) / 1e3; };
  return fmt::format(
      R"({{"count":{},"mean":{:.1f},"p50":{:.1f},"p90":{:.1f},"p99":{:.1f},"p999":{:.1f},)"
      R"("max":{:.1f}}})",
      h.count(), h.mean_ns() / 1e3, us(0.5), us(0.9), us(0.99), us(0.999),
      static_cast<double>(h.max_ns()) / 1e3);
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

void Stats::add_error(const std::string& kind) {
  std::lock_guard lock(mu_);
  ++errors_[kind];
}

std::map<std::string, uint64_t> Stats::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

Runner::Runner(Options options, std::string cluster_id, std::vector<int64_t> start_offsets)
    : o_(std::move(options)),
      cluster_id_(std::move(cluster_id)),
      start_offsets_(std::move(start_offsets)) {
  const std::string host = o_.host == "localhost" ? "127.0.0.1" : o_.host;
  address_.host = asio::ip::make_address(host).to_string();
  address_.port = o_.tls_port != 0 ? o_.tls_port : o_.port;
  address_.tls = o_.tls_port != 0;
  if (o_.tls_port != 0) {
    tls_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    if (!o_.tls_ca.empty()) tls_->load_verify_file(o_.tls_ca);
    tls_->set_verify_mode(o_.tls_ca.empty() ? asio::ssl::verify_none : asio::ssl::verify_peer);
  }
  host_header_ = fmt::format("{}:{}", o_.host, o_.port);
  start_offsets_.resize(static_cast<size_t>(o_.partitions), 0);
  for (int t = 0; t < o_.threads; ++t) stats_.push_back(std::make_unique<Stats>());
}

bool Runner::slot_bounded() const {
  return o_.mode == Mode::produce || o_.mode == Mode::e2e || o_.mode == Mode::http ||
         (o_.mode == Mode::resp && o_.resp_op == "xadd");
}

uint64_t Runner::now_ns() const { return to_ns(Clock::now() - start_); }

std::optional<Clock::time_point> Runner::next_slot() {
  const uint64_t k = slots_.fetch_add(1, std::memory_order_relaxed);
  if (o_.max_records > 0) {
    const uint64_t per_slot =
        o_.mode == Mode::http ? 1 : static_cast<uint64_t>(o_.records_per_request);
    if (slot_bounded() ? k * per_slot >= o_.max_records
                       : records_done_.load(std::memory_order_relaxed) >= o_.max_records) {
      return std::nullopt;
    }
  }
  if (o_.rate > 0) {
    const auto due = start_ + std::chrono::nanoseconds(
                                  static_cast<int64_t>(static_cast<double>(k) * 1e9 / o_.rate));
    if (due >= deadline_) return std::nullopt;
    return due;
  }
  const auto now = Clock::now();
  if (now >= deadline_) return std::nullopt;
  return now;
}

std::string Runner::fetch_target(int partition, int64_t offset, int timeout_ms) const {
  return fmt::format("/topics/{}/partitions/{}/records?offset={}&max_bytes={}&timeout={}", o_.topic,
                     partition, offset, o_.max_bytes, timeout_ms);
}

// Waits for the slot's send time (open loop) and connects if needed. False: still not
// connected, after a short pause; the slot is skipped.
asio::awaitable<bool> Runner::await_slot(Clock::time_point slot, asio::steady_timer& timer,
                                         net::ClientStream& stream, Stats& stats, bool& connected) {
  if (o_.rate > 0) {
    timer.expires_at(slot);
    co_await timer.async_wait(kNoThrow);
  }
  if (connected) co_return true;
  connected = co_await connect(stream, stats);
  if (!connected) {
    timer.expires_after(kReconnectDelay);
    co_await timer.async_wait(kNoThrow);
  }
  co_return connected;
}

asio::awaitable<bool> Runner::connect(net::ClientStream& stream, Stats& stats) {
  if (auto ec = co_await stream.connect(address_, std::chrono::seconds(5), tls_)) {
    // TLS failures name themselves (the ssl category: "certificate verify failed", ...).
    stats.add_error(fmt::format("connect: {} ({})", ec.message(), ec.category().name()));
    stream.close();
    co_return false;
  }
  co_return true;
}

// Counts one answered request: its latency from `sent`, the bytes each way, and an error for
// a status other than `ok_status`. Returns whether the status was `ok_status`.
bool Runner::count_reply(Stats& stats, Clock::time_point sent, size_t request_body_bytes,
                         const http::response<http::string_body>& response,
                         unsigned ok_status) const {
  stats.latency.record(to_ns(Clock::now() - sent));
  stats.requests.fetch_add(1, std::memory_order_relaxed);
  stats.tx_bytes.fetch_add(request_body_bytes, std::memory_order_relaxed);
  stats.rx_bytes.fetch_add(response.body().size(), std::memory_order_relaxed);
  if (response.result_int() == ok_status) return true;
  stats.add_error(fmt::format("http {}", response.result_int()));
  return false;
}

Runner::RequestTemplate Runner::make_request(int partition, segment::BatchBuilder& builder) const {
  RequestTemplate t;
  auto& request = t.request;
  request.version(11);
  request.set(http::field::host, host_header_);
  request.set(http::field::user_agent, "sluice-load");
  if (o_.mode == Mode::produce || o_.mode == Mode::e2e) {
    request.method(http::verb::post);
    request.target(produce_target(o_, partition, cluster_id_));
    request.set(http::field::content_type, produce_content_type(o_.format));
    if (o_.mode == Mode::produce) {
      build_produce_body(o_, partition, std::nullopt, builder, request.body());
    }
    t.records_per_request = static_cast<uint64_t>(o_.records_per_request);
    t.payload_per_request = t.records_per_request * static_cast<uint64_t>(o_.record_size);
  } else if (o_.mode == Mode::fetch) {
    request.method(http::verb::get);
    request.set(http::field::accept, o_.format == "raw" ? "application/vnd.sluice.batch"
                                                        : "application/vnd.kafka.json.v2+json");
  } else {
    request.method(o_.method == "POST" ? http::verb::post : http::verb::get);
    request.target(o_.path);
    if (o_.method == "POST") {
      request.set(http::field::content_type, "application/octet-stream");
      request.body().assign(o_.body_size, 'x');
    }
    t.payload_per_request = o_.body_size;
  }
  request.prepare_payload();
  return t;
}

// --in-flight N > 1 (produce and plain http): HTTP/1.1 pipelining. A writer sends requests as
// their slots come, never more than N unanswered; a reader takes the replies in order. Latency
// counts from each request's slot (open loop) or its send, so waiting behind earlier requests
// on the same connection is measured. An I/O error ends this connection (counted); it does not
// reconnect, since the requests in flight would be lost in an unknown state.
asio::awaitable<void> Runner::pipelined_client(int index, Stats& stats) {
  using namespace asio::experimental::awaitable_operators;
  using Channel = asio::experimental::channel<void(beast::error_code, Clock::time_point)>;
  auto executor = co_await asio::this_coro::executor;
  net::ClientStream stream(executor);
  beast::flat_buffer buffer;
  buffer.reserve(kReadBufferBytes);
  segment::BatchBuilder builder;
  auto [request, records_per_request, payload_per_request] =
      make_request(index % o_.partitions, builder);
  if (!co_await connect(stream, stats)) co_return;
  // Holds the send times of requests written and not yet taken by the reader: with the one
  // the reader is reading, at most in_flight unanswered.
  Channel sent_times(executor, static_cast<size_t>(o_.in_flight - 1));
  constexpr auto kEnd = Clock::time_point::max();
  bool broken = false;
  auto writer = [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(executor);
    bool connected = true;
    while (!broken) {
      auto slot = next_slot();
      if (!slot) break;
      co_await await_slot(*slot, timer, stream, stats, connected);
      const auto sent = o_.rate > 0 ? *slot : Clock::now();
      co_await sent_times.async_send(beast::error_code{}, sent, kNoThrow);
      if (broken) break;
      stream.expires_after(kIoTimeout);
      auto [ec, n] = co_await http::async_write(stream, request, kNoThrow);
      if (ec) {
        if (!broken) stats.add_error("write: " + ec.message());
        broken = true;
        break;
      }
    }
    co_await sent_times.async_send(beast::error_code{}, kEnd, kNoThrow);
  };
  auto reader = [&]() -> asio::awaitable<void> {
    for (;;) {
      auto [ec, sent] = co_await sent_times.async_receive(kNoThrow);
      if (ec || sent == kEnd) break;
      if (broken) continue;  // drain: the writer may still be waiting to hand over
      http::response_parser<http::string_body> parser;
      parser.body_limit(std::numeric_limits<uint64_t>::max());
      stream.expires_after(kIoTimeout);
      auto [read_ec, m] = co_await http::async_read(stream, buffer, parser, kNoThrow);
      if (read_ec) {
        stats.add_error("read: " + read_ec.message());
        broken = true;
        stream.close();
        continue;
      }
      if (!count_reply(stats, sent, request.body().size(), parser.get(), 200)) continue;
      stats.records.fetch_add(records_per_request, std::memory_order_relaxed);
      stats.payload_bytes.fetch_add(payload_per_request, std::memory_order_relaxed);
    }
  };
  co_await (writer() && reader());
  stream.close();
}

asio::awaitable<void> Runner::http_client(int index, Stats& stats) {
  auto executor = co_await asio::this_coro::executor;
  net::ClientStream stream(executor);
  beast::flat_buffer buffer;
  // Beast reads no more than the buffer's free capacity at a time (512 bytes when empty):
  // reserve enough that a 1 MiB reply takes a few reads, not thousands.
  buffer.reserve(kReadBufferBytes);
  BodyRecycler bodies;
  asio::steady_timer timer(executor);
  const int partition = index % o_.partitions;
  segment::BatchBuilder builder;
  auto [request, records_per_request, payload_per_request] = make_request(partition, builder);
  int64_t cursor = start_offsets_[static_cast<size_t>(partition)];
  // http GET with ranges: every connection walks the span from its start, as every fetch
  // connection of a scenario walks its partition from the log's start.
  const uint64_t range_slots =
      o_.range_bytes > 0 ? std::max<uint64_t>(1, o_.range_span / o_.range_bytes) : 0;
  uint64_t range_slot = 0;
  bool connected = false;
  while (auto slot = next_slot()) {
    const bool was_connected = connected;
    if (!co_await await_slot(*slot, timer, stream, stats, connected)) continue;
    if (!was_connected) buffer.clear();
    if (o_.mode == Mode::e2e) {
      build_produce_body(o_, partition, now_ns(), builder, request.body());
      request.prepare_payload();
    } else if (o_.mode == Mode::fetch) {
      request.target(fetch_target(partition, cursor, o_.tail ? o_.timeout_ms : 0));
    } else if (range_slots > 0) {
      const uint64_t first = range_slot * o_.range_bytes;
      request.set(http::field::range,
                  fmt::format("bytes={}-{}", first, first + o_.range_bytes - 1));
      range_slot = (range_slot + 1) % range_slots;
    }
    const auto sent = o_.rate > 0 ? *slot : Clock::now();
    stream.expires_after(kIoTimeout);
    auto [write_ec, written] = co_await http::async_write(stream, request, kNoThrow);
    if (write_ec) {
      stats.add_error("write: " + write_ec.message());
      stream.close();
      connected = false;
      continue;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    bodies.lend(parser);
    auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (read_ec) {
      stats.add_error("read: " + read_ec.message());
      stream.close();
      connected = false;
      continue;
    }
    const auto& response = parser.get();
    const bool ok =
        count_reply(stats, sent, request.body().size(), response, range_slots > 0 ? 206 : 200);
    if (ok && o_.mode == Mode::fetch) {
      const int64_t next = header_int(response, "X-Sluice-Next-Offset");
      const auto got = static_cast<uint64_t>(next > cursor ? next - cursor : 0);
      stats.records.fetch_add(got, std::memory_order_relaxed);
      stats.payload_bytes.fetch_add(response.body().size(), std::memory_order_relaxed);
      records_done_.fetch_add(got, std::memory_order_relaxed);
      // From the beginning: wrap at the end and read the stored records again.
      cursor = got == 0 && !o_.tail ? start_offsets_[static_cast<size_t>(partition)] : next;
    } else if (ok) {
      stats.records.fetch_add(records_per_request, std::memory_order_relaxed);
      stats.payload_bytes.fetch_add(payload_per_request, std::memory_order_relaxed);
      if (o_.mode == Mode::e2e) produced_records_.fetch_add(records_per_request);
    }
    if (!response.keep_alive()) {
      stream.close();
      connected = false;
    }
    bodies.take_back(parser);
  }
  stream.close();
  if (o_.mode == Mode::e2e) producers_active_.fetch_sub(1);
}

asio::awaitable<void> Runner::tail_fetcher(int partition, Stats& stats) {
  auto executor = co_await asio::this_coro::executor;
  net::ClientStream stream(executor);
  beast::flat_buffer buffer;
  buffer.reserve(kReadBufferBytes);
  BodyRecycler bodies;
  http::request<http::string_body> request{http::verb::get, "/", 11};
  request.set(http::field::host, host_header_);
  request.set(http::field::accept, "application/vnd.sluice.batch");
  int64_t cursor = start_offsets_[static_cast<size_t>(partition)];
  if (!co_await connect(stream, stats)) co_return;
  for (;;) {
    if (producers_active_.load() == 0 && (fetched_records_.load() >= produced_records_.load() ||
                                          Clock::now() > deadline_ + kDrainTime)) {
      break;
    }
    request.target(fetch_target(partition, cursor, o_.timeout_ms));
    stream.expires_after(kIoTimeout);
    auto [write_ec, written] = co_await http::async_write(stream, request, kNoThrow);
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    bodies.lend(parser);
    beast::error_code read_ec;
    if (!write_ec)
      std::tie(read_ec, std::ignore) = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (write_ec || read_ec) {
      stats.add_error("fetcher: " + (write_ec ? write_ec : read_ec).message());
      break;
    }
    const uint64_t now = now_ns();
    const auto& response = parser.get();
    if (response.result_int() != 200) {
      stats.add_error(fmt::format("fetcher: http {}", response.result_int()));
      break;
    }
    auto records = scan_raw_batches(response.body(), [&](uint64_t stamp) {
      if (stamp <= now) stats.e2e.record(now - stamp);
    });
    if (!records) {
      stats.add_error("fetcher: malformed batch");
      break;
    }
    fetched_records_.fetch_add(*records);
    const int64_t next = header_int(response, "X-Sluice-Next-Offset");
    if (next > cursor) cursor = next;
    bodies.take_back(parser);
  }
  stream.close();
}

asio::awaitable<std::optional<http::response<http::string_body>>> Runner::exchange(
    net::ClientStream& stream, beast::flat_buffer& buffer,
    http::request<http::string_body>& request, Stats& stats, std::string_view what) {
  request.prepare_payload();
  stream.expires_after(kIoTimeout);
  auto [write_ec, written] = co_await http::async_write(stream, request, kNoThrow);
  if (write_ec) {
    stats.add_error(fmt::format("{}: write: {}", what, write_ec.message()));
    co_return std::nullopt;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kNoThrow);
  if (read_ec) {
    stats.add_error(fmt::format("{}: read: {}", what, read_ec.message()));
    co_return std::nullopt;
  }
  co_return parser.release();
}

// One instance of the consumer group: joins (create, subscribe), fetches records until the
// run ends, then leaves (delete). Records in a reply are counted by their "offset" fields;
// the values this tool produces never contain that text.
asio::awaitable<void> Runner::consumer_client(int index, Stats& stats) {
  auto executor = co_await asio::this_coro::executor;
  net::ClientStream stream(executor);
  beast::flat_buffer buffer;
  buffer.reserve(kReadBufferBytes);
  if (!co_await connect(stream, stats)) co_return;
  const std::string instance = fmt::format("/consumers/{}/instances/c{}", o_.group, index);
  auto call = [&](http::verb method, std::string target,
                  std::string body) -> asio::awaitable<std::optional<unsigned>> {
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, host_header_);
    request.set(http::field::content_type, "application/vnd.kafka.v2+json");
    request.body() = std::move(body);
    auto reply = co_await exchange(stream, buffer, request, stats, "consumer setup");
    co_return reply ? std::optional<unsigned>(reply->result_int()) : std::nullopt;
  };
  auto created =
      co_await call(http::verb::post, fmt::format("/consumers/{}", o_.group),
                    fmt::format(R"({{"name":"c{}","format":"{}","auto.offset.reset":"{}"}})", index,
                                o_.format, o_.tail ? "latest" : "earliest"));
  if (created != 200u) {
    if (created) stats.add_error(fmt::format("create consumer: http {}", *created));
    stream.close();
    co_return;
  }
  auto subscribed = co_await call(http::verb::post, instance + "/subscription",
                                  fmt::format(R"({{"topics":["{}"]}})", o_.topic));
  if (subscribed && *subscribed != 204 && *subscribed != 200) {
    stats.add_error(fmt::format("subscribe: http {}", *subscribed));
  }
  http::request<http::string_body> request{
      http::verb::get,
      fmt::format("{}/records?timeout={}&max_bytes={}", instance, o_.timeout_ms, o_.max_bytes), 11};
  request.set(http::field::host, host_header_);
  request.set(http::field::accept, o_.format == "json" ? "application/vnd.kafka.json.v2+json"
                                                       : "application/vnd.kafka.binary.v2+json");
  asio::steady_timer timer(executor);
  bool connected = true;  // the instance is this connection's; a broken one is not retried
  while (auto slot = next_slot()) {
    co_await await_slot(*slot, timer, stream, stats, connected);
    const auto sent = o_.rate > 0 ? *slot : Clock::now();
    auto reply = co_await exchange(stream, buffer, request, stats, "records");
    if (!reply) {
      connected = false;
      break;
    }
    if (!count_reply(stats, sent, 0, *reply, 200)) continue;
    uint64_t got = 0;
    const std::string_view body = reply->body();
    for (size_t at = body.find("\"offset\":"); at != std::string_view::npos;
         at = body.find("\"offset\":", at + 9)) {
      ++got;
    }
    stats.records.fetch_add(got, std::memory_order_relaxed);
    stats.payload_bytes.fetch_add(body.size(), std::memory_order_relaxed);
    records_done_.fetch_add(got, std::memory_order_relaxed);
  }
  if (connected) co_await call(http::verb::delete_, instance, "");
  stream.close();
}

asio::awaitable<void> Runner::resp_client(int index, Stats& stats) {
  auto executor = co_await asio::this_coro::executor;
  net::ClientStream stream(executor);
  asio::steady_timer timer(executor);
  const std::string key =
      o_.partitions > 1 ? fmt::format("{}-{}", o_.topic, index % o_.partitions) : o_.topic;
  const bool xadd = o_.resp_op == "xadd";
  std::string command;
  if (xadd) {
    const std::string value(static_cast<size_t>(o_.record_size), 'x');
    for (int i = 0; i < o_.records_per_request; ++i) append_xadd(command, key, value);
  }
  std::string last_id;
  std::string in;
  bool connected = false;
  while (auto slot = next_slot()) {
    const bool was_connected = connected;
    if (!co_await await_slot(*slot, timer, stream, stats, connected)) continue;
    if (!was_connected) in.clear();
    if (!xadd) {
      command.clear();
      append_xrange(command, key, last_id.empty() ? "-" : "(" + last_id, o_.records_per_request);
    }
    const auto sent = o_.rate > 0 ? *slot : Clock::now();
    stream.expires_after(kIoTimeout);
    auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(command), kNoThrow);
    const int expected = xadd ? o_.records_per_request : 1;
    int replies = 0;
    size_t consumed = 0;
    uint64_t got = 0;
    bool failed = static_cast<bool>(write_ec);
    while (!failed && replies < expected) {
      RespReply reply;
      const size_t n = scan_resp(std::string_view(in).substr(consumed), reply);
      if (n == SIZE_MAX) {
        stats.add_error("resp: malformed reply");
        failed = true;
      } else if (n == 0) {
        const size_t old = in.size();
        in.resize(old + 65536);
        auto [read_ec, m] =
            co_await stream.async_read_some(asio::buffer(in.data() + old, 65536), kNoThrow);
        in.resize(old + m);
        if (read_ec) {
          stats.add_error("resp read: " + read_ec.message());
          failed = true;
        }
      } else {
        consumed += n;
        ++replies;
        if (reply.error) stats.add_error("resp: error reply");
        if (!xadd) {
          got = static_cast<uint64_t>(reply.elements);
          last_id = got == 0 ? std::string() : std::string(reply.last_id);
        }
      }
    }
    if (failed) {
      if (write_ec) stats.add_error("resp write: " + write_ec.message());
      stream.close();
      connected = false;
      continue;
    }
    stats.latency.record(to_ns(Clock::now() - sent));
    stats.requests.fetch_add(1, std::memory_order_relaxed);
    stats.tx_bytes.fetch_add(command.size(), std::memory_order_relaxed);
    stats.rx_bytes.fetch_add(consumed, std::memory_order_relaxed);
    if (xadd) got = static_cast<uint64_t>(o_.records_per_request);
    stats.records.fetch_add(got, std::memory_order_relaxed);
    stats.payload_bytes.fetch_add(got * static_cast<uint64_t>(o_.record_size),
                                  std::memory_order_relaxed);
    if (!xadd) records_done_.fetch_add(got, std::memory_order_relaxed);
    in.erase(0, consumed);
  }
  stream.close();
}

void Runner::run() {
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (int t = 0; t < o_.threads; ++t) contexts.push_back(std::make_unique<asio::io_context>(1));
  start_ = Clock::now();
  deadline_ = start_ + std::chrono::nanoseconds(static_cast<int64_t>(o_.duration_s * 1e9));
  auto rethrow = [](const std::exception_ptr& e) {
    if (e) std::rethrow_exception(e);
  };
  if (o_.mode == Mode::e2e) producers_active_ = o_.connections;
  for (int i = 0; i < o_.connections; ++i) {
    const auto t = static_cast<size_t>(i % o_.threads);
    auto client = o_.mode == Mode::resp      ? resp_client(i, *stats_[t])
                  : o_.mode == Mode::consume ? consumer_client(i, *stats_[t])
                  : o_.in_flight > 1         ? pipelined_client(i, *stats_[t])
                                             : http_client(i, *stats_[t]);
    asio::co_spawn(*contexts[t], std::move(client), rethrow);
  }
  if (o_.mode == Mode::e2e) {
    for (int p = 0; p < o_.partitions; ++p) {
      const auto t = static_cast<size_t>(p % o_.threads);
      asio::co_spawn(*contexts[t], tail_fetcher(p, *stats_[t]), rethrow);
    }
  }
  std::atomic<int> running{o_.threads};
  std::vector<std::thread> threads;
  for (int t = 0; t < o_.threads; ++t) {
    threads.emplace_back([&, t] {
      try {
        contexts[static_cast<size_t>(t)]->run();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "sluice-load: load thread %d failed: %s\n", t, e.what());
      }
      running.fetch_sub(1);
    });
  }
  auto last_print = start_;
  uint64_t last_records = 0;
  uint64_t last_bytes = 0;
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto now = Clock::now();
    if (!o_.progress || now - last_print < std::chrono::seconds(1)) continue;
    uint64_t records = 0;
    uint64_t bytes = 0;
    uint64_t errors = 0;
    for (const auto& s : stats_) {
      records += s->records.load(std::memory_order_relaxed);
      bytes += s->payload_bytes.load(std::memory_order_relaxed);
      for (const auto& [kind, n] : s->errors()) errors += n;
    }
    const double interval = std::chrono::duration<double>(now - last_print).count();
    print_progress(std::chrono::duration<double>(now - start_).count(), records - last_records,
                   bytes - last_bytes, errors, interval);
    last_print = now;
    last_records = records;
    last_bytes = bytes;
  }
  for (auto& t : threads) t.join();
  elapsed_s_ = std::chrono::duration<double>(Clock::now() - start_).count();
  if (o_.progress) std::fputs("\n", stderr);
}

void Runner::print_progress(double seconds, uint64_t records, uint64_t bytes, uint64_t errors,
                            double interval_s) {
  Histogram merged;
  for (const auto& s : stats_) merged.merge_from(o_.mode == Mode::e2e ? s->e2e : s->latency);
  std::fprintf(stderr,
               "\r[%6.1fs] %11.0f rec/s %9.1f MB/s  p50 %8.3f ms  p99 %8.3f ms  errors %llu   ",
               seconds, static_cast<double>(records) / interval_s,
               static_cast<double>(bytes) / interval_s / 1e6,
               static_cast<double>(merged.percentile_ns(0.5)) / 1e6,
               static_cast<double>(merged.percentile_ns(0.99)) / 1e6,
               static_cast<unsigned long long>(errors));
  std::fflush(stderr);
}

std::string Runner::result_json() const {
  Histogram latency;
  Histogram e2e;
  uint64_t requests = 0;
  uint64_t records = 0;
  uint64_t payload = 0;
  uint64_t tx = 0;
  uint64_t rx = 0;
  std::map<std::string, uint64_t> errors;
  for (const auto& s : stats_) {
    latency.merge_from(s->latency);
    e2e.merge_from(s->e2e);
    requests += s->requests.load();
    records += s->records.load();
    payload += s->payload_bytes.load();
    tx += s->tx_bytes.load();
    rx += s->rx_bytes.load();
    for (const auto& [kind, n] : s->errors()) errors[kind] += n;
  }
  uint64_t error_count = 0;
  std::string error_json = "{";
  for (const auto& [kind, n] : errors) {
    if (error_json.size() > 1) error_json += ',';
    error_json += fmt::format("{}:{}", json_string(kind), n);
    error_count += n;
  }
  error_json += '}';
  const double s = elapsed_s_ > 0 ? elapsed_s_ : 1;
  std::string out = fmt::format(
      R"({{"label":{},"mode":"{}","target":"{}:{}","format":"{}","resp_op":"{}",)"
      R"("record_size":{},"records_per_request":{},"partitions":{},"connections":{},"in_flight":{},)"
      R"("threads":{},"acks":"{}","offered_rate":{},"duration_s":{:.3f},"requests":{},)"
      R"("records":{},"requests_per_s":{:.1f},"records_per_s":{:.1f},"payload_mb_s":{:.2f},)"
      R"("tx_mb_s":{:.2f},"rx_mb_s":{:.2f},"latency_us":{},"errors":{},"error_count":{})",
      json_string(o_.label), mode_name(o_.mode), o_.host, address_.port, o_.format, o_.resp_op,
      o_.record_size, o_.records_per_request, o_.partitions, o_.connections, o_.in_flight,
      o_.threads, o_.acks, o_.rate, s, requests, records, static_cast<double>(requests) / s,
      static_cast<double>(records) / s, static_cast<double>(payload) / s / 1e6,
      static_cast<double>(tx) / s / 1e6, static_cast<double>(rx) / s / 1e6, latency_json(latency),
      error_json, error_count);
  if (o_.mode == Mode::e2e) {
    out += fmt::format(R"(,"e2e_latency_us":{},"e2e_records_fetched":{})", latency_json(e2e),
                       fetched_records_.load());
  }
  out += '}';
  return out;
}

}  // namespace sluice::load
