#include "broker/offsets_store.h"

#include <spdlog/spdlog.h>

#include <map>
#include <vector>

#include "broker/errors.h"
#include "segment/batch.h"

namespace sluice::broker {
namespace {

constexpr uint16_t kCommitFormatVersion = 0;

// Appends v in `bytes` little-endian bytes.
void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_string(std::string& out, std::string_view s) {
  put_le(out, s.size(), 2);
  out.append(s);
}

// Reads little-endian fields from a buffer, never past its end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  template <class T>
  bool le(T& v) {
    if (rest_.size() < sizeof(T)) return false;
    uint64_t x = 0;
    for (size_t i = sizeof(T); i-- > 0;) x = (x << 8) | static_cast<unsigned char>(rest_[i]);
    v = static_cast<T>(x);
    rest_.remove_prefix(sizeof(T));
    return true;
  }
  bool string(std::string& s) {
    uint16_t n = 0;
    if (!le(n) || rest_.size() < n) return false;
    s.assign(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return true;
  }
  bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

}  // namespace

int32_t offsets_partition_for(std::string_view group) {
  uint32_t hash = 2166136261u;
  for (char c : group) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return static_cast<int32_t>(hash % kOffsetsTopicPartitions);
}

std::string encode_commit_key(const OffsetCommit& commit) {
  std::string out;
  put_le(out, kCommitFormatVersion, 2);
  put_string(out, commit.group);
  put_string(out, commit.topic);
  put_le(out, static_cast<uint32_t>(commit.partition), 4);
  return out;
}

std::string encode_commit_value(const OffsetCommit& commit) {
  std::string out;
  put_le(out, kCommitFormatVersion, 2);
  put_le(out, static_cast<uint64_t>(commit.offset), 8);
  put_le(out, static_cast<uint64_t>(commit.commit_time_ms), 8);
  put_string(out, commit.metadata);
  return out;
}

std::optional<OffsetCommit> decode_commit(std::string_view key, std::string_view value) {
  OffsetCommit c;
  uint16_t version = 0;
  uint32_t partition = 0;
  Reader k(key);
  if (!k.le(version) || version != kCommitFormatVersion || !k.string(c.group) ||
      !k.string(c.topic) || !k.le(partition) || !k.done() || partition > INT32_MAX) {
    return std::nullopt;
  }
  c.partition = static_cast<int32_t>(partition);
  Reader v(value);
  uint64_t offset = 0;
  uint64_t time = 0;
  if (!v.le(version) || version != kCommitFormatVersion || !v.le(offset) || !v.le(time) ||
      !v.string(c.metadata) || !v.done() || offset > INT64_MAX) {
    return std::nullopt;
  }
  c.offset = static_cast<int64_t>(offset);
  c.commit_time_ms = static_cast<int64_t>(time);
  return c;
}

Result<OffsetsStore::LoadResult> OffsetsStore::load(
    const std::function<void(OffsetCommit)>& apply) const {
  LoadResult result;
  auto description = registry_.describe(kOffsetsTopic);
  if (!description) {
    if (description.error() == Errc::topic_not_found) return result;
    return description.error();
  }
  for (int32_t p = 0; p < description->partitions; ++p) {
    auto log = registry_.partition(kOffsetsTopic, p);
    if (!log) return log.error();
    Offset next = (*log)->start_offset();
    while (next < (*log)->end_offset()) {
      auto slice = (*log)->read(next, 1 << 20);
      if (!slice) return slice.error();
      if (slice->empty()) break;
      auto bytes = slice->read();
      if (!bytes) return bytes.error();
      auto span = std::as_bytes(std::span(*bytes));
      while (!span.empty()) {
        auto header = segment::validate_batch(span);
        if (!header) return header.error();
        segment::RecordReader reader(span.first(header->size_bytes()));
        while (auto record = reader.next()) {
          if (record->offset < next) continue;
          auto commit = record->key && record->value ? decode_commit(*record->key, *record->value)
                                                     : std::nullopt;
          if (!commit) {
            ++result.skipped;
            continue;
          }
          ++result.commits;
          apply(std::move(*commit));
        }
        span = span.subspan(header->size_bytes());
      }
      next = slice->next_offset;
    }
  }
  return result;
}

bool OffsetsStore::has_topic() const { return registry_.partitions(kOffsetsTopic).has_value(); }

Result<void> OffsetsStore::ensure_topic() {
  if (has_topic()) return {};
  // Commits must never be deleted by time or size: ConsumerGroups::compact_offsets drops
  // only commits that a later one of the same group and partition replaced.
  const std::map<std::string, std::string> overrides = {
      {"cleanup.policy", "compact"},
      {"retention.ms", "-1"},
      {"retention.bytes", "-1"},
      {"segment.bytes", std::to_string(kOffsetsSegmentBytes)}};
  auto created = registry_.create_internal_topic(kOffsetsTopic, kOffsetsTopicPartitions, overrides);
  if (!created && created.error() != Errc::topic_exists) return created.error().code();
  if (created) spdlog::info("created {} with {} partitions", kOffsetsTopic, created->partitions);
  return {};
}

Result<std::shared_ptr<PartitionLog>> OffsetsStore::append(std::string_view group,
                                                           std::span<const OffsetCommit> commits) {
  auto log = registry_.partition(kOffsetsTopic, offsets_partition_for(group));
  if (!log) return log.error();
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::vector<segment::RecordInput> records;
  keys.reserve(commits.size());
  values.reserve(commits.size());
  for (const auto& c : commits) {
    keys.push_back(encode_commit_key(c));
    values.push_back(encode_commit_value(c));
  }
  for (size_t i = 0; i < commits.size(); ++i) {
    records.push_back({keys[i], values[i], {}, commits[i].commit_time_ms});
  }
  auto appended = (*log)->append(records);
  if (!appended) return appended.error();
  return *log;
}

}  // namespace sluice::broker
