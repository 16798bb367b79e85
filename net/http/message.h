#pragma once

// Boost aliases and the request/reply types shared by the server and the handlers.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using Request = http::request<http::string_body>;

// A byte range of an open file, sent as a reply body with sendfile(2). `owner` keeps the
// descriptor open until the send has ended (for a raw-batch fetch, the segment the bytes
// are in), so the server needs to know nothing about what the file is.
struct FileBody {
  std::shared_ptr<const void> owner;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// What a handler answers: a message with a string body, or a header whose body is sent
// straight from a file (raw-batch fetch), without passing through user space.
struct Reply {
  http::response<http::string_body> message;
  std::optional<FileBody> file_body;
};

// Who sent a request, as the server established it before any route ran (authentication,
// docs/SECURITY.md); for the handlers and, later, an authorizer.
struct RequestContext {
  std::string principal = "User:ANONYMOUS";  // Kafka's form: "User:alice"
  std::string peer_address;                  // the client's IP address
  std::string listener;                      // the listener's name ("http", "https", ...)
  // Another broker of the cluster acting for itself (a replica fetch, a read for a consumer
  // it coordinates), as its cluster token proved: every right.
  bool broker = false;
  // The socket the request came on; valid while its handler runs (-1: none, as in tests that
  // call the router directly).
  int connection_fd = -1;
};

// Whether the peer has closed (or half-closed) the connection the request came on, or it
// broke: for a peer that never half-closes (another broker), a request served for nobody.
bool client_gone(const RequestContext& context);

// One REST Proxy-style error: HTTP status, error_code (status x 100 + sub-code, or the bare
// status where REST Proxy answers so) and a message naming what was wrong.
struct ApiError {
  http::status status;
  int error_code;
  std::string message;
};

Reply json_reply(http::status status, std::string body,
                 std::string_view content_type = "application/json");
Reply error_reply(const ApiError& error);

}  // namespace sluice::net
