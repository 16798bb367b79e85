#include "common/base64.h"

#include <array>
#include <cstdint>

namespace sluice {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_decode_table() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}

constexpr auto kDecode = make_decode_table();

}  // namespace

void base64_encode(std::string_view in, std::string& out) {
  const size_t start = out.size();
  out.resize(start + (in.size() + 2) / 3 * 4);
  char* p = out.data() + start;
  size_t i = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t{s[i]} << 16) | (uint32_t{s[i + 1]} << 8) | s[i + 2];
    *p++ = kAlphabet[v >> 18];
    *p++ = kAlphabet[(v >> 12) & 63];
    *p++ = kAlphabet[(v >> 6) & 63];
    *p++ = kAlphabet[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint32_t{s[i]} << 16;
    if (i + 1 < in.size()) v |= uint32_t{s[i + 1]} << 8;
    *p++ = kAlphabet[v >> 18];
    *p++ = kAlphabet[(v >> 12) & 63];
    *p++ = i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    *p++ = '=';
  }
}

std::string base64_encode(std::string_view in) {
  std::string out;
  base64_encode(in, out);
  return out;
}

boost::system::result<void, Base64Error> base64_decode(std::string_view in, std::string& out) {
  using Decoded = boost::system::result<void, Base64Error>;
  auto fail = [](size_t pos) -> Decoded { return Base64Error{pos}; };
  if (in.size() % 4 != 0) return fail(in.size());
  size_t padding = 0;
  if (!in.empty() && in.back() == '=') padding = in[in.size() - 2] == '=' ? 2 : 1;
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  const size_t full = in.size() - (padding ? 4 : 0);
  // Sized once and written through a pointer: per-byte push_back was most of the decode time.
  out.resize(full / 4 * 3);
  char* p = out.data();
  for (size_t i = 0; i < full; i += 4) {
    const int32_t a = kDecode[s[i]];
    const int32_t b = kDecode[s[i + 1]];
    const int32_t c = kDecode[s[i + 2]];
    const int32_t d = kDecode[s[i + 3]];
    if ((a | b | c | d) < 0) {
      size_t j = 0;
      while (kDecode[s[i + j]] >= 0) ++j;
      return fail(i + j);
    }
    const int32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    *p++ = static_cast<char>(v >> 16);
    *p++ = static_cast<char>((v >> 8) & 0xff);
    *p++ = static_cast<char>(v & 0xff);
  }
  if (padding) {
    const size_t i = full;
    const size_t data = 4 - padding;
    int32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      int8_t d = 0;
      if (j < data) {
        d = kDecode[s[i + j]];
        if (d < 0) return fail(i + j);
      } else if (s[i + j] != '=') {
        return fail(i + j);
      }
      v = (v << 6) | d;
    }
    out.push_back(static_cast<char>(v >> 16));
    if (data == 3) out.push_back(static_cast<char>((v >> 8) & 0xff));
  }
  return {};
}

}  // namespace sluice
