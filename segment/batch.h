#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/types.h"
#include "segment/format.h"

namespace sluice::segment {

using sluice::TimestampType;

struct HeaderView {
  std::string_view key;
  std::optional<std::string_view> value;  // nullopt is a null value, distinct from empty
  bool operator==(const HeaderView&) const = default;
};

// One record to encode. Views must stay valid until BatchBuilder::add returns.
struct RecordInput {
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::span<const HeaderView> headers;
  int64_t timestamp_ms = 0;
};

// The fixed header of a batch, decoded.
struct BatchHeader {
  Offset base_offset;
  int32_t batch_length = 0;
  int32_t leader_epoch = 0;
  uint8_t magic = 0;
  uint32_t header_checksum = 0;
  uint64_t checksum = 0;
  uint16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t first_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;

  size_t size_bytes() const { return kLogOverhead + static_cast<size_t>(batch_length); }
  Offset last_offset() const { return {wrapping_add(base_offset.value, last_offset_delta)}; }
  Offset next_offset() const { return {wrapping_add(last_offset().value, 1)}; }
  TimestampType timestamp_type() const {
    return (attributes & kLogAppendTimeFlag) ? TimestampType::log_append_time
                                             : TimestampType::create_time;
  }
};

// One decoded record; views point into the batch's bytes.
struct RecordView {
  Offset offset;
  int64_t timestamp_ms = 0;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  int32_t header_count = 0;
  std::string_view headers_raw;  // the encoded headers; already validated

  // Decodes the headers into `out` (cleared first).
  void headers(std::vector<HeaderView>& out) const;
};

// Builds one batch at a time in a buffer that is reused across batches, so steady-state
// encoding allocates nothing. Not thread-safe.
class BatchBuilder {
 public:
  // Starts a batch; any unfinished one is discarded.
  void reset(TimestampType type = TimestampType::create_time, int64_t producer_id = -1,
             int16_t producer_epoch = -1, int32_t base_sequence = -1);
  void add(const RecordInput& record);
  // Makes room for a batch of about `bytes`, so that adding to it does not reallocate.
  void reserve(size_t bytes) { buf_.reserve(bytes); }
  // Writes the header (base offset 0, to be stamped) and checksums; the returned bytes stay
  // valid until the next reset(). Requires at least one record.
  std::span<std::byte> finish();

  int32_t record_count() const { return count_; }
  // Bytes of the batch if finished now.
  size_t size_bytes() const { return buf_.size(); }

 private:
  std::vector<std::byte> buf_;
  int32_t count_ = 0;
  int64_t first_timestamp_ = 0;
  int64_t max_timestamp_ = 0;
  TimestampType type_ = TimestampType::create_time;
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  int32_t base_sequence_ = -1;
};

// Parses and checks the fixed header only: size, magic, header checksum and a batch length
// that can hold a header. Does not look at the body, which may not be in `bytes` yet.
[[nodiscard]] Result<BatchHeader> parse_header(std::span<const std::byte> bytes);

// Checks a whole batch at the start of `bytes`: the header as above, the body present, the
// checksum, and every record's framing, offset delta and count. Never reads outside `bytes`.
[[nodiscard]] Result<BatchHeader> validate_batch(std::span<const std::byte> bytes);

// A batch that validate_batch accepted: exactly its bytes, and its header. check() is the only
// way to make one, so whoever takes a ValidBatch need not walk the records again.
class ValidBatch {
 public:
  // Validates the batch at the start of `bytes`, and that its first and max timestamps are not
  // negative (as recovery requires); the result spans that batch alone.
  [[nodiscard]] static Result<ValidBatch> check(std::span<std::byte> bytes);
  // A batch BatchBuilder::finish() just returned, valid by construction: only its header is
  // read.
  static ValidBatch built(std::span<std::byte> bytes);

  std::span<std::byte> bytes() const { return bytes_; }
  const BatchHeader& header() const { return header_; }

 private:
  ValidBatch(std::span<std::byte> bytes, const BatchHeader& header)
      : bytes_(bytes), header_(header) {}

  std::span<std::byte> bytes_;
  BatchHeader header_;
};

// Writes base offset and leader epoch into a batch and recomputes the header checksum; the
// payload checksum is untouched.
void stamp_batch(std::span<std::byte> batch, Offset base_offset, int32_t leader_epoch);

// Stamps a batch whose header is `header` for the log: base offset, leader epoch, and with
// `log_append_time_ms` >= 0 log-append time (as the two functions around this one do). Returns
// the stamped header without parsing the bytes again.
BatchHeader stamp_for_append(std::span<std::byte> batch, const BatchHeader& header, Offset base,
                             int32_t leader_epoch, int64_t log_append_time_ms);

// Switches a batch to log-append time with `now_ms` as its timestamp (as Kafka does) and
// recomputes its payload checksum.
void set_log_append_time(std::span<std::byte> batch, int64_t now_ms);

// Iterates the records of a batch that validate_batch accepted.
class RecordReader {
 public:
  explicit RecordReader(std::span<const std::byte> batch);
  // The next record, or nullopt after the last.
  std::optional<RecordView> next();

 private:
  BatchHeader header_;
  const std::byte* pos_;
  const std::byte* end_;
  int32_t index_ = 0;
};

uint64_t checksum(std::span<const std::byte> bytes) noexcept;

}  // namespace sluice::segment
