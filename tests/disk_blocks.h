#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>

namespace sluice::testing {

// Bytes of disk a file holds (st_blocks), which counts blocks reserved past its end; 0 if it
// cannot be stat'ed.
inline uint64_t allocated_bytes(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

}  // namespace sluice::testing
