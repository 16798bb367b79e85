#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

// Little-endian loads and stores at unaligned addresses. Every multi-byte integer Sluice
// writes to disk or to the wire is little-endian.
namespace sluice {

static_assert(std::endian::native == std::endian::little, "big-endian hosts need byte swaps");

template <class T>
inline T load_le(const void* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <class T>
inline void store_le(void* p, T v) noexcept {
  std::memcpy(p, &v, sizeof(T));
}

}  // namespace sluice
