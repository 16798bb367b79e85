#include "net/http/tls_stream.h"

#include <openssl/bio.h>

#include <boost/asio/ssl/error.hpp>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "net/http/buffer_pool.h"

namespace sluice::net {

// The BIO under a TlsEngine's SSL: writes append to its output buffer, reads take from its
// input buffer (or ask OpenSSL to retry once the socket brought more).
struct BioAccess {
  static int write(BIO* bio, const char* data, int length) {
    auto* tls = static_cast<TlsEngine*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    tls->out_.insert(tls->out_.end(), data, data + length);
    return length;
  }

  static int read(BIO* bio, char* data, int length) {
    auto* tls = static_cast<TlsEngine*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    const size_t ready = tls->in_end_ - tls->in_begin_;
    if (ready == 0) {
      BIO_set_retry_read(bio);
      return -1;
    }
    const size_t n = std::min(ready, static_cast<size_t>(std::max(length, 0)));
    std::memcpy(data, tls->in_.data() + tls->in_begin_, n);
    tls->in_begin_ += n;
    return static_cast<int>(n);
  }

  static long control(BIO*, int command, long, void*) {
    // Flushing is the engine's business; nothing else (kernel TLS, datagrams) applies.
    return command == BIO_CTRL_FLUSH ? 1 : 0;
  }

  static int create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  static int destroy(BIO*) { return 1; }

  static BIO_METHOD* method() {
    static BIO_METHOD* const made = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sluice-tls");
      if (m == nullptr || BIO_meth_set_write(m, write) != 1 || BIO_meth_set_read(m, read) != 1 ||
          BIO_meth_set_ctrl(m, control) != 1 || BIO_meth_set_create(m, create) != 1 ||
          BIO_meth_set_destroy(m, destroy) != 1) {
        throw std::runtime_error("cannot make the TLS BIO method");
      }
      return m;
    }();
    return made;
  }
};

TlsEngine::TlsEngine(std::shared_ptr<asio::ssl::context> context, Role role)
    : context_(std::move(context)), ssl_(SSL_new(context_->native_handle())) {
  BIO* bio = ssl_ != nullptr ? BIO_new(BioAccess::method()) : nullptr;
  if (bio == nullptr) {
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);
  if (role == Role::server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
  // OpenSSL takes what the input buffer holds in as few reads as its record buffer allows.
  SSL_set_read_ahead(ssl_, 1);
  SSL_set_default_read_buffer_len(ssl_, kReadBuffer);
}

TlsEngine::~TlsEngine() { SSL_free(ssl_); }

beast::error_code TlsEngine::error_of(int r) const {
  const int why = SSL_get_error(ssl_, r);
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (why == SSL_ERROR_SSL && e != 0) {
    return beast::error_code(static_cast<int>(e), asio::error::get_ssl_category());
  }
  return asio::ssl::error::stream_truncated;
}

asio::mutable_buffer TlsEngine::read_room() {
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
  } else if (in_begin_ > 0 && in_end_ == in_.size()) {
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  if (in_.size() < kReadBuffer) in_.resize(kReadBuffer);
  return asio::buffer(in_.data() + in_end_, in_.size() - in_end_);
}

void TlsEngine::make_room(size_t plaintext) {
  constexpr auto ciphertext = [](size_t n) { return n + (n / 16384 + 1) * 64; };
  const size_t need = out_.size() + ciphertext(plaintext);
  if (out_.capacity() >= need) return;
  if (need <= kReadBuffer) {
    out_.reserve(need);
    return;
  }
  std::vector<char> large = take_buffer(std::max(need, ciphertext(kMaxWrite)));
  large.assign(out_.begin(), out_.end());
  out_.swap(large);
}

asio::const_buffer TlsEngine::begin_send() {
  send_busy_ = true;
  sending_.clear();
  sending_.swap(out_);
  return asio::buffer(sending_);
}

void TlsEngine::end_send() {
  send_busy_ = false;
  sending_.clear();
  if (sending_.capacity() > kReadBuffer) {
    give_back(std::move(sending_));
    sending_ = {};
  }
  if (send_idle_) send_idle_->cancel();
}

}  // namespace sluice::net
