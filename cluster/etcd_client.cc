#include "cluster/etcd_client.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <memory>

#include "common/http_url.h"
#include "net/http/client_stream.h"

namespace sluice::cluster {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// etcd answers are metadata: a whole prefix range of a large cluster stays far below this.
constexpr uint64_t kMaxAnswerBytes = 64ull << 20;
constexpr size_t kMaxWatchLine = 64u << 20;

const std::error_code kUnreachable = make_error_code(EtcdErrc::unreachable);
const std::error_code kBadAnswer = make_error_code(EtcdErrc::bad_answer);

http::request<http::string_body> post(const EtcdEndpoint& endpoint, std::string_view path,
                                      std::string body) {
  http::request<http::string_body> request{http::verb::post, path, 11};
  request.set(http::field::host, fmt::format("{}:{}", endpoint.host, endpoint.port));
  request.set(http::field::content_type, "application/json");
  request.keep_alive(true);
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

// A watch has no heartbeat (etcd sends nothing on an idle watch for 10 minutes), so a peer
// that vanished without a FIN is found by TCP keepalive: probes after 5 s idle, 3 lost = dead.
void enable_keepalive(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
  const int idle = 5, interval = 2, count = 3;
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

}  // namespace

boost::system::result<std::vector<EtcdEndpoint>, std::string> parse_etcd_endpoints(
    std::string_view list) {
  std::vector<EtcdEndpoint> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view entry = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    auto address = parse_http_url(entry);
    if (!address || address->port == 0) {
      return fmt::format(
          "etcd endpoint '{}': expected http://host:port or https://host:port, port 1 to 65535",
          entry);
    }
    out.push_back(std::move(*address));
  }
  if (out.empty()) return std::string("etcd.endpoints is empty");
  return out;
}

struct EtcdClient::Connection {
  explicit Connection(asio::any_io_executor executor) : stream(std::move(executor)) {}
  net::ClientStream stream;
  beast::flat_buffer buffer;
  size_t endpoint = 0;
};

EtcdClient::EtcdClient(asio::any_io_executor executor, Options options)
    : executor_(std::move(executor)), options_(std::move(options)) {}

EtcdClient::~EtcdClient() = default;

void EtcdClient::close_idle() { idle_.clear(); }

asio::awaitable<Result<std::unique_ptr<EtcdClient::Connection>>> EtcdClient::connect() {
  const size_t n = options_.endpoints.size();
  for (size_t attempt = 0; attempt < n; ++attempt) {
    const size_t index = (preferred_ + attempt) % n;
    const auto& endpoint = options_.endpoints[index];
    auto connection = std::make_unique<Connection>(executor_);
    connection->endpoint = index;
    if (auto ec = co_await connection->stream.connect(endpoint, options_.timeout, options_.tls)) {
      if (ec.category() == asio::error::get_ssl_category() ||
          ec == asio::error::no_protocol_option) {
        spdlog::warn("etcd at {}:{}: TLS: {}", endpoint.host, endpoint.port,
                     ec == asio::error::no_protocol_option ? "no client context" : ec.message());
      }
      continue;
    }
    preferred_ = index;
    co_return connection;
  }
  co_return kUnreachable;
}

asio::awaitable<Result<std::pair<int, std::string>>> EtcdClient::call(std::string_view path,
                                                                      std::string body) {
  // A kept-alive connection may have been closed by etcd (a restart) while idle: then the
  // request was never read, and it goes once more on a fresh connection.
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> connection;
    const bool reused = !idle_.empty() && attempt == 0;
    if (reused) {
      connection = std::move(idle_.back());
      idle_.pop_back();
    } else {
      auto connected = co_await connect();
      if (!connected) co_return connected.error();
      connection = std::move(*connected);
    }
    auto request = post(options_.endpoints[connection->endpoint], path, body);
    connection->stream.expires_after(options_.timeout);
    auto [wec, written] = co_await http::async_write(connection->stream, request, kNoThrow);
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxAnswerBytes);
    boost::system::error_code rec = wec;
    if (!wec) {
      auto [ec, read] =
          co_await http::async_read(connection->stream, connection->buffer, parser, kNoThrow);
      rec = ec;
    }
    const bool closed_while_idle =
        reused && (wec || rec == http::error::end_of_stream || rec == asio::error::eof ||
                   rec == asio::error::connection_reset);
    if (closed_while_idle) continue;
    if (rec == http::error::body_limit) co_return kBadAnswer;
    if (rec) co_return kUnreachable;
    auto response = parser.release();
    const int status = response.result_int();
    // A keepalive answers with a chunked stream that ends when the request does: read whole.
    if (response.keep_alive()) {
      connection->stream.expires_never();
      idle_.push_back(std::move(connection));
    }
    co_return std::pair<int, std::string>{status, std::move(response.body())};
  }
}

