#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "common/result.h"
#include "common/types.h"
#include "index/detail/mapped_file.h"
#include "index/errors.h"

namespace sluice::index::detail {

// What OffsetIndex and TimeIndex share: an array of fixed-size entries in a memory-mapped file,
// preallocated when writable, with an entry count published to readers.
//
// Layout is index::OffsetLayout or index::TimeLayout (index/format.h).
//
// Threading: one writer calls append, truncate_to, trim and flush; any number of readers call
// entries, at, last, partition_point and verify concurrently with append. The writer stores the
// entry bytes, then the count with release; readers load the count with acquire and touch only
// entries below it. truncate_to, trim and moves must not overlap readers.
template <class Layout>
class IndexFile {
 public:
  using Entry = typename Layout::Entry;
  static constexpr size_t kEntrySize = Layout::kEntrySize;

  IndexFile() = default;
  IndexFile(IndexFile&& other) noexcept { *this = std::move(other); }
  IndexFile& operator=(IndexFile&& other) noexcept {
    if (this != &other) {
      file_ = std::move(other.file_);
      base_ = std::exchange(other.base_, Offset{});
      capacity_ = std::exchange(other.capacity_, 0);
      sealed_ = std::exchange(other.sealed_, false);
      count_.store(other.count_.exchange(0, std::memory_order_relaxed), std::memory_order_relaxed);
    }
    return *this;
  }
  IndexFile(const IndexFile&) = delete;
  IndexFile& operator=(const IndexFile&) = delete;
  ~IndexFile() = default;

  [[nodiscard]] static Result<IndexFile> open(const std::filesystem::path& path, Offset base,
                                              size_t max_bytes, bool writable) {
    auto file = MappedFile::open(path, writable);
    if (!file) return file.error();
    IndexFile index;
    index.file_ = std::move(*file);
    index.base_ = base;
    MappedFile& f = index.file_;
    const size_t existing = round_down(f.file_bytes());
    const size_t limit = round_down(max_bytes);
    const size_t mapped = writable ? std::max(limit, existing) : existing;
    if (auto r = f.map(mapped); !r) return r.error();
    // Only bytes the file held before this open can be entries: a new file is empty. Entries
    // are written from the start, so none lie past the first hole (a preallocated index is
    // sparse), and the scan must not read holes (see leading_data_bytes).
    const size_t count = index.scan(round_down(f.leading_data_bytes()) / kEntrySize);
    index.capacity_ = count;
    if (writable) {
      // Cut whatever follows the last entry (stale bytes, a partial entry, room beyond
      // max_bytes) and grow back with zeros, so that a later reopen stops right after the last
      // entry appended from now on. A file holding more entries than max_bytes keeps them all.
      index.capacity_ = std::max(limit, count * kEntrySize) / kEntrySize;
      if (auto r = f.resize(count * kEntrySize); !r) return r.error();
      if (auto r = f.resize(index.capacity_ * kEntrySize); !r) return r.error();
    }
    index.count_.store(count, std::memory_order_relaxed);
    return index;
  }

  size_t entries() const noexcept { return count_.load(std::memory_order_acquire); }
  size_t max_entries() const noexcept { return capacity_; }
  bool full() const noexcept {
    return sealed_ || !file_.writable() || count_.load(std::memory_order_relaxed) >= capacity_;
  }
  Offset base_offset() const noexcept { return base_; }
  const std::filesystem::path& path() const noexcept { return file_.path(); }

  // Entry i, for i below a count this thread loaded from entries().
  Entry at(size_t i) const { return Layout::decode(file_.data() + i * kEntrySize, base_); }

  std::optional<Entry> last() const {
    const size_t n = entries();
    if (n == 0) return std::nullopt;
    return at(n - 1);
  }

  // The number of leading entries, among the first n, for which pred holds; the entries must be
  // partitioned by pred (true, then false). Binary search.
  template <class Pred>
  size_t partition_point(size_t n, Pred pred) const {
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (pred(at(mid))) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  // Order is checked before room, so a caller's bug shows as not_increasing even when full.
  [[nodiscard]] Result<void> append(const Entry& e) {
    if (!file_.writable()) return std::make_error_code(std::errc::bad_file_descriptor);
    const size_t n = count_.load(std::memory_order_relaxed);  // only this thread stores it
    if (n > 0 && !Layout::ordered(at(n - 1), e)) return Errc::not_increasing;
    if (auto ec = Layout::check_fits(e, base_)) return ec;
    if (sealed_ || n >= capacity_) return Errc::index_full;
    if (const size_t end = (n + 1) * kEntrySize; end > file_.reserved_bytes()) {
      // Allocate the file's blocks a step ahead: the file is sparse, and a store into a hole on
      // a full disk would raise SIGBUS. A full disk fails this append (an index entry is only a
      // hint) and leaves the log as it is.
      if (auto r = file_.reserve(std::min(capacity_ * kEntrySize, end + kReserveStep)); !r) {
        return r.error();
      }
    }
    Layout::encode(file_.data() + n * kEntrySize, e, base_);
    count_.store(n + 1, std::memory_order_release);
    return {};
  }

  // Keeps the first n entries. A writable file also gets the dropped entries' bytes zeroed, so
  // that entries appended later are not followed, on reopen, by stale ones.
  void truncate_to(size_t n) {
    const size_t old = count_.load(std::memory_order_relaxed);
    if (n >= old) return;
    count_.store(n, std::memory_order_release);
    if (file_.writable()) {
      std::memset(file_.data() + n * kEntrySize, 0, (old - n) * kEntrySize);
    }
  }

  // Shrinks a writable file to its entries and seals it. Calling it again after truncate_to
  // shrinks the file again. A read-only index is left as it is.
  [[nodiscard]] Result<void> trim() {
    if (!file_.writable()) return {};
    const size_t n = count_.load(std::memory_order_relaxed);
    if (auto r = file_.resize(n * kEntrySize); !r) return r.error();
    capacity_ = n;
    sealed_ = true;
    return {};
  }

  [[nodiscard]] Result<void> flush() {
    if (!file_.writable()) return {};
    return file_.sync(count_.load(std::memory_order_relaxed) * kEntrySize);
  }

  [[nodiscard]] Result<void> verify() const {
    const size_t n = entries();
    for (size_t i = 1; i < n; ++i) {
      if (!Layout::ordered(at(i - 1), at(i))) return Errc::corrupt;
    }
    return {};
  }

 private:
  static constexpr size_t kReserveStep = 64 * 1024;

  static size_t round_down(uint64_t bytes) noexcept {
    return static_cast<size_t>(bytes / kEntrySize * kEntrySize);
  }

  // The entries a file opened with `slots` whole entries holds: the first one, if any, and then
  // every one the Layout says continues the sequence.
  size_t scan(size_t slots) const {
    if (slots == 0) return 0;
    Entry prev = at(0);
    size_t n = 1;
    for (; n < slots; ++n) {
      const Entry next = at(n);
      if (!Layout::continues(prev, next, base_)) break;
      prev = next;
    }
    return n;
  }

  MappedFile file_;
  Offset base_;
  size_t capacity_ = 0;  // entries the file has room for; writer thread only
  bool sealed_ = false;  // set by trim(); writer thread only
  std::atomic<size_t> count_{0};
};

}  // namespace sluice::index::detail
