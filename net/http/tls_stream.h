#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace sluice::net {

namespace asio = boost::asio;
namespace beast = boost::beast;

// The TLS layer of an https connection, either end: OpenSSL over a BIO of its own whose
// ciphertext lives in this object's buffers. A write encrypts up to kMaxWrite bytes (sixteen
// 16 KiB records) into one buffer and sends it with one socket write, and a read takes as much
// ciphertext as the socket has ready (up to kReadBuffer) and decrypts record after record into
// the caller's buffer. Asio's ssl::stream instead moves one record per socket operation through
// a pair of memory BIOs, one more copy each way: for a 1 MiB fetch, 64 writes and completions
// instead of 4.
//
// Usable as a Beast stream over `Next` (a stream that owns the socket and the deadline: the
// server's Connection, a client's beast::tcp_stream).
// Threading: on one executor (thread or strand); one read and one write may be in flight at
// once, as with any Asio stream. Socket writes never overlap: what OpenSSL answers during a
// read (a key update) is sent by the read unless a write is sending, which then sends it
// after its own; a write that starts while a read is sending waits for it. Not movable:
// OpenSSL's BIO points at it.
class TlsEngine {
 public:
  enum class Role { server, client };
  static constexpr size_t kMaxWrite = 256 << 10;
  static constexpr size_t kReadBuffer = 64 << 10;

  // A session of `context` (kept for as long as the session lives) on the `role` side.
  explicit TlsEngine(std::shared_ptr<asio::ssl::context> context, Role role = Role::server);
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  // For settings made before the handshake (a client's name checks and SNI) and for what it
  // negotiated (the peer's certificate).
  SSL* native_handle() const { return ssl_; }

  // The handshake over `next`, as the role says; before any read or write.
  template <class Next>
  asio::awaitable<beast::error_code> handshake(Next& next);

  template <class Next, class Buffers, class Token>
  auto async_read_some(Next& next, const Buffers& buffers, Token&& token);
  template <class Next, class Buffers, class Token>
  auto async_write_some(Next& next, const Buffers& buffers, Token&& token);

 private:
  template <class Next, class Buffers>
  struct ReadOp;
  template <class Next, class Buffers>
  struct WriteOp;
  friend struct BioAccess;

  // The error of a failed SSL call that returned `r` (the OpenSSL error queue is emptied).
  beast::error_code error_of(int r) const;
  // Where the next socket read goes (room at the end of in_, compacted first).
  asio::mutable_buffer read_room();
  // Room in out_ for the ciphertext of `plaintext` bytes (each 16 KiB record adds at most 64
  // bytes of header and tag); a large write's buffer comes from the thread's pool.
  void make_room(size_t plaintext);
  // Takes what out_ holds for one socket write: the buffer to send, until end_send().
  asio::const_buffer begin_send();
  // After a socket write: the sender's turn ends, and a write waiting for it goes on. A large
  // buffer goes back to the thread's pool: an idle connection keeps little.
  void end_send();
  // The timer a write waits on while another sends (made on first use).
  template <class Executor>
  asio::steady_timer& send_idle(const Executor& executor) {
    if (!send_idle_) {
      send_idle_.emplace(executor, asio::steady_timer::time_point::max());
    }
    return *send_idle_;
  }

  std::shared_ptr<asio::ssl::context> context_;
  SSL* ssl_ = nullptr;
  std::vector<char> in_;  // ciphertext received: [in_begin_, in_end_) not yet given to OpenSSL
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  std::vector<char> out_;                        // ciphertext OpenSSL produced, not yet being sent
  std::vector<char> sending_;                    // the ciphertext of the socket write in flight
  bool send_busy_ = false;                       // a socket write is in flight
  std::optional<asio::steady_timer> send_idle_;  // cancelled when send_busy_ clears
};

// Reads: decrypts what in_ holds into the caller's buffer, reading the socket only when a
// whole record is missing; completes once at least one byte (or an error) is there.
template <class Next, class Buffers>
struct TlsEngine::ReadOp {
  enum class Step { start, reading, flushing, done };
  ReadOp(TlsEngine& t, Next& n, const Buffers& b) : tls(t), next(n), buffers(b) {}
  TlsEngine& tls;
  Next& next;
  Buffers buffers;
  Step step = Step::start;
  beast::error_code result;
  size_t got = 0;

