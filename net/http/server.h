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

#include "net/http/auth.h"
#include "net/http/message.h"
#include "net/http/tls.h"

namespace sluice::net {

// One address the server listens on (an entry of `listeners`): plain HTTP, or HTTPS with
// `tls`; `auth` says who its clients must be.
struct ListenerOptions {
  std::string name = "http";
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::shared_ptr<TlsContext> tls;  // null: plain HTTP
  ListenerAuth auth;
};

struct ServerOptions {
  std::vector<ListenerOptions> listeners = {ListenerOptions{}};
  int threads = 2;                                // num.network.threads
  uint64_t max_request_bytes = 64 << 20;          // max.request.size
  uint32_t max_header_bytes = 16384;              // http.max.header.bytes
  std::chrono::milliseconds idle_timeout{60000};  // between requests
  std::chrono::milliseconds read_timeout{30000};  // from a request's first byte to its end
  std::chrono::milliseconds write_timeout{30000};
  // An https listener's TLS handshake must end within this (a client that stalls it is cut).
  std::chrono::milliseconds handshake_timeout{10000};
  int max_connections = 10000;
};

// Turns one request into one reply; runs on the connection's I/O thread and may suspend (long
// polls, durable produce). Never throws. The context says who sent it (authentication).
using RequestHandler = std::function<asio::awaitable<Reply>(Request, RequestContext)>;

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
using StreamHandler = std::function<asio::awaitable<std::optional<StreamStart>>(
    const Request&, const RequestContext&)>;

// The HTTP/1.1 listener: `threads` I/O threads, each running its own io_context; accepted
// connections are dealt to them in turn, and a connection's coroutine lives on its thread
// from accept to close. No strands, no handler hops between threads: the only cross-thread
// posts are completions from the flusher (acks=all) and long-poll wake-ups. Keep-alive, and
// every limit of ServerOptions answered with a JSON error.
//
// Each listener has its acceptor (all on the first I/O thread). On an https listener a
// connection first completes a TLS handshake within handshake_timeout, with the TLS context
// current when it was accepted; a failed handshake (plain HTTP, garbage, a wrong or missing
// client certificate) closes the connection. Raw-batch file bodies go out with sendfile(2) on
// plain connections and through the TLS stream in 256 KiB reads on https ones. Before a
// request's body is read, the listener's authentication runs (auth.h); a refused request is
// answered 401 and the connection closed.
//
// Lifecycle: start() binds (throws std::system_error naming the address on failure) and runs
// the I/O threads; stop() closes the listeners, lets in-flight requests finish for up to
// `grace`, then stops the threads. The handler must outlive the server.
class HttpServer {
 public:
  HttpServer(ServerOptions options, RequestHandler handler, StreamHandler streams = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  void stop(std::chrono::milliseconds grace);
  // The port listener `i` (in ServerOptions order) bound.
  uint16_t port(size_t i = 0) const { return bound_ports_.at(i); }
  int open_connections() const { return connections_.load(); }

 private:
  asio::awaitable<void> accept_loop(size_t listener);
  asio::awaitable<void> session(asio::ip::tcp::socket socket, size_t listener);
  // Stream: Connection (plain) or TlsConnection; both defined in server.cc only.
  template <class Stream>
  asio::awaitable<void> serve_all(Stream& stream, const ListenerOptions& listener,
                                  const RequestContext& context, const std::string& peer_cn);
  template <class Stream>
  asio::awaitable<bool> serve_one(Stream& stream, beast::flat_buffer& buffer,
                                  std::string& head_bytes, const ListenerOptions& listener,
                                  const RequestContext& connection_context,
                                  const std::string& peer_cn);
  template <class Stream>
  asio::awaitable<bool> serve_stream(Stream& stream, beast::flat_buffer& buffer,
                                     http::request_parser<http::string_body>& parser,
                                     StreamSession& session);

  ServerOptions options_;
  RequestHandler handler_;
  StreamHandler streams_;
  std::vector<std::unique_ptr<asio::io_context>> ios_;  // one per I/O thread
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors_;  // one per listener, ios_[0]
  size_t next_io_ = 0;  // the context the next connection goes to; only ios_[0] touches it
  std::vector<std::thread> threads_;
  std::vector<uint16_t> bound_ports_;
  std::atomic<int> connections_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace sluice::net
