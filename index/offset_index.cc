#include "index/offset_index.h"

#include <utility>

namespace sluice::index {
Result<OffsetIndex> OffsetIndex::open(const std::filesystem::path& path, Offset base,
                                      size_t max_bytes, bool writable) {
  auto file = detail::IndexFile<OffsetLayout>::open(path, base, max_bytes, writable);
  if (!file) return file.error();
  return OffsetIndex(std::move(*file));
}

Result<void> OffsetIndex::append(Offset offset, FilePos position) {
  return file_.append({offset, position});
}

std::optional<OffsetEntry> OffsetIndex::floor(Offset target) const {
  const size_t n = file_.entries();
  const size_t i =
      file_.partition_point(n, [target](const OffsetEntry& e) { return e.offset <= target; });
  if (i == 0) return std::nullopt;
  return file_.at(i - 1);
}

std::optional<OffsetEntry> OffsetIndex::floor_position(FilePos target) const {
  const size_t n = file_.entries();
  const size_t i =
      file_.partition_point(n, [target](const OffsetEntry& e) { return e.position <= target; });
  if (i == 0) return std::nullopt;
  return file_.at(i - 1);
}

std::optional<OffsetEntry> OffsetIndex::last() const { return file_.last(); }
size_t OffsetIndex::entries() const { return file_.entries(); }
bool OffsetIndex::full() const { return file_.full(); }
size_t OffsetIndex::max_entries() const { return file_.max_entries(); }

void OffsetIndex::truncate_to(Offset offset) {
  const size_t n = file_.entries();
  file_.truncate_to(
      file_.partition_point(n, [offset](const OffsetEntry& e) { return e.offset < offset; }));
}

Result<void> OffsetIndex::trim() { return file_.trim(); }
Result<void> OffsetIndex::flush() { return file_.flush(); }
Result<void> OffsetIndex::verify() const { return file_.verify(); }
Offset OffsetIndex::base_offset() const { return file_.base_offset(); }
const std::filesystem::path& OffsetIndex::path() const { return file_.path(); }

}  // namespace sluice::index
