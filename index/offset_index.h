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

// The sparse offset index of one segment: (offset, position) pairs, strictly increasing in
// both, in a memory-mapped file. Move-only; the destructor unmaps and closes the file, and a
// moved-from index is empty.
//
// Durability: an appended entry is visible to readers at once and reaches the disk when flush()
// returns (or whenever the kernel writes the page back). A writable file is preallocated to
// max_bytes; trim() shrinks it to its entries when the segment rolls or the broker stops. On
// reopen, an untrimmed file's entries are those before the first all-zero entry after the
// first: entry (base, 0) is valid only first, so an all-zero preallocated file reopens as that
// one entry (harmless for lookups: every batch of the segment is at or after it). After a crash,
// recovery rebuilds the index rather than trusting it.
//
// Threading: one writer thread calls append, truncate_to, trim, flush, full and max_entries;
// any number of reader threads call floor, last, entries and verify concurrently with append.
// The entry count is a std::atomic<size_t> stored with memory_order_release after the entry's
// bytes are written and loaded with acquire by readers, who read only entries below it, so a
// reader never sees a torn entry. truncate_to, trim, moves and destruction must not overlap
// readers (the owner excludes them, e.g. under the partition's lock).
class OffsetIndex {
 public:
  // Opens or creates the index of the segment whose base offset is `base`. writable: the file
  // is created if missing, extended to max_bytes (rounded down to a whole entry; never below the
  // entries it already holds) and mapped read-write; bytes after the last entry are zeroed.
  // Read-only: mapped read-only at its current size and never modified; a missing file is an
  // error, an empty one an empty index.
  [[nodiscard]] static Result<OffsetIndex> open(const std::filesystem::path& path, Offset base,
                                                size_t max_bytes, bool writable);

  // Appends an entry. Errc::not_increasing when offset or position does not exceed the last
  // entry's, or offset is before the base; Errc::index_full when there is no room, the index is
  // trimmed, or offset - base or position does not fit 32 bits (the segment must roll).
  // std::errc::bad_file_descriptor on a read-only index.
  [[nodiscard]] Result<void> append(Offset offset, FilePos position);

  // The last entry whose offset <= target; nullopt when target is before the first entry or the
  // index is empty. Binary search.
  std::optional<OffsetEntry> floor(Offset target) const;
  // The last entry whose position <= target (positions increase with offsets). Binary search.
  std::optional<OffsetEntry> floor_position(FilePos target) const;
  std::optional<OffsetEntry> last() const;
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
  // Errc::corrupt unless offsets and positions strictly increase.
  [[nodiscard]] Result<void> verify() const;

  Offset base_offset() const;
  const std::filesystem::path& path() const;

 private:
  explicit OffsetIndex(detail::IndexFile<OffsetLayout> file) : file_(std::move(file)) {}

  detail::IndexFile<OffsetLayout> file_;
};

}  // namespace sluice::index
