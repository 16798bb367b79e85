#pragma once

#include <algorithm>
#include <string_view>

namespace sluice {

// Whether `s` holds an ASCII control character (below 0x20, or DEL): never valid in a name
// that goes into paths, logs or headers.
inline bool has_control_characters(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace sluice
