#include "net/http/message.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/json_string.h"

namespace sluice::net {

Reply json_reply(http::status status, std::string body, std::string_view content_type) {
  Reply reply;
  reply.message.result(status);
  reply.message.set(http::field::content_type, content_type);
  reply.message.set(http::field::server, "sluice");
  reply.message.body() = std::move(body);
  return reply;
}

Reply error_reply(const ApiError& error) {
  std::string body = fmt::format("{{\"error_code\":{},\"message\":", error.error_code);
  append_json_string(body, error.message);
  body += '}';
  return json_reply(error.status, std::move(body));
}

bool client_gone(const RequestContext& context) {
  if (context.connection_fd < 0) return false;
  char byte = 0;
  const ssize_t n = ::recv(context.connection_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;  // the peer's FIN: nothing more will come, nor be read
  return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

}  // namespace sluice::net
