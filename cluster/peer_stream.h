#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include "common/http_url.h"

namespace sluice::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;

// A connection to another process of the cluster (etcd, a broker) for request/answer traffic:
// plain TCP for an http:// address, TLS for an https:// one. Usable as a Beast stream; one
// deadline (expires_after) covers whatever it does next, the TLS layer included.
//
// Threading: one strand or thread at a time, as any Asio stream. Not movable: the TLS layer
// refers to the TCP stream under it.
class PeerStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;

  explicit PeerStream(asio::any_io_executor executor) : tcp_(std::move(executor)) {}
  PeerStream(const PeerStream&) = delete;
  PeerStream& operator=(const PeerStream&) = delete;

  // Connects within `timeout`: the name lookup (an address needs none), the TCP connect with
  // Nagle off (each request is one small write that waits for its answer) and, for an https
  // address, the TLS handshake, which checks the server's certificate with `tls` (its CAs; the
  // client certificate it presents, if any) and that it names address.host. An https address
  // without a context fails with asio::error::no_protocol_option. The error of the step that
  // failed (asio::error::timed_out for a lookup that took too long).
  asio::awaitable<beast::error_code> connect(const HttpAddress& address,
                                             std::chrono::milliseconds timeout,
                                             std::shared_ptr<asio::ssl::context> tls);

  void expires_after(std::chrono::steady_clock::duration d) { tcp_.expires_after(d); }
  void expires_at(std::chrono::steady_clock::time_point t) { tcp_.expires_at(t); }
  void expires_never() { tcp_.expires_never(); }
  asio::ip::tcp::socket& socket() { return tcp_.socket(); }
  bool secure() const { return ssl_.has_value(); }
  // Shuts both directions and closes: a pending operation fails at once.
  void close();

  executor_type get_executor() { return tcp_.get_executor(); }
  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (ssl_) {
            ssl_->async_read_some(b, std::move(handler));
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
          if (ssl_) {
            ssl_->async_write_some(b, std::move(handler));
          } else {
            tcp_.async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

 private:
  beast::tcp_stream tcp_;
  std::shared_ptr<asio::ssl::context> context_;  // kept for as long as ssl_ uses it
  std::optional<asio::ssl::stream<beast::tcp_stream&>> ssl_;
};

}  // namespace sluice::cluster
