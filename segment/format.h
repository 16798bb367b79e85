#pragma once

// The bytes of a record batch, as stored in .log files and sent as application/vnd.sluice.batch.
// docs/FORMAT.md says the same in prose; change both together. All integers are little-endian.
//
//   pos  size  field              covered by
//   0    8     base_offset        header_checksum   (stamped by the broker)
//   8    4     batch_length       header_checksum   bytes after this field
//   12   4     leader_epoch       header_checksum   (stamped by the broker)
//   16   1     magic              header_checksum
//   17   4     header_checksum    -                 low 32 bits of XXH3-64 over [0, 17)
//   21   8     checksum           -                 XXH3-64 over [29, end of batch)
//   29   2     attributes         checksum
//   31   4     last_offset_delta  checksum
//   35   8     first_timestamp    checksum
//   43   8     max_timestamp      checksum
//   51   8     producer_id        checksum
//   59   2     producer_epoch     checksum
//   61   4     base_sequence      checksum
//   65   4     record_count       checksum
//   69   ...   records            checksum
//
// Each record uses Kafka v2's framing: zigzag varint length (bytes that follow), int8
// attributes, varlong timestamp delta, varint offset delta, varint key length (-1 = null) and
// key, varint value length (-1 = null) and value, varint header count, and per header a varint
// key length and key, varint value length (-1 = null) and value.

#include <cstddef>
#include <cstdint>

namespace sluice::segment {

inline constexpr uint8_t kMagic = 2;

inline constexpr size_t kBaseOffsetPos = 0;
inline constexpr size_t kBatchLengthPos = 8;
inline constexpr size_t kLeaderEpochPos = 12;
inline constexpr size_t kMagicPos = 16;
inline constexpr size_t kHeaderChecksumPos = 17;
inline constexpr size_t kChecksumPos = 21;
inline constexpr size_t kAttributesPos = 29;
inline constexpr size_t kLastOffsetDeltaPos = 31;
inline constexpr size_t kFirstTimestampPos = 35;
inline constexpr size_t kMaxTimestampPos = 43;
inline constexpr size_t kProducerIdPos = 51;
inline constexpr size_t kProducerEpochPos = 59;
inline constexpr size_t kBaseSequencePos = 61;
inline constexpr size_t kRecordCountPos = 65;
inline constexpr size_t kBatchHeaderSize = 69;

// base_offset and batch_length: the bytes not counted by batch_length.
inline constexpr size_t kLogOverhead = 12;
// The header checksum covers [0, kHeaderChecksumPos); the checksum [kChecksummedFrom, end).
inline constexpr size_t kChecksummedFrom = kAttributesPos;

static_assert(kBatchLengthPos == kBaseOffsetPos + 8);
static_assert(kLeaderEpochPos == kBatchLengthPos + 4);
static_assert(kMagicPos == kLeaderEpochPos + 4);
static_assert(kHeaderChecksumPos == kMagicPos + 1);
static_assert(kChecksumPos == kHeaderChecksumPos + 4);
static_assert(kAttributesPos == kChecksumPos + 8);
static_assert(kLastOffsetDeltaPos == kAttributesPos + 2);
static_assert(kFirstTimestampPos == kLastOffsetDeltaPos + 4);
static_assert(kMaxTimestampPos == kFirstTimestampPos + 8);
static_assert(kProducerIdPos == kMaxTimestampPos + 8);
static_assert(kProducerEpochPos == kProducerIdPos + 8);
static_assert(kBaseSequencePos == kProducerEpochPos + 2);
static_assert(kRecordCountPos == kBaseSequencePos + 4);
static_assert(kBatchHeaderSize == kRecordCountPos + 4);
static_assert(kLogOverhead == kLeaderEpochPos);

// Attributes: bits 0-2 compression (only 0, none, is accepted), bit 3 timestamp type.
inline constexpr uint16_t kCompressionMask = 0x7;
inline constexpr uint16_t kLogAppendTimeFlag = 0x8;
inline constexpr uint16_t kKnownAttributes = kCompressionMask | kLogAppendTimeFlag;

// The smallest record: length, attributes, timestamp delta, offset delta, key length,
// value length and header count, one byte each.
inline constexpr size_t kMinRecordSize = 7;
// A varint of a 32-bit field takes at most 5 bytes; of a 64-bit field at most 10.
inline constexpr size_t kMaxVarint32Bytes = 5;
inline constexpr size_t kMaxVarint64Bytes = 10;

}  // namespace sluice::segment