namespace {

template <class T, class Parse>
Result<T> answer_of(const Result<std::pair<int, std::string>>& answer, std::string_view call,
                    Parse parse) {
  if (!answer) return answer.error();
  const auto& [status, body] = *answer;
  if (status != 200) {
    std::string message;
    auto ec = parse_error(status, body, message);
    spdlog::debug("etcd {}: {} ({})", call, message, ec.message());
    return ec;
  }
  auto parsed = parse(body);
  if (!parsed) {
    spdlog::warn("etcd {}: malformed answer ({} bytes)", call, body.size());
  }
  return parsed;
}

}  // namespace

asio::awaitable<Result<RangeAnswer>> EtcdClient::range(std::string key, std::string range_end,
                                                       int64_t revision) {
  auto answer = co_await call("/v3/kv/range", range_request(key, range_end, revision));
  co_return answer_of<RangeAnswer>(answer, "range", parse_range);
}

asio::awaitable<Result<EtcdHeader>> EtcdClient::put(std::string key, std::string value,
                                                    int64_t lease) {
  auto answer = co_await call("/v3/kv/put", put_request(key, value, lease));
  co_return answer_of<EtcdHeader>(answer, "put", parse_header_only);
}

asio::awaitable<Result<EtcdHeader>> EtcdClient::erase(std::string key, std::string range_end) {
  auto answer = co_await call("/v3/kv/deleterange", delete_request(key, range_end));
  co_return answer_of<EtcdHeader>(answer, "delete", parse_header_only);
}

asio::awaitable<Result<TxnAnswer>> EtcdClient::txn(const Txn& txn) {
  auto answer = co_await call("/v3/kv/txn", txn_request(txn));
  co_return answer_of<TxnAnswer>(answer, "txn", parse_txn);
}

asio::awaitable<Result<LeaseAnswer>> EtcdClient::grant(int64_t ttl_s) {
  auto answer = co_await call("/v3/lease/grant", lease_grant_request(ttl_s));
  co_return answer_of<LeaseAnswer>(answer, "lease grant", parse_lease_grant);
}

asio::awaitable<Result<LeaseAnswer>> EtcdClient::keepalive(int64_t id) {
  auto answer = co_await call("/v3/lease/keepalive", lease_id_request(id));
  co_return answer_of<LeaseAnswer>(answer, "lease keepalive", [](std::string_view body) {
    // One object per line; a single keepalive sends one.
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
    return parse_lease_keepalive(body);
  });
}

asio::awaitable<Result<void>> EtcdClient::revoke(int64_t id) {
  auto answer = co_await call("/v3/lease/revoke", lease_id_request(id));
  auto header = answer_of<EtcdHeader>(answer, "lease revoke", parse_header_only);
  if (!header) co_return header.error();
  co_return Result<void>{};
}

