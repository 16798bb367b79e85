#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <system_error>

#include "common/endian.h"
#include "common/types.h"
#include "index/errors.h"

// The bytes of the offset index and the time index (docs/FORMAT.md, "Index files"): arrays of
// fixed-size little-endian entries with no header, offsets stored relative to the segment's base
// offset. Everything that reads or writes index bytes (the indexes, recovery, `sluice dump`)
// goes through these layouts.
namespace sluice::index {

struct OffsetEntry {
  Offset offset;
  FilePos position;
  bool operator==(const OffsetEntry&) const = default;
};

struct TimeEntry {
  int64_t timestamp_ms;
  Offset offset;
  bool operator==(const TimeEntry&) const = default;
};

// u32 offset relative to the segment's base offset, u32 position in the segment's .log.
inline constexpr size_t kOffsetEntrySize = 8;
// i64 timestamp in milliseconds, u32 offset relative to the segment's base offset.
inline constexpr size_t kTimeEntrySize = 12;

// A Layout describes one kind of entry:
//   Entry                       decoded, with absolute offsets
//   kEntrySize                  bytes on disk
//   decode(p, base), encode(p, e, base)   encode needs an entry that passed check_fits
//   check_fits(e, base)         empty when e is storable relative to base
//   ordered(prev, next)         may next follow prev in an index?
//   continues(prev, next, base) reading an untrimmed file: is `next` (not the first entry)
//                               still an entry, or the start of the zeroed free space?
struct OffsetLayout {
  using Entry = OffsetEntry;
  static constexpr size_t kEntrySize = kOffsetEntrySize;

  static Entry decode(const std::byte* p, Offset base) noexcept {
    return {Offset{wrapping_add(base.value, load_le<uint32_t>(p))},
            FilePos{load_le<uint32_t>(p + 4)}};
  }
  static void encode(std::byte* p, const Entry& e, Offset base) noexcept {
    store_le<uint32_t>(p, static_cast<uint32_t>(e.offset.value - base.value));
    store_le<uint32_t>(p + 4, static_cast<uint32_t>(e.position.value));
  }
  static std::error_code check_fits(const Entry& e, Offset base) noexcept {
    if (e.offset < base) return Errc::not_increasing;
    if (static_cast<uint64_t>(e.offset.value - base.value) > std::numeric_limits<uint32_t>::max() ||
        e.position.value > std::numeric_limits<uint32_t>::max()) {
      return Errc::index_full;
    }
    return {};
  }
  // Strictly increasing in both fields.
  static bool ordered(const Entry& prev, const Entry& next) noexcept {
    return prev.offset < next.offset && prev.position < next.position;
  }
  // (base, 0) is an entry only first: after it, an all-zero entry is free space.
  static bool continues(const Entry& /*prev*/, const Entry& next, Offset base) noexcept {
    return !(next.offset == base && next.position == FilePos{0});
  }
};

struct TimeLayout {
  using Entry = TimeEntry;
  static constexpr size_t kEntrySize = kTimeEntrySize;

  static Entry decode(const std::byte* p, Offset base) noexcept {
    return {load_le<int64_t>(p), Offset{wrapping_add(base.value, load_le<uint32_t>(p + 8))}};
  }
  static void encode(std::byte* p, const Entry& e, Offset base) noexcept {
    store_le<int64_t>(p, e.timestamp_ms);
    store_le<uint32_t>(p + 8, static_cast<uint32_t>(e.offset.value - base.value));
  }
  static std::error_code check_fits(const Entry& e, Offset base) noexcept {
    if (e.offset < base) return Errc::not_increasing;
    if (static_cast<uint64_t>(e.offset.value - base.value) > std::numeric_limits<uint32_t>::max()) {
      return Errc::index_full;
    }
    return {};
  }
  // Timestamps strictly increase; offsets never decrease.
  static bool ordered(const Entry& prev, const Entry& next) noexcept {
    return prev.timestamp_ms < next.timestamp_ms && prev.offset <= next.offset;
  }
  // After the first entry, free space starts at an entry whose timestamp and relative offset
  // are both 0, or whose timestamp does not exceed the previous one.
  static bool continues(const Entry& prev, const Entry& next, Offset base) noexcept {
    const bool blank = next.timestamp_ms == 0 && next.offset == base;
    return !blank && next.timestamp_ms > prev.timestamp_ms;
  }
};

}  // namespace sluice::index
