// libFuzzer target: base64 values of REST Proxy v2 binary produce requests. Whatever decodes
// must encode back to a string of the input's length (the last character may differ only in
// pad bits, which the decoder ignores as Java's does), and every encoding must decode.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base64.h"
#include "common/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string decoded;
  if (auto result = base64_decode(in, decoded)) {
    const std::string canonical = base64_encode(decoded);
    SLUICE_CHECK(canonical.size() == in.size(), "decoding keeps every quantum");
    const size_t full = in.size() - std::min<size_t>(in.size(), 4);  // before the last quantum
    SLUICE_CHECK(canonical.substr(0, full) == in.substr(0, full), "full quanta round-trip");
    std::string back;
    SLUICE_CHECK(base64_decode(canonical, back) && back == decoded,
                 "the canonical form decodes to the same bytes");
  } else {
    SLUICE_CHECK(result.error().position <= in.size(), "the error position lies inside the input");
  }
  std::string again;
  SLUICE_CHECK(base64_decode(base64_encode(in), again) && again == in,
               "every encoding decodes to its input");
  return 0;
}
