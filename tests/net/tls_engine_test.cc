// TlsEngine in both roles, in one process: a server engine over a plain socket and a
// ClientStream (the client engine) reading and writing at the same time.

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "common/http_url.h"
#include "net/http/client_stream.h"
#include "net/http/tls.h"
#include "net/http/tls_stream.h"
#include "tests/net/security_util.h"

namespace sluice::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using namespace asio::experimental::awaitable_operators;
using tcp = asio::ip::tcp;

constexpr size_t kTotal = 8 << 20;  // each way
constexpr size_t kChunk = 1 << 20;  // per write

char pattern(size_t i) { return static_cast<char>((i * 7 + i / 4099) % 251); }

std::vector<char> chunk_at(size_t first, size_t size) {
  std::vector<char> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = pattern(first + i);
  return out;
}

// The server's end: a TlsEngine over a plain socket, as a Beast/Asio stream.
struct ServerSide {
  ServerSide(tcp::socket s, std::shared_ptr<asio::ssl::context> context)
      : socket(std::move(s)), tls(std::move(context)) {}
  using executor_type = tcp::socket::executor_type;
  executor_type get_executor() { return socket.get_executor(); }
  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return tls.async_read_some(socket, buffers, std::forward<Token>(token));
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return tls.async_write_some(socket, buffers, std::forward<Token>(token));
  }
  tcp::socket socket;
  net::TlsEngine tls;
};

// Writes kTotal pattern bytes in kChunk writes; `before_each` runs before every write.
template <class Stream, class Hook>
asio::awaitable<void> write_all(Stream& stream, Hook before_each) {
  for (size_t at = 0; at < kTotal; at += kChunk) {
    before_each();
    const auto data = chunk_at(at, kChunk);
    co_await asio::async_write(stream, asio::buffer(data), asio::use_awaitable);
  }
}

// Reads kTotal bytes; the number of them that differ from the pattern.
template <class Stream>
asio::awaitable<size_t> read_all(Stream& stream) {
  std::vector<char> buffer(64 << 10);
  size_t at = 0;
  size_t wrong = 0;
  while (at < kTotal) {
    const size_t n = co_await stream.async_read_some(
        asio::buffer(buffer.data(), std::min(buffer.size(), kTotal - at)), asio::use_awaitable);
    for (size_t i = 0; i < n; ++i) wrong += buffer[i] != pattern(at + i) ? 1 : 0;
    at += n;
  }
  co_return wrong;
}

// Counts the KeyUpdate messages a session receives.
void count_key_updates(int write_p, int, int content_type, const void* buf, size_t len, SSL*,
                       void* arg) {
  if (write_p == 0 && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
      static_cast<const unsigned char*>(buf)[0] == SSL3_MT_KEY_UPDATE) {
    ++*static_cast<int*>(arg);
  }
}

TEST(TlsEngineTest, BothEndsReadAndWriteAtOnceThroughKeyUpdates) {
  TestPki pki;
  auto server_context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  server_context->use_certificate_chain_file(pki.path("server.pem"));
  server_context->use_private_key_file(pki.path("server.key"), asio::ssl::context::pem);
  net::ClientTlsSettings settings;
  settings.ca_file = pki.path("ca.pem");
  auto client_context = net::client_tls_context(settings);

  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  HttpAddress address{"127.0.0.1", acceptor.local_endpoint().port(), true};
  size_t server_wrong = kTotal;
  size_t client_wrong = kTotal;
  int updates_requested = 0;
  int updates_answered = 0;  // KeyUpdates the server received from the client
  std::string failure;

  auto server = [&]() -> asio::awaitable<void> {
    ServerSide side(co_await acceptor.async_accept(asio::use_awaitable), server_context);
    SSL_set_msg_callback(side.tls.native_handle(), count_key_updates);
    SSL_set_msg_callback_arg(side.tls.native_handle(), &updates_answered);
    if (auto ec = co_await side.tls.handshake(side.socket)) {
      failure = "server handshake: " + ec.message();
      co_return;
    }
    // Before every write the server asks the client to update its keys too: the client's
    // OpenSSL answers with a KeyUpdate of its own while both directions are busy.
    auto ask_update = [&] {
      if (SSL_key_update(side.tls.native_handle(), SSL_KEY_UPDATE_REQUESTED) == 1) {
        ++updates_requested;
      }
    };
    server_wrong = co_await (read_all(side) && write_all(side, ask_update));
  };
  auto client = [&]() -> asio::awaitable<void> {
    net::ClientStream stream(co_await asio::this_coro::executor);
    if (auto ec = co_await stream.connect(address, std::chrono::seconds(10), client_context)) {
      failure = "client connect: " + ec.message();
      co_return;
    }
    EXPECT_TRUE(stream.secure());
    client_wrong = co_await (read_all(stream) && write_all(stream, [] {}));
  };
  asio::co_spawn(io, server(), [&](std::exception_ptr e) {
    if (e) failure = "server failed";
  });
  asio::co_spawn(io, client(), [&](std::exception_ptr e) {
    if (e) failure = "client failed";
  });
  io.run_for(std::chrono::seconds(120));

  ASSERT_EQ(failure, "");
  EXPECT_EQ(server_wrong, 0u);
  EXPECT_EQ(client_wrong, 0u);
  EXPECT_EQ(updates_requested, static_cast<int>(kTotal / kChunk));
  EXPECT_GT(updates_answered, 0);
}

}  // namespace
}  // namespace sluice::testing
