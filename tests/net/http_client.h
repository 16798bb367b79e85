#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace sluice::testing {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-cased names

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// One blocking HTTP/1.1 request to 127.0.0.1:port on a fresh connection. Throws on a
// connection or protocol failure; the reply's status is data, not an exception.
HttpResponse http_request(uint16_t port, std::string_view method, std::string_view target,
                          std::string_view body = {},
                          const std::map<std::string, std::string>& headers = {});

// Sends raw bytes and returns whatever comes back until the peer closes or `timeout_ms`
// passes (for malformed or slow requests).
std::string raw_exchange(uint16_t port, std::string_view bytes, int timeout_ms);

}  // namespace sluice::testing
