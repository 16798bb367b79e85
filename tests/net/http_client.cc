#include "tests/net/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <stdexcept>

namespace sluice::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

http::request<http::string_body> make_request(const std::string& host, uint16_t port,
                                              std::string_view method, std::string_view target,
                                              std::string_view body,
                                              const std::map<std::string, std::string>& headers) {
  http::request<http::string_body> req{http::string_to_verb(method), std::string(target), 11};
  req.set(http::field::host, host + ":" + std::to_string(port));
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = std::string(body);
  if (!body.empty() || method == "POST" || method == "PUT") req.prepare_payload();
  return req;
}

HttpResponse to_response(http::response<http::string_body> res) {
  HttpResponse out;
  out.status = res.result_int();
  out.body = std::move(res.body());
  for (const auto& field : res) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    out.headers[name] = std::string(field.value());
  }
  return out;
}

HttpResponse read_response(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                           bool head_request) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(1ull << 30);
  parser.skip(head_request);
  http::read(stream, buffer, parser);
  return to_response(parser.release());
}

// Runs one asynchronous operation of `stream` to completion: the stream's expiry bounds it,
// which beast does not do for the synchronous calls.
template <class Start>
void run_bounded(asio::io_context& io, Start start) {
  beast::error_code ec;
  start([&ec](beast::error_code e, auto&&...) { ec = e; });
  io.restart();
  io.run();
  if (ec) throw beast::system_error(ec);
}

}  // namespace

HttpResponse http_request(uint16_t port, std::string_view method, std::string_view target,
                          std::string_view body,
                          const std::map<std::string, std::string>& headers) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(60));
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  auto req = make_request("127.0.0.1", port, method, target, body, headers);
  http::write(stream, req);
  beast::flat_buffer buffer;
  auto out = read_response(stream, buffer, method == "HEAD");
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  return out;
}

HttpResponse http_request(const HttpTarget& to, std::string_view method, std::string_view target,
                          std::string_view body,
                          const std::map<std::string, std::string>& headers) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(to.timeout);  // one deadline for the whole exchange
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(to.host), to.port);
  run_bounded(io, [&](auto done) { stream.async_connect(endpoint, done); });
  auto req = make_request(to.host, to.port, method, target, body, headers);
  run_bounded(io, [&](auto done) { http::async_write(stream, req, done); });
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1ull << 30);
  parser.skip(method == "HEAD");
  run_bounded(io, [&](auto done) { http::async_read(stream, buffer, parser, done); });
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  return to_response(parser.release());
}

struct HttpConnection::State {
  explicit State(uint16_t p) : port(p), stream(io) {}
  uint16_t port;
  asio::io_context io;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};

HttpConnection::HttpConnection(uint16_t port) : state_(std::make_unique<State>(port)) {
  state_->stream.expires_after(std::chrono::seconds(60));
  state_->stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

HttpConnection::~HttpConnection() {
  beast::error_code ignored;
  state_->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
}

HttpResponse HttpConnection::request(std::string_view method, std::string_view target,
                                     std::string_view body,
                                     const std::map<std::string, std::string>& headers) {
  state_->stream.expires_after(std::chrono::seconds(60));
  auto req = make_request("127.0.0.1", state_->port, method, target, body, headers);
  http::write(state_->stream, req);
  return read_response(state_->stream, state_->buffer, method == "HEAD");
}

RawSocket::RawSocket(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect failed");
  }
}

RawSocket::~RawSocket() { ::close(fd_); }

void RawSocket::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send failed");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

std::string RawSocket::read_until(std::string_view needle, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  while (received_.find(needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) break;
    received_.append(buf, static_cast<size_t>(n));
  }
  return received_;
}

bool RawSocket::closed_within(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return true;
    received_.append(buf, static_cast<size_t>(n));
  }
}

std::string raw_exchange(uint16_t port, std::string_view bytes, int timeout_ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    throw std::runtime_error("connect failed");
  }
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (!bytes.empty()) (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;  // closed by the peer, or our timeout
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace sluice::testing
