#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

// The host and port of an "http://host:port" or "https://host:port" URL (listeners,
// advertised.listeners, etcd.endpoints, a broker's registered URL); a trailing '/' is allowed.
struct HttpAddress {
  std::string host;  // an IPv6 address without its brackets
  uint16_t port = 0;
  bool tls = false;  // https
  std::string port_text() const { return std::to_string(port); }
};

// nullopt for anything else: another scheme, no host, a port that is not 0..65535.
inline std::optional<HttpAddress> parse_http_url(std::string_view url) {
  const bool tls = url.starts_with("https://");
  if (!tls && !url.starts_with("http://")) return std::nullopt;
  url.remove_prefix(tls ? 8 : 7);
  if (url.ends_with('/')) url.remove_suffix(1);
  const auto colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = url.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view port = url.substr(colon + 1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || value > 65535) {
    return std::nullopt;
  }
  return HttpAddress{std::string(host), static_cast<uint16_t>(value), tls};
}

}  // namespace sluice
