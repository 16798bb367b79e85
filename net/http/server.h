#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "net/http/message.h"

namespace sluice::net {

class Connection;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  int threads = 2;                                // num.network.threads
  uint64_t max_request_bytes = 64 << 20;          // max.request.size
  uint32_t max_header_bytes = 16384;              // http.max.header.bytes
  std::chrono::milliseconds idle_timeout{60000};  // between requests
  std::chrono::milliseconds read_timeout{30000};  // from a request's first byte to its end
  std::chrono::milliseconds write_timeout{30000};
  int max_connections = 10000;
};

// Turns one request into one reply; runs on the connection's I/O thread and may suspend (long
// polls, durable produce). Never throws.
using RequestHandler = std::function<asio::awaitable<Reply>(Request)>;

// A request served as a stream: its chunked body is handed over piece by piece as it arrives,
// and what each piece produces is written back at once as a chunk of a chunked 200 reply
// (REST Proxy v3 streaming produce: one delivery report per record, in order).
class StreamSession {
 public:
  virtual ~StreamSession() = default;
  // Body bytes as they arrive; returns reply bytes to send now (may be empty).
  virtual asio::awaitable<std::string> on_data(std::string_view data) = 0;
  // The body ended; returns the last reply bytes.
  virtual asio::awaitable<std::string> on_end() = 0;
};

// Decides, from a chunked request's header (body empty), whether it is a stream: nullopt for
// an ordinary request, a Reply to refuse it (unknown topic, not ready...), or the session.
using StreamStart = std::variant<Reply, std::unique_ptr<StreamSession>>;
using StreamHandler = std::function<asio::awaitable<std::optional<StreamStart>>(const Request&)>;

// The HTTP/1.1 listener: `threads` I/O threads, each running its own io_context; accepted
// connections are dealt to them in turn, and a connection's coroutine lives on its thread
// from accept to close. No strands, no handler hops between threads: the only cross-thread
// posts are completions from the flusher (acks=all) and long-poll wake-ups. Keep-alive, and
// every limit of ServerOptions answered with a JSON error.
//
// Lifecycle: start() binds (throws std::system_error naming the address on failure) and runs
// the I/O threads; stop() closes the listener, lets in-flight requests finish for up to
// `grace`, then stops the threads. The handler must outlive the server.
class HttpServer {
 public:
  HttpServer(ServerOptions options, RequestHandler handler, StreamHandler streams = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  void stop(std::chrono::milliseconds grace);
  uint16_t port() const { return bound_port_; }
  int open_connections() const { return connections_.load(); }

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(asio::ip::tcp::socket socket);
  asio::awaitable<bool> serve_one(Connection& stream, beast::flat_buffer& buffer,
                                  std::string& head_bytes);
  asio::awaitable<bool> serve_stream(Connection& stream, beast::flat_buffer& buffer,
                                     http::request_parser<http::string_body>& parser,
                                     StreamSession& session);

  ServerOptions options_;
  RequestHandler handler_;
  StreamHandler streams_;
  std::vector<std::unique_ptr<asio::io_context>> ios_;  // one per I/O thread
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  asio::ip::tcp::acceptor acceptor_;  // runs on ios_[0]
  size_t next_io_ = 0;                // the context the next connection goes to
  std::vector<std::thread> threads_;
  uint16_t bound_port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace sluice::net
