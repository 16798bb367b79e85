#include "recovery/dump.h"

#include <span>
#include <string_view>

#include "common/file.h"
#include "index/format.h"
#include "segment/batch.h"
#include "segment/segment.h"

namespace sluice::recovery {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> copy(const std::optional<std::string_view>& s) {
  return s ? std::optional<std::string>(*s) : std::nullopt;
}

std::vector<DumpedRecord> records_of(std::span<const std::byte> batch) {
  std::vector<DumpedRecord> out;
  segment::RecordReader reader(batch);
  std::vector<segment::HeaderView> headers;
  while (auto r = reader.next()) {
    DumpedRecord rec{r->offset, r->timestamp_ms, copy(r->key), copy(r->value), {}};
    r->headers(headers);
    for (const auto& h : headers) rec.headers.emplace_back(std::string(h.key), copy(h.value));
    out.push_back(std::move(rec));
  }
  return out;
}

void dump_log(std::string_view bytes, bool with_records, FileDump& out) {
  const std::span data(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
  uint64_t pos = 0;
  while (pos < data.size()) {
    auto h = segment::validate_batch(data.subspan(pos));
    if (!h) {
      out.defect = FileDump::Defect{pos, h.error().message()};
      return;
    }
    DumpedBatch batch{pos, *h, {}};
    if (with_records) batch.records = records_of(data.subspan(pos, h->size_bytes()));
    out.batches.push_back(std::move(batch));
    pos += h->size_bytes();
  }
}

template <class Layout>
void dump_index(std::string_view bytes, Offset base, std::vector<typename Layout::Entry>& entries,
                std::optional<FileDump::Defect>& defect) {
  const auto* p = reinterpret_cast<const std::byte*>(bytes.data());
  const size_t slots = bytes.size() / Layout::kEntrySize;
  for (size_t i = 0; i < slots; ++i) {
    const auto e = Layout::decode(p + i * Layout::kEntrySize, base);
    if (!entries.empty() && !Layout::continues(entries.back(), e, base)) break;
    if (!entries.empty() && !Layout::ordered(entries.back(), e)) {
      defect = FileDump::Defect{i * Layout::kEntrySize, "index entries out of order"};
      return;
    }
    entries.push_back(e);
  }
  if (bytes.size() % Layout::kEntrySize != 0) {
    defect = FileDump::Defect{slots * Layout::kEntrySize, "partial entry"};
  }
}

}  // namespace

std::optional<DumpKind> dump_kind(const fs::path& file) {
  const std::string ext = file.extension().string();
  if (ext == segment::kLogSuffix) return DumpKind::log;
  if (ext == segment::kIndexSuffix) return DumpKind::offset_index;
  if (ext == segment::kTimeIndexSuffix) return DumpKind::time_index;
  return std::nullopt;
}

Result<FileDump> dump_file(const fs::path& file, DumpKind kind, bool with_records) {
  auto bytes = read_file(file);
  if (!bytes) return bytes.error();
  FileDump out;
  out.kind = kind;
  const std::string name = file.filename().string();
  const std::string ext = file.extension().string();
  const Offset base = segment::parse_segment_file_name(name, ext).value_or(Offset{0});
  switch (kind) {
    case DumpKind::log:
      dump_log(*bytes, with_records, out);
      break;
    case DumpKind::offset_index:
      dump_index<index::OffsetLayout>(*bytes, base, out.offsets, out.defect);
      break;
    case DumpKind::time_index:
      dump_index<index::TimeLayout>(*bytes, base, out.times, out.defect);
      break;
  }
  return out;
}

}  // namespace sluice::recovery
