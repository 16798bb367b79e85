#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::net {

// Standard base64 (RFC 4648 §4) with '=' padding.
void base64_encode(std::string_view in, std::string& out);
std::string base64_encode(std::string_view in);

// Decodes strict base64: the standard alphabet, length a multiple of 4, '=' only as final
// padding. Returns the index of the first bad character (or in.size() for a bad length) on
// failure.
struct Base64Error {
  size_t position;
};
[[nodiscard]] bool base64_decode(std::string_view in, std::string& out, Base64Error* error);

}  // namespace sluice::net
