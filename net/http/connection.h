#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "net/http/message.h"
#include "net/http/tls_stream.h"

namespace sluice::net {

// A server connection: the socket, usable as a Beast stream, and one deadline for whatever
// the connection is doing now (waiting for a request, reading it, writing the reply).
//
// Setting the deadline is a clock read and a store. One timer per connection, on the
// connection's own thread, wakes at the deadline or after `step` (the shortest timeout the
// server uses), whichever comes first: any deadline set later is at least `step` away, so
// the timer is never armed too late and is never cancelled to move it. When the deadline
// has passed the timer closes the socket, and the pending read or write fails at once.
// beast::tcp_stream instead starts and cancels a timer for every read and write, which cost
// about 8% of a small request's throughput.
//
// Threading: all on the connection's executor (one thread). The watchdog's state is shared
// with its coroutine, which never touches the socket once the connection is gone.
class Connection {
 public:
  using Clock = std::chrono::steady_clock;
  using executor_type = asio::ip::tcp::socket::executor_type;

  Connection(asio::ip::tcp::socket socket, std::chrono::milliseconds step)
      : socket_(std::move(socket)), dog_(std::make_shared<Watchdog>(socket_)) {
    asio::co_spawn(socket_.get_executor(), watch(dog_, step), asio::detached);
  }
  ~Connection() {
    dog_->socket = nullptr;
    dog_->timer.cancel();
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void expires_after(std::chrono::milliseconds timeout) { dog_->deadline = Clock::now() + timeout; }
  void expires_never() { dog_->deadline = Clock::time_point::max(); }
  // Whether the deadline closed the connection.
  bool timed_out() const { return dog_->fired; }

  asio::ip::tcp::socket& socket() { return socket_; }
  executor_type get_executor() { return socket_.get_executor(); }
  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return socket_.async_read_some(buffers, std::forward<Token>(token));
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  struct Watchdog {
    explicit Watchdog(asio::ip::tcp::socket& s) : timer(s.get_executor()), socket(&s) {}
    asio::steady_timer timer;
    asio::ip::tcp::socket* socket;  // null once the connection is gone
    Clock::time_point deadline = Clock::time_point::max();
    bool fired = false;
  };

  static asio::awaitable<void> watch(std::shared_ptr<Watchdog> dog,
                                     std::chrono::milliseconds step) {
    while (dog->socket != nullptr) {
      const auto now = Clock::now();
      if (now >= dog->deadline) {
        dog->fired = true;
        beast::error_code ignored;
        dog->socket->close(ignored);
        co_return;
      }
      dog->timer.expires_at(std::min(dog->deadline, now + step));
      co_await dog->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  asio::ip::tcp::socket socket_;
  std::shared_ptr<Watchdog> dog_;
};

// A TLS server connection over a Connection (TlsEngine: OpenSSL with large reads and writes),
// with the same deadline interface: the deadline closes the socket under the TLS layer, which
// fails its pending operation. `conn` must outlive it; `context` is kept for as long as the
// connection lives (a reload of the certificate makes a new context for new connections only).
class TlsConnection {
 public:
  using executor_type = Connection::executor_type;

  TlsConnection(Connection& conn, std::shared_ptr<asio::ssl::context> context)
      : conn_(conn), tls_(std::move(context)) {}

  void expires_after(std::chrono::milliseconds timeout) { conn_.expires_after(timeout); }
  void expires_never() { conn_.expires_never(); }
  bool timed_out() const { return conn_.timed_out(); }
  asio::ip::tcp::socket& socket() { return conn_.socket(); }
  SSL* native_handle() const { return tls_.native_handle(); }
  asio::awaitable<beast::error_code> handshake() { return tls_.handshake(conn_); }
  executor_type get_executor() { return conn_.get_executor(); }
  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return tls_.async_read_some(conn_, buffers, std::forward<Token>(token));
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return tls_.async_write_some(conn_, buffers, std::forward<Token>(token));
  }

 private:
  Connection& conn_;
  TlsEngine tls_;
};

}  // namespace sluice::net
