#include "segment/batch.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/check.h"
#include "common/endian.h"
#include "segment/detail/varint.h"
#include "segment/errors.h"

namespace sluice::segment {
namespace {

using detail::read_varint;
using detail::varint_size;
using detail::write_varint;

uint32_t header_checksum(const std::byte* batch) noexcept {
  return static_cast<uint32_t>(XXH3_64bits(batch, kHeaderChecksumPos));
}

size_t bytes_field_size(const std::optional<std::string_view>& v) {
  return v ? varint_size(static_cast<int64_t>(v->size())) + v->size() : varint_size(-1);
}

std::byte* write_bytes_field(std::byte* p, const std::optional<std::string_view>& v) {
  if (!v) return write_varint(p, -1);
  p = write_varint(p, static_cast<int64_t>(v->size()));
  if (!v->empty()) std::memcpy(p, v->data(), v->size());
  return p + v->size();
}

// Reads a length-prefixed byte string; -1 is null. Never reads past end.
bool read_bytes_field(const std::byte*& p, const std::byte* end,
                      std::optional<std::string_view>& out) {
  int64_t len = 0;
  if (!read_varint(p, end, kMaxVarint32Bytes, len)) return false;
  if (len == -1) {
    out.reset();
    return true;
  }
  if (len < 0 || len > end - p) return false;
  out.emplace(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
  p += len;
  return true;
}

// Parses one record at p within [p, end); on success p is past it. Checks every length
// against the record's own length and the record's length against end.
bool parse_record(const std::byte*& p, const std::byte* end, int64_t first_timestamp, Offset base,
                  RecordView& out, int64_t& offset_delta) {
  int64_t len = 0;
  if (!read_varint(p, end, kMaxVarint32Bytes, len)) return false;
  if (len < static_cast<int64_t>(kMinRecordSize) - 1 || len > end - p) return false;
  const std::byte* rec_end = p + len;
  ++p;  // attributes: unused in v2 records
  int64_t ts_delta = 0;
  if (!read_varint(p, rec_end, kMaxVarint64Bytes, ts_delta)) return false;
  if (!read_varint(p, rec_end, kMaxVarint32Bytes, offset_delta)) return false;
  if (!read_bytes_field(p, rec_end, out.key)) return false;
  if (!read_bytes_field(p, rec_end, out.value)) return false;
  int64_t header_count = 0;
  if (!read_varint(p, rec_end, kMaxVarint32Bytes, header_count)) return false;
  if (header_count < 0 || header_count > rec_end - p) return false;
  const std::byte* headers_begin = p;
  for (int64_t i = 0; i < header_count; ++i) {
    std::optional<std::string_view> key;
    std::optional<std::string_view> value;
    if (!read_bytes_field(p, rec_end, key) || !key) return false;
    if (!read_bytes_field(p, rec_end, value)) return false;
  }
  if (p != rec_end) return false;
  // A client's base offset is arbitrary until the broker stamps the batch.
  out.offset = {wrapping_add(base.value, offset_delta)};
  out.timestamp_ms = wrapping_add(first_timestamp, ts_delta);
  out.header_count = static_cast<int32_t>(header_count);
  out.headers_raw = {reinterpret_cast<const char*>(headers_begin),
                     static_cast<size_t>(rec_end - headers_begin)};
  return true;
}

BatchHeader read_header(const std::byte* b) {
  BatchHeader h;
  h.base_offset = {load_le<int64_t>(b + kBaseOffsetPos)};
  h.batch_length = load_le<int32_t>(b + kBatchLengthPos);
  h.leader_epoch = load_le<int32_t>(b + kLeaderEpochPos);
  h.magic = load_le<uint8_t>(b + kMagicPos);
  h.header_checksum = load_le<uint32_t>(b + kHeaderChecksumPos);
  h.checksum = load_le<uint64_t>(b + kChecksumPos);
  h.attributes = load_le<uint16_t>(b + kAttributesPos);
  h.last_offset_delta = load_le<int32_t>(b + kLastOffsetDeltaPos);
  h.first_timestamp = load_le<int64_t>(b + kFirstTimestampPos);
  h.max_timestamp = load_le<int64_t>(b + kMaxTimestampPos);
  h.producer_id = load_le<int64_t>(b + kProducerIdPos);
  h.producer_epoch = load_le<int16_t>(b + kProducerEpochPos);
  h.base_sequence = load_le<int32_t>(b + kBaseSequencePos);
  h.record_count = load_le<int32_t>(b + kRecordCountPos);
  return h;
}

}  // namespace

uint64_t checksum(std::span<const std::byte> bytes) noexcept {
  return XXH3_64bits(bytes.data(), bytes.size());
}

void RecordView::headers(std::vector<HeaderView>& out) const {
  out.clear();
  const auto* p = reinterpret_cast<const std::byte*>(headers_raw.data());
  const auto* end = p + headers_raw.size();
  for (int32_t i = 0; i < header_count; ++i) {
    std::optional<std::string_view> name;
    HeaderView h;
    if (!read_bytes_field(p, end, name) || !name || !read_bytes_field(p, end, h.value)) return;
    h.key = *name;
    out.push_back(h);
  }
}

void BatchBuilder::reset(TimestampType type, int64_t producer_id, int16_t producer_epoch,
                         int32_t base_sequence) {
  buf_.resize(kBatchHeaderSize);
  count_ = 0;
  first_timestamp_ = 0;
  max_timestamp_ = 0;
  type_ = type;
  producer_id_ = producer_id;
  producer_epoch_ = producer_epoch;
  base_sequence_ = base_sequence;
}

void BatchBuilder::add(const RecordInput& record) {
  if (buf_.size() < kBatchHeaderSize) reset();
  if (count_ == 0) {
    first_timestamp_ = record.timestamp_ms;
    max_timestamp_ = record.timestamp_ms;
  }
  max_timestamp_ = std::max(max_timestamp_, record.timestamp_ms);
  const int64_t ts_delta = static_cast<int64_t>(static_cast<uint64_t>(record.timestamp_ms) -
                                                static_cast<uint64_t>(first_timestamp_));
  size_t body = 1 + varint_size(ts_delta) + varint_size(count_) + bytes_field_size(record.key) +
                bytes_field_size(record.value) +
                varint_size(static_cast<int64_t>(record.headers.size()));
  for (const auto& h : record.headers) {
    body += bytes_field_size(h.key) + bytes_field_size(h.value);
  }
  const size_t old = buf_.size();
  buf_.resize(old + varint_size(static_cast<int64_t>(body)) + body);
  std::byte* p = buf_.data() + old;
  p = write_varint(p, static_cast<int64_t>(body));
  *p++ = std::byte{0};
  p = write_varint(p, ts_delta);
  p = write_varint(p, count_);
  p = write_bytes_field(p, record.key);
  p = write_bytes_field(p, record.value);
  p = write_varint(p, static_cast<int64_t>(record.headers.size()));
  for (const auto& h : record.headers) {
    p = write_bytes_field(p, h.key);
    p = write_bytes_field(p, h.value);
  }
  SLUICE_CHECK(p == buf_.data() + buf_.size(), "record size miscomputed");
  ++count_;
}

std::span<std::byte> BatchBuilder::finish() {
  SLUICE_CHECK(count_ > 0, "a batch needs at least one record");
  SLUICE_CHECK(buf_.size() - kLogOverhead <= std::numeric_limits<int32_t>::max(),
               "batch of {} bytes", buf_.size());
  std::byte* b = buf_.data();
  store_le<int64_t>(b + kBaseOffsetPos, 0);
  store_le<int32_t>(b + kBatchLengthPos, static_cast<int32_t>(buf_.size() - kLogOverhead));
  store_le<int32_t>(b + kLeaderEpochPos, 0);
  store_le<uint8_t>(b + kMagicPos, kMagic);
  store_le<uint16_t>(b + kAttributesPos,
                     type_ == TimestampType::log_append_time ? kLogAppendTimeFlag : 0);
  store_le<int32_t>(b + kLastOffsetDeltaPos, count_ - 1);
  store_le<int64_t>(b + kFirstTimestampPos, first_timestamp_);
  store_le<int64_t>(b + kMaxTimestampPos, max_timestamp_);
  store_le<int64_t>(b + kProducerIdPos, producer_id_);
  store_le<int16_t>(b + kProducerEpochPos, producer_epoch_);
  store_le<int32_t>(b + kBaseSequencePos, base_sequence_);
  store_le<int32_t>(b + kRecordCountPos, count_);
  store_le<uint64_t>(b + kChecksumPos, checksum(std::span(buf_).subspan(kChecksummedFrom)));
  store_le<uint32_t>(b + kHeaderChecksumPos, header_checksum(b));
  return buf_;
}

Result<BatchHeader> parse_header(std::span<const std::byte> bytes) {
  if (bytes.size() < kBatchHeaderSize) return Errc::truncated;
  const std::byte* b = bytes.data();
  // Header checksum first: a torn or zeroed header then reads as damage, not as a new format.
  if (load_le<uint32_t>(b + kHeaderChecksumPos) != header_checksum(b)) {
    return Errc::header_checksum_mismatch;
  }
  BatchHeader h = read_header(b);
  if (h.magic != kMagic) return Errc::bad_magic;
  if (h.batch_length < static_cast<int32_t>(kBatchHeaderSize - kLogOverhead)) {
    return Errc::bad_length;
  }
  return h;
}

Result<BatchHeader> validate_batch(std::span<const std::byte> bytes) {
  auto h = parse_header(bytes);
  if (!h) return h;
  if (h->size_bytes() > bytes.size()) return Errc::truncated;
  const auto batch = bytes.first(h->size_bytes());
  if (checksum(batch.subspan(kChecksummedFrom)) != h->checksum) return Errc::checksum_mismatch;
  if ((h->attributes & ~kKnownAttributes) != 0 || (h->attributes & kCompressionMask) != 0) {
    return Errc::unsupported_attributes;
  }
  if (h->record_count < 1 || h->last_offset_delta != h->record_count - 1) {
    return Errc::record_count_mismatch;
  }
  const std::byte* p = batch.data() + kBatchHeaderSize;
  const std::byte* end = batch.data() + batch.size();
  RecordView record;
  for (int32_t i = 0; i < h->record_count; ++i) {
    int64_t offset_delta = 0;
    if (p == end) return Errc::record_count_mismatch;
    if (!parse_record(p, end, h->first_timestamp, h->base_offset, record, offset_delta)) {
      return Errc::bad_record;
    }
    if (offset_delta != i) return Errc::bad_record;
  }
  if (p != end) return Errc::record_count_mismatch;
  return h;
}

Result<ValidBatch> ValidBatch::check(std::span<std::byte> bytes) {
  auto header = validate_batch(bytes);
  if (!header) return header.error();
  // Recovery takes such a batch for damage and cuts the log there, so it is never stored.
  if (header->first_timestamp < 0 || header->max_timestamp < 0) return Errc::negative_timestamp;
  return ValidBatch(bytes.first(header->size_bytes()), *header);
}

ValidBatch ValidBatch::built(std::span<std::byte> bytes) {
  auto header = parse_header(bytes);
  SLUICE_CHECK(header.has_value() && header->size_bytes() == bytes.size(),
               "a built batch of {} bytes does not parse", bytes.size());
  return ValidBatch(bytes, *header);
}

void stamp_batch(std::span<std::byte> batch, Offset base_offset, int32_t leader_epoch) {
  SLUICE_CHECK(batch.size() >= kBatchHeaderSize, "stamping a {}-byte batch", batch.size());
  std::byte* b = batch.data();
  store_le<int64_t>(b + kBaseOffsetPos, base_offset.value);
  store_le<int32_t>(b + kLeaderEpochPos, leader_epoch);
  store_le<uint32_t>(b + kHeaderChecksumPos, header_checksum(b));
}

void set_log_append_time(std::span<std::byte> batch, int64_t now_ms) {
  SLUICE_CHECK(batch.size() >= kBatchHeaderSize, "stamping a {}-byte batch", batch.size());
  std::byte* b = batch.data();
  const auto attributes = load_le<uint16_t>(b + kAttributesPos);
  store_le<uint16_t>(b + kAttributesPos, attributes | kLogAppendTimeFlag);
  store_le<int64_t>(b + kMaxTimestampPos, now_ms);
  store_le<uint64_t>(b + kChecksumPos, checksum(batch.subspan(kChecksummedFrom)));
}

BatchHeader stamp_for_append(std::span<std::byte> batch, const BatchHeader& header, Offset base,
                             int32_t leader_epoch, int64_t log_append_time_ms) {
  stamp_batch(batch, base, leader_epoch);
  BatchHeader stamped = header;
  stamped.base_offset = base;
  stamped.leader_epoch = leader_epoch;
  stamped.header_checksum = load_le<uint32_t>(batch.data() + kHeaderChecksumPos);
  if (log_append_time_ms >= 0) {
    set_log_append_time(batch, log_append_time_ms);
    stamped.attributes |= kLogAppendTimeFlag;
    stamped.max_timestamp = log_append_time_ms;
    stamped.checksum = load_le<uint64_t>(batch.data() + kChecksumPos);
  }
  return stamped;
}

RecordReader::RecordReader(std::span<const std::byte> batch)
    : header_(read_header(batch.data())),
      pos_(batch.data() + kBatchHeaderSize),
      end_(batch.data() + std::min(batch.size(), header_.size_bytes())) {}

std::optional<RecordView> RecordReader::next() {
  if (index_ >= header_.record_count || pos_ >= end_) return std::nullopt;
  RecordView r;
  int64_t offset_delta = 0;
  if (!parse_record(pos_, end_, header_.first_timestamp, header_.base_offset, r, offset_delta)) {
    pos_ = end_;
    return std::nullopt;
  }
  if (header_.timestamp_type() == TimestampType::log_append_time) {
    r.timestamp_ms = header_.max_timestamp;
  }
  ++index_;
  return r;
}

}  // namespace sluice::segment
