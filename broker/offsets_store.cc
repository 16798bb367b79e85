#include "broker/offsets_store.h"

#include <spdlog/spdlog.h>

#include <map>
#include <vector>

#include "broker/errors.h"
#include "common/clock.h"
#include "segment/batch.h"

namespace sluice::broker {
namespace {

constexpr uint16_t kCommitFormatVersion = 0;
constexpr uint16_t kInstanceFormatVersion = 1;
// How an instance chose its partitions, in its record.
enum class Mode : uint8_t { none = 0, topics = 1, pattern = 2, manual = 3 };

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

std::string encode_instance_key(std::string_view group, std::string_view instance) {
  std::string out;
  put_le(out, kInstanceFormatVersion, 2);
  put_string(out, group);
  put_string(out, instance);
  return out;
}

std::string encode_instance_value(const InstanceState& state) {
  std::string out;
  const auto& c = state.config;
  put_le(out, kInstanceFormatVersion, 2);
  put_le(out, static_cast<uint8_t>(c.format), 1);
  put_le(out, static_cast<uint8_t>(c.reset), 1);
  put_le(out, c.auto_commit ? 1 : 0, 1);
  put_le(out, static_cast<uint64_t>(c.fetch_min_bytes), 8);
  put_le(out, static_cast<uint64_t>(c.request_timeout_ms.value_or(-1)), 8);
  if (state.manual) {
    put_le(out, static_cast<uint8_t>(Mode::manual), 1);
    put_le(out, state.assigned.size(), 4);
    for (const auto& tp : state.assigned) {
      put_string(out, tp.topic);
      put_le(out, static_cast<uint32_t>(tp.partition), 4);
    }
  } else if (!state.pattern.empty()) {
    put_le(out, static_cast<uint8_t>(Mode::pattern), 1);
    put_le(out, 1, 4);
    put_string(out, state.pattern);
  } else {
    put_le(out, static_cast<uint8_t>(state.topics.empty() ? Mode::none : Mode::topics), 1);
    put_le(out, state.topics.size(), 4);
    for (const auto& t : state.topics) put_string(out, t);
  }
  return out;
}

std::optional<InstanceRecord> decode_instance(std::string_view key,
                                              std::optional<std::string_view> value) {
  InstanceRecord r;
  uint16_t version = 0;
  Reader k(key);
  if (!k.le(version) || version != kInstanceFormatVersion || !k.string(r.group) ||
      !k.string(r.instance) || !k.done() || r.instance.empty()) {
    return std::nullopt;
  }
  if (!value) return r;  // a tombstone
  InstanceState s;
  s.config.name = r.instance;
  Reader v(*value);
  uint8_t format = 0;
  uint8_t reset = 0;
  uint8_t auto_commit = 0;
  uint64_t min_bytes = 0;
  uint64_t timeout = 0;
  uint8_t mode = 0;
  uint32_t count = 0;
  if (!v.le(version) || version != kInstanceFormatVersion || !v.le(format) || !v.le(reset) ||
      !v.le(auto_commit) || !v.le(min_bytes) || !v.le(timeout) || !v.le(mode) || !v.le(count) ||
      format > static_cast<uint8_t>(ConsumerFormat::json) ||
      reset > static_cast<uint8_t>(OffsetReset::none) || auto_commit > 1 ||
      mode > static_cast<uint8_t>(Mode::manual)) {
    return std::nullopt;
  }
  s.config.format = static_cast<ConsumerFormat>(format);
  s.config.reset = static_cast<OffsetReset>(reset);
  s.config.auto_commit = auto_commit == 1;
  s.config.fetch_min_bytes = static_cast<int64_t>(min_bytes);
  if (static_cast<int64_t>(timeout) >= 0)
    s.config.request_timeout_ms = static_cast<int64_t>(timeout);
  // Each entry takes at least two bytes: a count past what is left is a lie.
  if (count > value->size() / 2) return std::nullopt;
  switch (static_cast<Mode>(mode)) {
    case Mode::none:
      if (count != 0) return std::nullopt;
      break;
    case Mode::topics:
      for (uint32_t i = 0; i < count; ++i) {
        if (!v.string(s.topics.emplace_back())) return std::nullopt;
      }
      break;
    case Mode::pattern:
      if (count != 1 || !v.string(s.pattern) || s.pattern.empty()) return std::nullopt;
      break;
    case Mode::manual:
      s.manual = true;
      for (uint32_t i = 0; i < count; ++i) {
        TopicPartition tp;
        uint32_t partition = 0;
        if (!v.string(tp.topic) || !v.le(partition) || partition > INT32_MAX) return std::nullopt;
        tp.partition = static_cast<int32_t>(partition);
        s.assigned.push_back(std::move(tp));
      }
      break;
  }
  if (!v.done()) return std::nullopt;
  r.state = std::move(s);
  return r;
}

std::map<std::string, std::string> offsets_topic_overrides() {
  // Commits must never be deleted by time or size: ConsumerGroups::compact_offsets drops
  // only commits that a later one of the same group and partition replaced.
  return {{"cleanup.policy", "compact"},
          {"retention.ms", "-1"},
          {"retention.bytes", "-1"},
          {"segment.bytes", std::to_string(kOffsetsSegmentBytes)}};
}

Result<OffsetsStore::LoadResult> OffsetsStore::load(
    const std::function<void(OffsetCommit)>& on_commit,
    const std::function<void(InstanceRecord)>& on_instance,
    std::optional<int32_t> partition) const {
  LoadResult result;
  auto description = registry_.describe(kOffsetsTopic);
  if (!description) {
    if (description.error() == Errc::topic_not_found) return result;
    return description.error();
  }
  // One partition that this broker does not hold cannot be replayed as empty.
  if (partition && *partition >= description->partitions) return Errc::partition_not_found;
  for (int32_t p = 0; p < description->partitions; ++p) {
    if (partition && p != *partition) continue;
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
          if (!record->key) {
            ++result.skipped;
            continue;
          }
          if (auto commit =
                  record->value ? decode_commit(*record->key, *record->value) : std::nullopt) {
            ++result.commits;
            on_commit(std::move(*commit));
          } else if (auto instance = decode_instance(*record->key, record->value)) {
            ++result.instances;
            if (on_instance) on_instance(std::move(*instance));
          } else {
            ++result.skipped;
          }
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
  auto created = admin_.create_internal_topic(kOffsetsTopic, kOffsetsTopicPartitions,
                                              replication_factor_, offsets_topic_overrides());
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

Result<std::shared_ptr<PartitionLog>> OffsetsStore::append(const InstanceRecord& record) {
  return append(record.group, std::span(&record, 1));
}

Result<std::shared_ptr<PartitionLog>> OffsetsStore::append(
    std::string_view group, std::span<const InstanceRecord> records) {
  auto log = registry_.partition(kOffsetsTopic, offsets_partition_for(group));
  if (!log) return log.error();
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::vector<segment::RecordInput> inputs;
  const int64_t now = wall_clock_ms();
  for (const auto& r : records) {
    keys.push_back(encode_instance_key(r.group, r.instance));
    values.push_back(r.state ? encode_instance_value(*r.state) : std::string());
  }
  for (size_t i = 0; i < records.size(); ++i) {
    std::optional<std::string_view> value;
    if (records[i].state) value = values[i];
    inputs.push_back({keys[i], value, {}, now});
  }
  auto appended = (*log)->append(inputs);
  if (!appended) return appended.error();
  return *log;
}

}  // namespace sluice::broker
