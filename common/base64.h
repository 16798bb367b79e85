#pragma once

#include <boost/system/result.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace sluice {

// Standard base64 (RFC 4648 §4) with '=' padding.
void base64_encode(std::string_view in, std::string& out);
std::string base64_encode(std::string_view in);

// Decodes strict base64 into `out` (resized; callers reuse it as a buffer): the standard
// alphabet, length a multiple of 4, '=' only as final padding. On failure the error holds the
// index of the first bad character (or in.size() for a bad length).
struct Base64Error {
  size_t position = 0;
};
[[nodiscard]] boost::system::result<void, Base64Error> base64_decode(std::string_view in,
                                                                     std::string& out);

}  // namespace sluice
