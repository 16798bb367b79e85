#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <memory>
#include <utility>

#include "common/http_url.h"
#include "net/http/tls_stream.h"

namespace sluice::net {

namespace asio = boost::asio;
namespace beast = boost::beast;

// A client connection, plain TCP for an http:// address and TLS (TlsEngine, client side) for
// an https:// one: how a broker reaches etcd and other brokers (replica fetch, segment repair,
// forwarded requests), and how sluice-load reaches a broker. Usable as a Beast stream; one
// deadline (expires_after) covers whatever it does next, the TLS layer included.
//
// Threading: on one executor (thread or strand); one read and one write may be in flight at
// once. Not movable: the TLS layer refers to the TCP stream under it.
class ClientStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;

  explicit ClientStream(asio::any_io_executor executor) : tcp_(std::move(executor)) {}
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;

  // Connects within `timeout`: the name lookup (an address needs none), the TCP connect with
  // Nagle off (each request is one small write that waits for its answer) and, for an https
  // address, the TLS handshake with `tls`. When `tls` verifies the server (its verify mode;
  // net::client_tls_context's always does), the certificate must also name address.host: its
  // address, or its DNS name, which is sent as SNI too. An https address without a context
  // fails with asio::error::no_protocol_option. The error of the step that failed
  // (asio::error::timed_out for a lookup that took too long). A stream that was connected
  // before is closed first.
  asio::awaitable<beast::error_code> connect(const HttpAddress& address,
                                             std::chrono::milliseconds timeout,
                                             std::shared_ptr<asio::ssl::context> tls);

  void expires_after(std::chrono::steady_clock::duration d) { tcp_.expires_after(d); }
  void expires_at(std::chrono::steady_clock::time_point t) { tcp_.expires_at(t); }
  void expires_never() { tcp_.expires_never(); }
  asio::ip::tcp::socket& socket() { return tcp_.socket(); }
  bool secure() const { return tls_ != nullptr; }
  // Shuts both directions and closes: a pending operation fails at once.
  void close();

  executor_type get_executor() { return tcp_.get_executor(); }
  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_) {
            tls_->async_read_some(tcp_, b, std::move(handler));
          } else {
            tcp_.async_read_some(b, std::move(handler));
          }
        },
        token, buffers);
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_) {
            tls_->async_write_some(tcp_, b, std::move(handler));
          } else {
            tcp_.async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

 private:
  beast::tcp_stream tcp_;
  std::unique_ptr<TlsEngine> tls_;  // for an https address, once connected
};

}  // namespace sluice::net
