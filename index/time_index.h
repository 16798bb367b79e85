#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "common/result.h"
#include "common/types.h"
#include "index/detail/index_file.h"
#include "index/format.h"

namespace sluice::index {

// The sparse time index of one segment: (timestamp, offset) pairs, timestamps strictly
// increasing and offsets never decreasing, in a memory-mapped file. Move-only; the destructor
// unmaps and closes the file, and a moved-from index is empty.
//
// Durability: an appended entry is visible to readers at once and reaches the disk when flush()
// returns (or whenever the kernel writes the page back). A writable file is preallocated to
// max_bytes; trim() shrinks it to its entries when the segment rolls or the broker stops. On
// reopen, an untrimmed file's entries run up to the first entry after the first whose timestamp
// and relative offset are both 0, or whose timestamp is not larger than the previous one; so an
// all-zero preallocated file reopens as the one entry (0, base). After a crash, recovery
// rebuilds the index rather than trusting it.
//
// Threading: one writer thread calls append, truncate_to, trim, flush, full and max_entries;
// any number of reader threads call last_before, last, entries and verify concurrently with
// append. The entry count is a std::atomic<size_t> stored with memory_order_release after the
// entry's bytes are written and loaded with acquire by readers, who read only entries below it,
// so a reader never sees a torn entry. truncate_to, trim, moves and destruction must not overlap
// readers (the owner excludes them, e.g. under the partition's lock).
class TimeIndex {
 public:
  // Opens or creates the time index of the segment whose base offset is `base`; the rules for
  // writable and read-only files are OffsetIndex::open's.
  [[nodiscard]] static Result<TimeIndex> open(const std::filesystem::path& path, Offset base,
                                              size_t max_bytes, bool writable);

  // Appends an entry. Errc::not_increasing when the timestamp does not exceed the last entry's,
  // the offset is below the last entry's, or the offset is before the base; Errc::index_full
  // when there is no room, the index is trimmed, or offset - base does not fit 32 bits.
  // std::errc::bad_file_descriptor on a read-only index.
  [[nodiscard]] Result<void> append(int64_t timestamp_ms, Offset offset);

  // The last entry whose timestamp < timestamp_ms (strictly less), nullopt if none. Binary
  // search.
  std::optional<TimeEntry> last_before(int64_t timestamp_ms) const;
  std::optional<TimeEntry> last() const;
  size_t entries() const;  // acquire load
  bool full() const;       // true also once trimmed and when read-only
  size_t max_entries() const;

  // Drops every entry whose offset >= offset (for log truncation). A writable file's dropped
  // entries are zeroed; after trim(), call trim() again to shrink the file to match.
  void truncate_to(Offset offset);
  // Shrinks the file to the used entries (seals it); further appends fail with index_full.
  // A no-op on a read-only index.
  [[nodiscard]] Result<void> trim();
  // msync of the used entries + fdatasync of the file. A no-op on a read-only index.
  [[nodiscard]] Result<void> flush();
  // Errc::corrupt unless timestamps strictly increase and offsets never decrease.
  [[nodiscard]] Result<void> verify() const;

  Offset base_offset() const;
  const std::filesystem::path& path() const;

 private:
  explicit TimeIndex(detail::IndexFile<TimeLayout> file) : file_(std::move(file)) {}

  detail::IndexFile<TimeLayout> file_;
};

}  // namespace sluice::index