struct EtcdWatch::State {
  explicit State(std::unique_ptr<EtcdClient::Connection> connected)
      : connection(std::move(connected)), stream(connection->stream), buffer(connection->buffer) {}
  std::unique_ptr<EtcdClient::Connection> connection;
  net::ClientStream& stream;
  beast::flat_buffer& buffer;
  http::response_parser<http::buffer_body> parser;
  std::string partial;  // the start of a line whose end has not arrived
  std::deque<WatchAnswer> ready;
  std::error_code failed;
};

EtcdWatch::EtcdWatch(std::unique_ptr<State> state) : state_(std::move(state)) {}
EtcdWatch::~EtcdWatch() = default;

void EtcdWatch::close() { state_->stream.close(); }

asio::awaitable<Result<WatchAnswer>> EtcdWatch::next() {
  State& s = *state_;
  std::vector<char> chunk(64 * 1024);
  while (s.ready.empty()) {
    if (s.failed) co_return s.failed;
    if (s.parser.is_done()) {
      s.failed = make_error_code(EtcdErrc::watch_canceled);
      co_return s.failed;
    }
    s.parser.get().body().data = chunk.data();
    s.parser.get().body().size = chunk.size();
    auto [ec, n] = co_await http::async_read_some(s.stream, s.buffer, s.parser, kNoThrow);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      s.failed = kUnreachable;
      co_return s.failed;
    }
    const size_t got = chunk.size() - s.parser.get().body().size;
    std::string_view data(chunk.data(), got);
    while (!data.empty()) {
      const auto newline = data.find('\n');
      if (newline == std::string_view::npos) {
        s.partial.append(data);
        if (s.partial.size() > kMaxWatchLine) {
          s.failed = kBadAnswer;
          co_return s.failed;
        }
        break;
      }
      s.partial.append(data.substr(0, newline));
      data.remove_prefix(newline + 1);
      std::string line = std::move(s.partial);
      s.partial.clear();
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      auto answer = parse_watch_line(line);
      if (!answer) {
        s.failed = answer.error();
        if (!s.ready.empty()) break;  // hand out what came before it first
        co_return s.failed;
      }
      s.ready.push_back(std::move(*answer));
    }
  }
  WatchAnswer answer = std::move(s.ready.front());
  s.ready.pop_front();
  co_return answer;
}

asio::awaitable<Result<std::unique_ptr<EtcdWatch>>> EtcdClient::watch(std::string key,
                                                                      std::string range_end,
                                                                      int64_t start_revision) {
  auto connected = co_await connect();
  if (!connected) co_return connected.error();
  auto connection = std::move(*connected);
  const size_t endpoint = connection->endpoint;
  auto state = std::make_unique<EtcdWatch::State>(std::move(connection));
  enable_keepalive(state->stream.socket());
  auto request = post(options_.endpoints[endpoint], "/v3/watch",
                      watch_request(key, range_end, start_revision, true));
  state->stream.expires_after(options_.timeout);
  auto [wec, written] = co_await http::async_write(state->stream, request, kNoThrow);
  if (wec) co_return kUnreachable;
  state->parser.body_limit(boost::none);
  auto [rec, read] =
      co_await http::async_read_header(state->stream, state->buffer, state->parser, kNoThrow);
  if (rec) co_return kUnreachable;
  if (state->parser.get().result_int() != 200) {
    spdlog::warn("etcd watch: HTTP {}", state->parser.get().result_int());
    co_return state->parser.get().result_int() >= 500 ? make_error_code(EtcdErrc::unavailable)
                                                      : make_error_code(EtcdErrc::invalid_request);
  }
  std::unique_ptr<EtcdWatch> watch(new EtcdWatch(std::move(state)));
  auto first = co_await watch->next();
  watch->state_->stream.expires_never();
  if (!first) co_return first.error();
  if (!first->created || first->canceled) {
    co_return make_error_code(first->canceled ? EtcdErrc::watch_canceled : EtcdErrc::bad_answer);
  }
  if (!first->events.empty()) watch->state_->ready.push_front(std::move(*first));
  co_return watch;
}

}  // namespace sluice::cluster
