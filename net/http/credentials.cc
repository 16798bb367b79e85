#include "net/http/credentials.h"

#include <cctype>

#include "common/base64.h"

namespace sluice::net {

std::optional<BasicCredentials> parse_basic_authorization(std::string_view header) {
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) {
    header.remove_prefix(1);
  }
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t')) {
    header.remove_suffix(1);
  }
  constexpr std::string_view kScheme = "basic";
  if (header.size() <= kScheme.size() || header[kScheme.size()] != ' ') return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view token = header.substr(kScheme.size() + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  std::string decoded;
  if (token.empty() || !base64_decode(token, decoded)) return std::nullopt;
  const size_t colon = decoded.find(':');
  if (colon == 0 || colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

bool is_unauthenticated_path(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/healthz" || path == "/readyz";
}

}  // namespace sluice::net