  template <class Self>
  void operator()(Self& self, beast::error_code ec = {}, size_t n = 0) {
    switch (step) {
      case Step::done:
        return self.complete(result, got);
      case Step::reading:
        if (ec) return self.complete(ec, 0);
        tls.in_end_ += n;
        break;
      case Step::flushing:
        if (!ec && !tls.out_.empty()) {
          return asio::async_write(next, tls.begin_send(), std::move(self));
        }
        tls.end_send();
        if (ec) return self.complete(ec, 0);
        if (got > 0) return self.complete({}, got);
        break;
      case Step::start:
        break;
    }
    asio::mutable_buffer into;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      if (asio::mutable_buffer b = *it; b.size() > 0) {
        into = b;
        break;
      }
    }
    if (into.size() == 0) return finish(self, {});
    // As many records as are here, into the buffer.
    int r = 1;
    while (got < into.size()) {
      size_t n_read = 0;
      ERR_clear_error();
      r = SSL_read_ex(tls.ssl_, static_cast<char*>(into.data()) + got, into.size() - got, &n_read);
      if (r != 1) break;
      got += n_read;
    }
    const int why = r == 1 ? SSL_ERROR_NONE : SSL_get_error(tls.ssl_, r);
    if (!tls.out_.empty() && !tls.send_busy_ && (got > 0 || why == SSL_ERROR_WANT_READ)) {
      // OpenSSL answered something (a key update): sent first. While a write is sending, that
      // write sends it after its own ciphertext.
      step = Step::flushing;
      return asio::async_write(next, tls.begin_send(), std::move(self));
    }
    if (got > 0) return finish(self, {});
    if (why == SSL_ERROR_WANT_READ) {
      step = Step::reading;
      return next.async_read_some(tls.read_room(), std::move(self));
    }
    if (why == SSL_ERROR_ZERO_RETURN) return finish(self, asio::error::eof);
    finish(self, tls.error_of(r));
  }

  // Completes through the executor: never from inside the initiating call.
  template <class Self>
  void finish(Self& self, beast::error_code ec) {
    if (step == Step::start) {
      step = Step::done;
      result = ec;
      return asio::post(next.get_executor(), std::move(self));
    }
    self.complete(ec, ec ? 0 : got);
  }
};

// Writes: encrypts up to kMaxWrite bytes of the buffers, sends the ciphertext whole, and
// completes with the number of plaintext bytes taken.
template <class Next, class Buffers>
struct TlsEngine::WriteOp {
  enum class Step { start, waiting, sending, done };
  WriteOp(TlsEngine& t, Next& n, const Buffers& b) : tls(t), next(n), buffers(b) {}
  TlsEngine& tls;
  Next& next;
  Buffers buffers;
  Step step = Step::start;
  beast::error_code result;
  size_t taken = 0;

  template <class Self>
  void operator()(Self& self, beast::error_code ec = {}, size_t = 0) {
    switch (step) {
      case Step::done:
        return self.complete(result, taken);
      case Step::sending:
        // What a read made OpenSSL answer meanwhile goes out before this write completes.
        if (!ec && !tls.out_.empty()) {
          return asio::async_write(next, tls.begin_send(), std::move(self));
        }
        tls.end_send();
        return self.complete(ec, ec ? 0 : taken);
      case Step::waiting:  // woken (the timer's cancellation) by end_send()
      case Step::start:
        break;
    }
    if (tls.send_busy_) {
      // A read is sending what OpenSSL answered: this write's records go after it.
      step = Step::waiting;
      return tls.send_idle(next.get_executor()).async_wait(std::move(self));
    }
    // Room for the ciphertext at once: the BIO then appends without moving what it holds.
    tls.make_room(std::min(asio::buffer_size(buffers), kMaxWrite));
    for (auto it = asio::buffer_sequence_begin(buffers);
         it != asio::buffer_sequence_end(buffers) && taken < kMaxWrite; ++it) {
      const asio::const_buffer b = *it;
      const size_t want = std::min(b.size(), kMaxWrite - taken);
      if (want == 0) continue;
      size_t written = 0;
      ERR_clear_error();
      if (const int r = SSL_write_ex(tls.ssl_, b.data(), want, &written); r != 1) {
        tls.out_.clear();
        return finish(self, tls.error_of(r));
      }
      taken += written;
    }
    if (tls.out_.empty()) return finish(self, {});
    step = Step::sending;
    asio::async_write(next, tls.begin_send(), std::move(self));
  }

  // Completes through the executor: never from inside the initiating call.
  template <class Self>
  void finish(Self& self, beast::error_code ec) {
    step = Step::done;
    result = ec;
    if (ec) taken = 0;
    asio::post(next.get_executor(), std::move(self));
  }
};

template <class Next, class Buffers, class Token>
auto TlsEngine::async_read_some(Next& next, const Buffers& buffers, Token&& token) {
  return asio::async_compose<Token, void(beast::error_code, size_t)>(
      ReadOp<Next, Buffers>(*this, next, buffers), token, next);
}

template <class Next, class Buffers, class Token>
auto TlsEngine::async_write_some(Next& next, const Buffers& buffers, Token&& token) {
  return asio::async_compose<Token, void(beast::error_code, size_t)>(
      WriteOp<Next, Buffers>(*this, next, buffers), token, next);
}

template <class Next>
asio::awaitable<beast::error_code> TlsEngine::handshake(Next& next) {
  constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
  for (;;) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_);
    const int why = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
    // Read before any wait: OpenSSL's error queue belongs to the thread.
    const beast::error_code failure =
        r == 1 || why == SSL_ERROR_WANT_READ ? beast::error_code{} : error_of(r);
    if (!out_.empty()) {
      // This side's flight (or an alert that explains a failure): sent before going on.
      auto [ec, n] = co_await asio::async_write(next, asio::buffer(out_), kNoThrow);
      out_.clear();
      if (ec && !failure) co_return ec;
    }
    if (r == 1) co_return beast::error_code{};
    if (failure) co_return failure;
    auto [ec, n] = co_await next.async_read_some(read_room(), kNoThrow);
    if (ec) co_return ec;
    in_end_ += n;
  }
}

}  // namespace sluice::net
