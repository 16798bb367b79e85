#include "net/http/client_stream.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>

namespace sluice::net {

using tcp = asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// A name lookup that gives up at `deadline`: the lookup itself (getaddrinfo on asio's resolver
// thread) cannot be interrupted, and a name that no longer resolves (a container that was
// killed) can take the resolver's own timeout, seconds. It then finishes on its own, into a
// state this call has left.
asio::awaitable<beast::error_code> resolve_until(const std::string& host, const std::string& port,
                                                 std::chrono::steady_clock::time_point deadline,
                                                 tcp::resolver::results_type& out) {
  struct Lookup {
    explicit Lookup(const asio::any_io_executor& executor) : resolver(executor) {}
    tcp::resolver resolver;
    std::mutex mu;
    bool done = false;  // guarded by mu, like the two below
    beast::error_code ec;
    tcp::resolver::results_type results;
  };
  auto executor = co_await asio::this_coro::executor;
  auto lookup = std::make_shared<Lookup>(executor);
  lookup->resolver.async_resolve(
      host, port, [lookup](beast::error_code ec, tcp::resolver::results_type results) {
        std::lock_guard lock(lookup->mu);
        lookup->done = true;
        lookup->ec = ec;
        lookup->results = std::move(results);
      });
  asio::steady_timer timer(executor);
  for (auto step = std::chrono::milliseconds(1);;
       step = std::min(step * 2, std::chrono::milliseconds(20))) {
    {
      std::lock_guard lock(lookup->mu);
      if (lookup->done) {
        out = lookup->results;
        co_return lookup->ec;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) co_return asio::error::timed_out;
    timer.expires_after(step);
    co_await timer.async_wait(kNoThrow);
  }
}

}  // namespace

asio::awaitable<beast::error_code> ClientStream::connect(const HttpAddress& to,
                                                         std::chrono::milliseconds timeout,
                                                         std::shared_ptr<asio::ssl::context> tls) {
  if (to.tls && !tls) co_return asio::error::no_protocol_option;
  if (to.port == 0) co_return asio::error::invalid_argument;
  close();
  tls_.reset();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  beast::error_code ec;
  const auto ip = asio::ip::make_address(to.host, ec);
  const bool is_address = !ec;
  if (is_address) {
    tcp_.expires_at(deadline);
    auto [cec] = co_await tcp_.async_connect(tcp::endpoint(ip, to.port), kNoThrow);
    if (cec) co_return cec;
  } else {
    tcp::resolver::results_type endpoints;
    if (auto rec = co_await resolve_until(to.host, to.port_text(), deadline, endpoints)) {
      co_return rec;
    }
    tcp_.expires_at(deadline);
    auto [cec, connected] = co_await tcp_.async_connect(endpoints, kNoThrow);
    if (cec) co_return cec;
  }
  beast::error_code ignored;
  tcp_.socket().set_option(tcp::no_delay(true), ignored);
  if (!to.tls) co_return beast::error_code{};

  tls_ = std::make_unique<TlsEngine>(std::move(tls), TlsEngine::Role::client);
  SSL* ssl = tls_->native_handle();
  // The certificate must name the host the URL names: its address, or its DNS name (sent as
  // SNI too). Checked by the verification the context asks for.
  if (is_address) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), to.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, to.host.c_str());
    SSL_set1_host(ssl, to.host.c_str());
  }
  tcp_.expires_at(deadline);
  co_return co_await tls_->handshake(tcp_);
}

void ClientStream::close() {
  beast::error_code ignored;
  tcp_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp_.close();
}

}  // namespace sluice::net
