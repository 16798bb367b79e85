#include "net/http/server.h"

#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <type_traits>

#include "net/http/buffer_pool.h"
#include "net/http/connection.h"

namespace sluice::net {
namespace {

// The principal name of a TLS client's certificate: its CN, or what the listener's
// ssl.principal.mapping.rules make of its subject; empty without a certificate or a name.
std::string peer_principal_name(void* ssl, const ListenerAuth& auth) {
  std::string cn = peer_common_name(ssl);
  if (!auth.mapping) return cn;
  const std::string dn = peer_subject(ssl);
  if (dn.empty()) return {};
  return auth.mapping->map(dn, cn).value_or(std::string());
}

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// The client's IP address, for authentication's failure count.
std::string peer_address(const asio::ip::tcp::socket& socket) {
  beast::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string() : endpoint.address().to_string();
}

std::string peer_name(const asio::ip::tcp::socket& socket) {
  beast::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string("unknown peer")
            : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

// Sends [offset, offset + length) of fd on the connection with sendfile(2): the kernel copies
// from the page cache to the socket, never through user space. A peer that accepts nothing for
// `write_timeout` is cut off by the connection's deadline, as with its other writes.
asio::awaitable<beast::error_code> async_sendfile(Connection& conn, int fd, uint64_t offset,
                                                  uint64_t length,
                                                  std::chrono::milliseconds write_timeout) {
  auto& socket = conn.socket();
  beast::error_code ec;
  socket.native_non_blocking(true, ec);
  if (ec) co_return ec;
  auto off = static_cast<off_t>(offset);
  uint64_t remaining = length;
  while (remaining > 0) {
    const ssize_t n = ::sendfile(socket.native_handle(), fd, &off, remaining);
    if (n > 0) {
      remaining -= static_cast<uint64_t>(n);
      conn.expires_after(write_timeout);  // progress: the timeout counts from here
      continue;
    }
    if (n == 0) co_return beast::error_code(asio::error::eof);  // the file shrank under us
    if (errno == EINTR) continue;
    if (errno != EAGAIN) co_return beast::error_code(errno, beast::system_category());
    auto [wait_ec] = co_await socket.async_wait(asio::socket_base::wait_write, kNoThrow);
    if (conn.timed_out()) co_return beast::error_code(beast::error::timeout);
    if (wait_ec) co_return wait_ec;
  }
  co_return beast::error_code{};
}

asio::awaitable<beast::error_code> send_file(Connection& conn, const FileBody& file,
                                             std::chrono::milliseconds write_timeout) {
  return async_sendfile(conn, file.fd, file.offset, file.length, write_timeout);
}

// TLS encrypts in user space, so sendfile(2) cannot serve: the bytes are read in chunks of one
// TLS write (into a buffer of the thread's pool) and written through the TLS stream as they
// are, never looked at.
asio::awaitable<beast::error_code> send_file(TlsConnection& conn, const FileBody& file,
                                             std::chrono::milliseconds write_timeout) {
  constexpr uint64_t kChunk = TlsEngine::kMaxWrite;
  struct Lent {
    std::vector<char> buffer = take_buffer(kChunk);
    ~Lent() { give_back(std::move(buffer)); }
  } chunk;
  chunk.buffer.resize(static_cast<size_t>(std::min(kChunk, file.length)));
  uint64_t done = 0;
  while (done < file.length) {
    const size_t want = static_cast<size_t>(std::min(kChunk, file.length - done));
    const ssize_t n =
        ::pread(file.fd, chunk.buffer.data(), want, static_cast<off_t>(file.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) co_return beast::error_code(errno, beast::system_category());
    if (n == 0) co_return beast::error_code(asio::error::eof);  // the file shrank under us
    conn.expires_after(write_timeout);
    auto [ec, m] = co_await asio::async_write(
        conn, asio::buffer(chunk.buffer.data(), static_cast<size_t>(n)), kNoThrow);
    if (ec) co_return ec;
    done += static_cast<uint64_t>(n);
  }
  co_return beast::error_code{};
}

// One io_context per I/O thread, each told it is run by a single thread (Asio then keeps
// handlers posted from that thread in a private queue without locking).
std::vector<std::unique_ptr<asio::io_context>> make_contexts(int threads) {
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (int i = 0; i < std::max(1, threads); ++i)
    contexts.push_back(std::make_unique<asio::io_context>(1));
  return contexts;
}

// Writes the status line and header fields of a reply into `out` as they go on the wire. The
// server's replies are built by its own handlers, so this plain loop replaces Beast's generic
// serializer, whose buffer-sequence machinery cost more than the rest of a small reply.
template <class Fields>
void serialize_head(const http::response_header<Fields>& head, std::string& out) {
  out.assign(head.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  char code[8];
  auto [end, ec] = std::to_chars(code, code + sizeof(code), head.result_int());
  out.append(code, end);
  out += ' ';
  out += head.reason();
  out += "\r\n";
  for (const auto& field : head) {
    out += field.name_string();
    out += ": ";
    out += field.value();
    out += "\r\n";
  }
  out += "\r\n";
}

Reply limit_reply(http::status status, int code, std::string message) {
  Reply reply = error_reply({status, code, std::move(message)});
  reply.message.keep_alive(false);
  return reply;
}

}  // namespace

HttpServer::HttpServer(ServerOptions options, RequestHandler handler, StreamHandler streams)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      streams_(std::move(streams)),
      ios_(make_contexts(options_.threads)) {}

HttpServer::~HttpServer() { stop(std::chrono::milliseconds(0)); }

void HttpServer::start() {
  for (const auto& listener : options_.listeners) {
    beast::error_code ec;
    const auto address = asio::ip::make_address(listener.host, ec);
    if (ec) throw std::system_error(ec, "listeners: bad address '" + listener.host + "'");
    const asio::ip::tcp::endpoint endpoint(address, listener.port);
    auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(*ios_.front());
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(endpoint, ec);
    if (ec) {
      throw std::system_error(
          ec, "cannot listen on " + listener.host + ":" + std::to_string(listener.port));
    }
    acceptor->listen(asio::socket_base::max_listen_connections);
    bound_ports_.push_back(acceptor->local_endpoint().port());
    acceptors_.push_back(std::move(acceptor));
  }
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    asio::co_spawn(*ios_.front(), accept_loop(i), asio::detached);
  }
  for (auto& io : ios_) {
    work_.push_back(asio::make_work_guard(*io));
    threads_.emplace_back([&io = *io] { io.run(); });
  }
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  if (stopping_.exchange(true)) return;
  asio::post(*ios_.front(), [this] {
    for (auto& acceptor : acceptors_) {
      beast::error_code ignored;
      acceptor->close(ignored);
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  work_.clear();
  for (auto& io : ios_) io->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

// Reads the chunked body piece by piece, handing each to the session and writing what it
// returns as a chunk of the reply, until the body ends or the client goes.
template <class Stream>
asio::awaitable<bool> HttpServer::serve_stream(Stream& stream, beast::flat_buffer& buffer,
                                               http::request_parser<http::string_body>& parser,
                                               StreamSession& session) {
  const auto& header = parser.get();
  if (beast::iequals(header[http::field::expect], "100-continue")) {
    http::response<http::empty_body> cont{http::status::continue_, header.version()};
    co_await http::async_write(stream, cont, kNoThrow);
  }
  http::response<http::empty_body> head{http::status::ok, header.version()};
  head.set(http::field::server, "sluice");
  head.set(http::field::content_type, "application/json");
  head.chunked(true);
  head.keep_alive(header.keep_alive());
  http::response_serializer<http::empty_body> serializer{head};
  stream.expires_after(options_.write_timeout);
  auto [head_ec, h] = co_await http::async_write_header(stream, serializer, kNoThrow);
  if (head_ec) co_return false;
  // A stream has no overall size limit; each record is bounded by the produce path.
  parser.body_limit(boost::none);
  std::string pending;
  auto on_chunk = [&pending](std::uint64_t, std::string_view data, beast::error_code&) {
    pending.append(data);
    return data.size();
  };
  parser.on_chunk_body(on_chunk);
  auto send = [&](const std::string& out) -> asio::awaitable<bool> {
    if (out.empty()) co_return true;
    stream.expires_after(options_.write_timeout);
    auto [ec, n] =
        co_await asio::async_write(stream, http::make_chunk(asio::buffer(out)), kNoThrow);
    co_return !ec;
  };
  while (!parser.is_done()) {
    // Between records a producer may pause: the idle timeout applies, not the read timeout.
    stream.expires_after(options_.idle_timeout);
    auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, kNoThrow);
    if (ec) co_return false;
    if (pending.empty()) continue;
    std::string data = std::move(pending);
    pending.clear();
    if (!co_await send(co_await session.on_data(data))) co_return false;
  }
  if (!co_await send(co_await session.on_end())) co_return false;
  stream.expires_after(options_.write_timeout);
  auto [last_ec, l] = co_await asio::async_write(stream, http::make_chunk_last(), kNoThrow);
  co_return !last_ec && header.keep_alive() && !stopping_;
}

asio::awaitable<void> HttpServer::accept_loop(size_t listener) {
  while (!stopping_) {
    auto& io = *ios_[next_io_++ % ios_.size()];
    auto [ec, socket] = co_await acceptors_[listener]->async_accept(io, kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping_) break;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    beast::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    auto executor = socket.get_executor();
    asio::co_spawn(executor, session(std::move(socket), listener), asio::detached);
  }
}

asio::awaitable<void> HttpServer::session(asio::ip::tcp::socket socket, size_t index) {
  const ListenerOptions& listener = options_.listeners[index];
  const std::string peer = peer_name(socket);
  RequestContext context;
  context.peer_address = peer_address(socket);
  context.listener = listener.name;
  context.connection_fd = socket.native_handle();
  // The watchdog wakes at least once per shortest timeout, so no deadline is checked late.
  const auto step = std::max(std::chrono::milliseconds(1),
                             std::min({options_.idle_timeout, options_.read_timeout,
                                       options_.write_timeout, options_.handshake_timeout}));
  Connection stream(std::move(socket), step);
  if (connections_.fetch_add(1) >= options_.max_connections) {
    // On an https listener the refusal could only be sent after a handshake: just close.
    if (!listener.tls) {
      Reply reply = limit_reply(http::status::service_unavailable, 50301,
                                "Too many connections (max.connections = " +
                                    std::to_string(options_.max_connections) + ")");
      stream.expires_after(options_.write_timeout);
      co_await http::async_write(stream, reply.message, kNoThrow);
    }
  } else if (!listener.tls) {
    co_await serve_all(stream, listener, context, std::string());
  } else {
    TlsConnection tls(stream, listener.tls->current());
    stream.expires_after(options_.handshake_timeout);
    const auto ec = co_await tls.handshake();
    if (ec) {
      spdlog::debug("TLS handshake with {} failed: {}", peer,
                    stream.timed_out() ? "timed out" : ec.message());
    } else {
      co_await serve_all(tls, listener, context,
                         peer_principal_name(tls.native_handle(), listener.auth));
    }
  }
  connections_.fetch_sub(1);
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  spdlog::debug("connection from {} closed", peer);
}

template <class Stream>
asio::awaitable<void> HttpServer::serve_all(Stream& stream, const ListenerOptions& listener,
                                            const RequestContext& context,
                                            const std::string& peer_cn) {
  beast::flat_buffer buffer;
  std::string head;  // a reply's header bytes, reused from request to request
  while (!stopping_ && co_await serve_one(stream, buffer, head, listener, context, peer_cn)) {
  }
}

// Reads a body of known length straight into the request's string. Beast's read would receive
// it into `buffer` and copy it from there: for a 100 KB produce that copy cost as much as the
// checksum. Only bytes already buffered (the start of the body) are copied; `buffer` keeps
// whatever follows the body, such as a pipelined request. The string grows a step at a time
// ahead of the bytes received, so a client that announces a large body and sends nothing
// costs address space (the reservation) but not memory.
namespace {
template <class Stream>
asio::awaitable<bool> read_sized_body(Stream& stream, beast::flat_buffer& buffer,
                                      http::request_parser<http::string_body>& parser) {
  constexpr size_t kStep = 1 << 20;
  const auto length = static_cast<size_t>(*parser.content_length());  // <= max.request.size
  auto& body = parser.get().body();
  body.reserve(length);
  const size_t buffered = std::min(buffer.size(), length);
  body.resize(buffered);
  asio::buffer_copy(asio::buffer(body), buffer.data(), buffered);
  buffer.consume(buffered);
  size_t filled = buffered;
  while (filled < length) {
    if (filled == body.size()) body.resize(std::min(length, filled + kStep));
    auto [ec, n] = co_await stream.async_read_some(
        asio::buffer(body.data() + filled, body.size() - filled), kNoThrow);
    if (ec) co_return false;
    filled += n;
  }
  co_return true;
}
}  // namespace

// Reads one request, answers it; returns whether the connection stays open.
template <class Stream>
asio::awaitable<bool> HttpServer::serve_one(Stream& stream, beast::flat_buffer& buffer,
                                            std::string& head_bytes,
                                            const ListenerOptions& listener,
                                            const RequestContext& connection_context,
                                            const std::string& peer_cn) {
  constexpr bool kTls = std::is_same_v<Stream, TlsConnection>;
  if (buffer.size() == 0) {
    // Idle between requests: wait for the first byte of the next one.
    stream.expires_after(options_.idle_timeout);
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kNoThrow);
    if (ec) co_return false;  // closed, idle timeout or reset: nothing to answer
    buffer.commit(n);
  }
  stream.expires_after(options_.read_timeout);
  http::request_parser<http::string_body> parser;
  parser.header_limit(options_.max_header_bytes);
  parser.body_limit(options_.max_request_bytes);
  std::optional<Reply> refusal;
  auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
  if (ec == http::error::body_limit) {
    // Beast checks a Content-Length against the body limit while parsing the header.
    refusal = limit_reply(
        http::status::payload_too_large, 41301,
        "Request body exceeds max.request.size = " + std::to_string(options_.max_request_bytes));
  } else if (ec == http::error::header_limit) {
    refusal = limit_reply(http::status::request_header_fields_too_large, 431,
                          "Request header larger than http.max.header.bytes = " +
                              std::to_string(options_.max_header_bytes));
  } else if (ec) {
    if (!stream.timed_out() && ec != http::error::end_of_stream) {
      refusal =
          limit_reply(http::status::bad_request, 400, "Malformed HTTP request: " + ec.message());
    } else {
      co_return false;
    }
  } else if (parser.content_length() && *parser.content_length() > options_.max_request_bytes) {
    refusal = limit_reply(
        http::status::payload_too_large, 41301,
        "Request body of " + std::to_string(*parser.content_length()) +
            " bytes exceeds max.request.size = " + std::to_string(options_.max_request_bytes));
  }
  RequestContext context = connection_context;
  // Before the body is read: an unauthenticated client gets nothing stored or parsed. (A
  // listener without authentication skips the coroutine, whose frame each request would pay.)
  if (!refusal && listener.auth.method != AuthMethod::none) {
    if (auto denied = co_await authenticate(listener.auth, parser.get(), peer_cn, context)) {
      refusal = std::move(*denied);
      if (!parser.is_done()) refusal->message.keep_alive(false);  // its body stays unread
    }
  }
  if (!refusal) {
    const auto& header = parser.get();
    if (beast::iequals(header[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, header.version()};
      co_await http::async_write(stream, cont, kNoThrow);
    }
    if (streams_ && header.chunked() && !parser.is_done()) {
      Request head;
      head.base() = header.base();
      auto start = co_await streams_(head, context);
      if (start && std::holds_alternative<Reply>(*start)) {
        // Refused before any body was read: answer and close, the body unread.
        refusal = std::move(std::get<Reply>(*start));
        refusal->message.keep_alive(false);
      } else if (start) {
        auto session = std::move(std::get<std::unique_ptr<StreamSession>>(*start));
        in_flight_.fetch_add(1);
        const bool keep = co_await serve_stream(stream, buffer, parser, *session);
        in_flight_.fetch_sub(1);
        co_return keep;
      }
    }
    // A chunked body has no Content-Length; Beast reads it.
    if (!refusal && !parser.is_done() && parser.content_length()) {
      if (!co_await read_sized_body(stream, buffer, parser)) co_return false;
    } else if (!refusal && !parser.is_done()) {
      auto [body_ec, m] = co_await http::async_read(stream, buffer, parser, kNoThrow);
      if (body_ec == http::error::body_limit) {
        refusal = limit_reply(http::status::payload_too_large, 41301,
                              "Request body exceeds max.request.size = " +
                                  std::to_string(options_.max_request_bytes));
      } else if (body_ec) {
        co_return false;
      }
    }
  }
  Reply reply;
  bool head_only = false;  // HEAD: the GET reply's header, without its body
  if (refusal) {
    reply = std::move(*refusal);
  } else {
    stream.expires_never();
    in_flight_.fetch_add(1);
    Request request = parser.release();
    head_only = request.method() == http::verb::head;
    const bool keep_alive = request.keep_alive();
    const unsigned version = request.version();
    reply = co_await handler_(std::move(request), std::move(context));
    reply.message.version(version);
    reply.message.keep_alive(keep_alive && reply.message.keep_alive() && !stopping_);
    in_flight_.fetch_sub(1);
  }
  stream.expires_after(options_.write_timeout);
  const bool keep_alive = reply.message.keep_alive();
  if (head_only) {
    reply.message.prepare_payload();
    if (reply.file_body) reply.message.content_length(reply.file_body->length);
    serialize_head(reply.message, head_bytes);
    auto [head_ec, m] = co_await asio::async_write(stream, asio::buffer(head_bytes), kNoThrow);
    co_return !head_ec && keep_alive;
  }
  if (!reply.file_body) {
    reply.message.prepare_payload();
    serialize_head(reply.message, head_bytes);
    if (kTls && reply.message.body().size() <= 16384) {
      // One TLS record rather than two for a small reply.
      head_bytes += reply.message.body();
      auto [write_ec, m] = co_await asio::async_write(stream, asio::buffer(head_bytes), kNoThrow);
      co_return !write_ec && keep_alive;
    }
    const std::array buffers{asio::const_buffer(asio::buffer(head_bytes)),
                             asio::const_buffer(asio::buffer(reply.message.body()))};
    auto [write_ec, m] = co_await asio::async_write(stream, buffers, kNoThrow);
    co_return !write_ec && keep_alive;
  }
  const auto& slice = *reply.file_body;
  http::response<http::empty_body> head{reply.message.result(), reply.message.version()};
  for (const auto& field : reply.message) head.set(field.name_string(), field.value());
  head.keep_alive(keep_alive);
  head.content_length(slice.length);
  serialize_head(head, head_bytes);
  auto [head_ec, m] = co_await asio::async_write(stream, asio::buffer(head_bytes), kNoThrow);
  if (head_ec) co_return false;
  auto send_ec = co_await send_file(stream, slice, options_.write_timeout);
  co_return !send_ec && keep_alive;
}

}  // namespace sluice::net
