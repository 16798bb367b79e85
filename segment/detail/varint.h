#pragma once

#include <cstddef>
#include <cstdint>

// Kafka's zigzag varints: 7 bits a byte, least significant group first, high bit = more.
namespace sluice::segment::detail {

inline uint64_t zigzag(int64_t n) noexcept {
  return (static_cast<uint64_t>(n) << 1) ^ static_cast<uint64_t>(n >> 63);
}

inline int64_t unzigzag(uint64_t u) noexcept {
  return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
}

inline size_t varint_size(int64_t n) noexcept {
  uint64_t u = zigzag(n);
  size_t size = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++size;
  }
  return size;
}

// Writes n at p; returns the byte after it. The caller sized the buffer with varint_size.
inline std::byte* write_varint(std::byte* p, int64_t n) noexcept {
  uint64_t u = zigzag(n);
  while (u >= 0x80) {
    *p++ = static_cast<std::byte>(u | 0x80);
    u >>= 7;
  }
  *p++ = static_cast<std::byte>(u);
  return p;
}

// Reads a varint of at most max_bytes bytes from [p, end). Returns false, leaving p
// unspecified, when the input ends first or the varint is too long.
inline bool read_varint(const std::byte*& p, const std::byte* end, size_t max_bytes,
                        int64_t& out) noexcept {
  uint64_t u = 0;
  for (size_t i = 0; i < max_bytes; ++i) {
    if (p == end) return false;
    const auto b = static_cast<uint8_t>(*p++);
    u |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      out = unzigzag(u);
      return true;
    }
  }
  return false;
}

}  // namespace sluice::segment::detail
