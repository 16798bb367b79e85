#pragma once

#include <chrono>
#include <cstdint>

namespace sluice {

// The wall clock in milliseconds since the epoch: record timestamps, commit times, the time of
// a quarantine cut. Components that tests drive with another clock take a clock function
// instead and default to this one.
inline int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sluice
