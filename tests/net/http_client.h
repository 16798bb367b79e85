#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
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

// Where http_request connects when it is not loopback (an address in a network namespace,
// tests/cluster/netns.h) and how long the whole exchange may take, connect included.
struct HttpTarget {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
};
HttpResponse http_request(const HttpTarget& to, std::string_view method, std::string_view target,
                          std::string_view body = {},
                          const std::map<std::string, std::string>& headers = {});

// Sends raw bytes and returns whatever comes back until the peer closes or `timeout_ms`
// passes (for malformed or slow requests).
std::string raw_exchange(uint16_t port, std::string_view bytes, int timeout_ms);

// A keep-alive connection to 127.0.0.1:port: several requests, one TCP connection. Throws on
// a connection or protocol failure, including the server closing the connection early.
class HttpConnection {
 public:
  explicit HttpConnection(uint16_t port);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  HttpResponse request(std::string_view method, std::string_view target, std::string_view body = {},
                       const std::map<std::string, std::string>& headers = {});

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A plain blocking socket for byte-level exchanges (Expect: 100-continue, half requests).
class RawSocket {
 public:
  explicit RawSocket(uint16_t port);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  void send(std::string_view bytes);
  // Reads until `needle` has arrived, the peer closes or `timeout_ms` passes; returns all
  // bytes read so far on this socket.
  std::string read_until(std::string_view needle, int timeout_ms);
  // Whether the peer closed the connection within `timeout_ms` (reading and dropping data).
  bool closed_within(int timeout_ms);

 private:
  int fd_ = -1;
  std::string received_;
};

}  // namespace sluice::testing
