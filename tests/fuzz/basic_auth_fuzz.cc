// libFuzzer target: the value of an `Authorization` header, as authentication reads it before
// any route runs. Whatever parses must name a non-empty user without ':', and encoding the
// user and password back must parse to the same pair.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base64.h"
#include "common/check.h"
#include "net/http/credentials.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)net::is_unauthenticated_path(in);
  const auto credentials = net::parse_basic_authorization(in);
  if (!credentials) return 0;
  SLUICE_CHECK(!credentials->user.empty(), "a parsed user is never empty");
  SLUICE_CHECK(credentials->user.find(':') == std::string::npos, "a user holds no ':'");
  const auto again = net::parse_basic_authorization(
      "Basic " + base64_encode(credentials->user + ":" + credentials->password));
  SLUICE_CHECK(
      again && again->user == credentials->user && again->password == credentials->password,
      "credentials round-trip through their encoding");
  return 0;
}
