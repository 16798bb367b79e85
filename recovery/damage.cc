#include "recovery/damage.h"

#include <fcntl.h>
#include <fmt/format.h>

#include "common/file.h"
#include "recovery/quarantine.h"
#include "recovery/segment_scan.h"

namespace sluice::recovery {

std::string SegmentDamage::name() const { return fmt::format("{}-{}", topic, partition); }

std::optional<std::string> check_replacement(const SegmentDamage& damage,
                                             std::span<const std::byte> bytes) {
  if (damage.position > damage.file_size || bytes.size() != damage.file_size - damage.position) {
    return fmt::format("{} bytes where the damaged range holds {}", bytes.size(),
                       damage.file_size - std::min(damage.position, damage.file_size));
  }
  Offset next = damage.expected;
  uint64_t pos = 0;
  while (pos < bytes.size()) {
    auto header = check_batch(bytes.subspan(pos), next, damage.base);
    if (!header) {
      return fmt::format("a bad batch at position {}: {}", damage.position + pos,
                         header.error().message());
    }
    pos += header->size_bytes();
    next = header->next_offset();
  }
  if (next != damage.end) {
    return fmt::format("batches that end at offset {}, not at {} where the next segment begins",
                       next.value, damage.end.value);
  }
  return std::nullopt;
}

Result<void> write_replacement(const SegmentDamage& damage, std::span<const std::byte> bytes,
                               const std::string& note, int64_t now_ms) {
  QuarantineCut cut{
      fmt::format("{}; {}", damage.reason, note), damage.log_file, damage.position, {}};
  if (auto copied = quarantine(damage.quarantine_dir, cut, now_ms); !copied) {
    return copied.error();
  }
  auto file = File::open(damage.log_file, O_WRONLY);
  if (!file) return file.error();
  if (auto r = file->pwrite_all(bytes, damage.position); !r) return r;
  return file->datasync();
}

}  // namespace sluice::recovery
