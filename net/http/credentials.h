#pragma once

#include <optional>
#include <string>
#include <string_view>

// Reading what a client sends to authenticate; plain functions over bytes (fuzzed in
// tests/fuzz/basic_auth_fuzz.cc).
namespace sluice::net {

// The user and password of an `Authorization: Basic <base64(user:password)>` header value;
// nullopt when it is anything else (another scheme, bad base64, no ':', an empty user). The
// scheme is case-insensitive; the password is everything after the first ':'.
struct BasicCredentials {
  std::string user;
  std::string password;
};
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header);

// Whether a request target is one every client may reach without credentials: the
// orchestrators' probes /healthz and /readyz (any query).
bool is_unauthenticated_path(std::string_view target);

}  // namespace sluice::net
