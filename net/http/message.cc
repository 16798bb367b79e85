#include "net/http/message.h"

#include <fmt/format.h>

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

}  // namespace sluice::net
