#include "index/time_index.h"

#include <utility>

namespace sluice::index {
Result<TimeIndex> TimeIndex::open(const std::filesystem::path& path, Offset base, size_t max_bytes,
                                  bool writable) {
  auto file = detail::IndexFile<TimeLayout>::open(path, base, max_bytes, writable);
  if (!file) return file.error();
  return TimeIndex(std::move(*file));
}

Result<void> TimeIndex::append(int64_t timestamp_ms, Offset offset) {
  return file_.append({timestamp_ms, offset});
}

std::optional<TimeEntry> TimeIndex::last_before(int64_t timestamp_ms) const {
  const size_t n = file_.entries();
  const size_t i = file_.partition_point(
      n, [timestamp_ms](const TimeEntry& e) { return e.timestamp_ms < timestamp_ms; });
  if (i == 0) return std::nullopt;
  return file_.at(i - 1);
}

std::optional<TimeEntry> TimeIndex::last() const { return file_.last(); }
size_t TimeIndex::entries() const { return file_.entries(); }
bool TimeIndex::full() const { return file_.full(); }
size_t TimeIndex::max_entries() const { return file_.max_entries(); }

void TimeIndex::truncate_to(Offset offset) {
  const size_t n = file_.entries();
  file_.truncate_to(
      file_.partition_point(n, [offset](const TimeEntry& e) { return e.offset < offset; }));
}

Result<void> TimeIndex::trim() { return file_.trim(); }
Result<void> TimeIndex::flush() { return file_.flush(); }
Result<void> TimeIndex::verify() const { return file_.verify(); }
Offset TimeIndex::base_offset() const { return file_.base_offset(); }
const std::filesystem::path& TimeIndex::path() const { return file_.path(); }

}  // namespace sluice::index
