#include "broker/offsets_store.h"

#include <spdlog/spdlog.h>

#include <map>
#include <vector>

#include "broker/errors.h"
#include "segment/batch.h"

namespace sluice::broker {
namespace {

constexpr uint16_t kCommitFormatVersion = 0;

void put_u16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_string(std::string& out, std::string_view s) {
  put_u16(out, static_cast<uint16_t>(s.size()));
  out.append(s);
}

// Reads big-endian fields from a buffer, never past its end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  bool u16(uint16_t& v) {
    if (rest_.size() < 2) return false;
    v = static_cast<uint16_t>((byte(0) << 8) | byte(1));
    rest_.remove_prefix(2);
    return true;
  }
  bool u64(uint64_t& v) {
    if (rest_.size() < 8) return false;
    v = 0;
    for (size_t i = 0; i < 8; ++i) v = (v << 8) | byte(i);
    rest_.remove_prefix(8);
    return true;
  }
  bool string(std::string& s) {
    uint16_t n = 0;
    if (!u16(n) || rest_.size() < n) return false;
    s.assign(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return true;
  }
  bool done() const { return rest_.empty(); }

 private:
  unsigned byte(size_t i) const { return static_cast<unsigned char>(rest_[i]); }
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
  put_u16(out, kCommitFormatVersion);
  put_string(out, commit.group);
  put_string(out, commit.topic);
  put_u64(out, static_cast<uint32_t>(commit.partition));
  return out;
}

std::string encode_commit_value(const OffsetCommit& commit) {
  std::string out;
  put_u16(out, kCommitFormatVersion);
  put_u64(out, static_cast<uint64_t>(commit.offset));
  put_u64(out, static_cast<uint64_t>(commit.commit_time_ms));
  put_string(out, commit.metadata);
  return out;
}

std::optional<OffsetCommit> decode_commit(std::string_view key, std::string_view value) {
  OffsetCommit c;
  uint16_t version = 0;
  uint64_t partition = 0;
  Reader k(key);
  if (!k.u16(version) || version != kCommitFormatVersion || !k.string(c.group) ||
      !k.string(c.topic) || !k.u64(partition) || !k.done() || partition > INT32_MAX) {
    return std::nullopt;
  }
  c.partition = static_cast<int32_t>(partition);
  Reader v(value);
  uint64_t offset = 0;
  uint64_t time = 0;
  if (!v.u16(version) || version != kCommitFormatVersion || !v.u64(offset) || !v.u64(time) ||
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

Result<std::shared_ptr<PartitionLog>> OffsetsStore::append(std::string_view group,
                                                           std::span<const OffsetCommit> commits) {
  const int32_t partition = offsets_partition_for(group);
  auto log = registry_.partition(kOffsetsTopic, partition);
  if (!log && log.error() == Errc::topic_not_found) {
    // Commits must never be deleted by time or size; compaction is the intent (not yet acted on).
    const std::map<std::string, std::string> overrides = {
        {"cleanup.policy", "compact"}, {"retention.ms", "-1"}, {"retention.bytes", "-1"}};
    auto created = registry_.create_topic(kOffsetsTopic, kOffsetsTopicPartitions, overrides);
    if (!created && created.error() != Errc::topic_exists) return created.error();
    if (created) spdlog::info("created {} with {} partitions", kOffsetsTopic, created->partitions);
    log = registry_.partition(kOffsetsTopic, partition);
  }
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
