#include "segment/batch.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/endian.h"
#include "segment/errors.h"
#include "segment/format.h"

namespace sluice::segment {
namespace {

std::vector<std::byte> build(const std::vector<RecordInput>& records, Offset base = {0}) {
  BatchBuilder builder;
  builder.reset();
  for (const auto& r : records) builder.add(r);
  auto bytes = builder.finish();
  stamp_batch(bytes, base, 0);
  return {bytes.begin(), bytes.end()};
}

// Recomputes both checksums, so a test can craft a structurally bad but "intact" batch.
void reseal(std::vector<std::byte>& b) {
  store_le<uint64_t>(b.data() + kChecksumPos, checksum(std::span(b).subspan(kChecksummedFrom)));
  stamp_batch(b, {load_le<int64_t>(b.data())}, load_le<int32_t>(b.data() + kLeaderEpochPos));
}

std::vector<RecordView> decode_all(const std::vector<std::byte>& b) {
  std::vector<RecordView> out;
  RecordReader reader(b);
  while (auto r = reader.next()) out.push_back(*r);
  return out;
}

TEST(BatchTest, RoundTripKeepsNullEmptyAndLargeKeysAndValues) {
  const std::string large(300000, 'x');
  std::vector<RecordInput> in = {
      {std::nullopt, std::nullopt, {}, 1000},
      {std::string_view(""), std::string_view(""), {}, 1001},
      {std::string_view("k"), std::nullopt, {}, 999},
      {std::nullopt, std::string_view(large), {}, 5000},
  };
  auto b = build(in, {42});
  auto h = validate_batch(b);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->base_offset, Offset{42});
  EXPECT_EQ(h->record_count, 4);
  EXPECT_EQ(h->last_offset(), Offset{45});
  EXPECT_EQ(h->first_timestamp, 1000);
  EXPECT_EQ(h->max_timestamp, 5000);
  auto out = decode_all(b);
  ASSERT_EQ(out.size(), 4u);
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].offset, Offset{static_cast<int64_t>(42 + i)});
    EXPECT_EQ(out[i].key, in[i].key) << i;
    EXPECT_EQ(out[i].value, in[i].value) << i;
    EXPECT_EQ(out[i].timestamp_ms, in[i].timestamp_ms) << i;
  }
  EXPECT_FALSE(out[0].key.has_value());
  ASSERT_TRUE(out[1].key.has_value());
  EXPECT_TRUE(out[1].key->empty());
}

TEST(BatchTest, RoundTripKeepsHeadersIncludingNullAndBinaryValues) {
  const std::string binary("\0\x01\xff", 3);
  std::vector<HeaderView> headers = {
      {"trace", "abc"}, {"empty", ""}, {"null", std::nullopt}, {"bin", binary}};
  auto b = build({{"k", "v", headers, 7}});
  ASSERT_TRUE(validate_batch(b));
  auto out = decode_all(b);
  ASSERT_EQ(out.size(), 1u);
  std::vector<HeaderView> decoded;
  out[0].headers(decoded);
  EXPECT_EQ(decoded, headers);
}

TEST(BatchTest, BuilderIsReusableAcrossBatches) {
  BatchBuilder builder;
  for (int round = 0; round < 3; ++round) {
    builder.reset();
    for (int i = 0; i <= round; ++i) builder.add({"k", "value", {}, 1});
    auto bytes = builder.finish();
    auto h = validate_batch(bytes);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->record_count, round + 1);
  }
}

TEST(BatchTest, EverySingleByteCorruptionIsDetected) {
  std::vector<HeaderView> headers = {{"h", "v"}};
  const auto original = build({{"key", "value", headers, 10}, {std::nullopt, "x", {}, 11}}, {7});
  ASSERT_TRUE(validate_batch(original));
  for (size_t pos = 0; pos < original.size(); ++pos) {
    for (int delta = 1; delta < 256; ++delta) {
      auto damaged = original;
      damaged[pos] ^= static_cast<std::byte>(delta);
      EXPECT_FALSE(validate_batch(damaged)) << "pos " << pos << " xor " << delta;
    }
  }
}

TEST(BatchTest, ValidBatchSpansTheLeadingBatchAloneAndKeepsItsHeader) {
  auto two = build({{"a", "1", {}, 10}, {"b", "2", {}, 11}}, {5});
  const auto first_size = two.size();
  const auto second = build({{"c", "3", {}, 12}}, {7});
  two.insert(two.end(), second.begin(), second.end());
  auto valid = ValidBatch::check(two);
  ASSERT_TRUE(valid);
  EXPECT_EQ(valid->bytes().data(), two.data());
  EXPECT_EQ(valid->bytes().size(), first_size);
  EXPECT_EQ(valid->header().base_offset, Offset{5});
  EXPECT_EQ(valid->header().record_count, 2);
  auto next = ValidBatch::check(std::span(two).subspan(first_size));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->header().base_offset, Offset{7});

  two[first_size - 1] ^= std::byte{1};
  auto damaged = ValidBatch::check(two);
  ASSERT_FALSE(damaged);
  EXPECT_EQ(damaged.error(), Errc::checksum_mismatch);
}

TEST(BatchTest, DamageInHeaderIsToldApartFromDamageInPayload) {
  const auto original = build({{"key", "value", {}, 10}});
  for (size_t pos = 0; pos < original.size(); ++pos) {
    auto damaged = original;
    damaged[pos] ^= std::byte{0x40};
    auto r = validate_batch(damaged);
    ASSERT_FALSE(r);
    if (pos < kChecksumPos) {
      EXPECT_EQ(r.error(), Errc::header_checksum_mismatch) << pos;
    } else {
      EXPECT_EQ(r.error(), Errc::checksum_mismatch) << pos;
    }
  }
}

TEST(BatchTest, TruncatedBufferAtEveryLengthIsRejectedWithoutOverread) {
  const auto original = build({{"key", "value", {}, 10}, {"k2", "v2", {}, 12}});
  for (size_t len = 0; len < original.size(); ++len) {
    // An exact-size heap copy, so a sanitizer sees any read past its end.
    std::vector<std::byte> cut(original.begin(), original.begin() + static_cast<long>(len));
    auto r = validate_batch(cut);
    ASSERT_FALSE(r) << len;
    EXPECT_EQ(r.error(), Errc::truncated) << len;
  }
}

TEST(BatchTest, StampingChangesOffsetAndEpochButKeepsPayloadChecksum) {
  auto b = build({{"k", "v", {}, 1}});
  const auto before = load_le<uint64_t>(b.data() + kChecksumPos);
  stamp_batch(b, {1234567}, 9);
  auto h = validate_batch(b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->base_offset, Offset{1234567});
  EXPECT_EQ(h->leader_epoch, 9);
  EXPECT_EQ(h->checksum, before);
  EXPECT_EQ(decode_all(b).at(0).offset, Offset{1234567});
}

TEST(BatchTest, LogAppendTimeGivesEveryRecordTheBrokerTimestamp) {
  auto b = build({{"a", "1", {}, 5}, {"b", "2", {}, 6}});
  set_log_append_time(b, 999999);
  auto h = validate_batch(b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->timestamp_type(), TimestampType::log_append_time);
  EXPECT_EQ(h->max_timestamp, 999999);
  for (const auto& r : decode_all(b)) EXPECT_EQ(r.timestamp_ms, 999999);
}

TEST(BatchTest, UnknownMagicIsRejected) {
  auto b = build({{"k", "v", {}, 1}});
  b[kMagicPos] = std::byte{7};
  reseal(b);
  auto r = validate_batch(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::bad_magic);
}

TEST(BatchTest, LengthSmallerThanHeaderIsRejected) {
  auto b = build({{"k", "v", {}, 1}});
  store_le<int32_t>(b.data() + kBatchLengthPos, 3);
  reseal(b);
  auto r = validate_batch(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::bad_length);
}

TEST(BatchTest, CompressionIsRejectedAsUnsupported) {
  auto b = build({{"k", "v", {}, 1}});
  store_le<uint16_t>(b.data() + kAttributesPos, 1);  // gzip
  reseal(b);
  auto r = validate_batch(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::unsupported_attributes);
}

TEST(BatchTest, RecordCountThatDisagreesWithRecordsIsRejected) {
  auto b = build({{"k", "v", {}, 1}, {"k", "v", {}, 1}});
  store_le<int32_t>(b.data() + kRecordCountPos, 3);
  reseal(b);
  auto r = validate_batch(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::record_count_mismatch);

  auto fewer = build({{"k", "v", {}, 1}, {"k", "v", {}, 1}});
  store_le<int32_t>(fewer.data() + kRecordCountPos, 1);
  store_le<int32_t>(fewer.data() + kLastOffsetDeltaPos, 0);
  reseal(fewer);
  r = validate_batch(fewer);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::record_count_mismatch);
}

TEST(BatchTest, RecordLengthPastTheBatchIsRejectedEvenWithValidChecksums) {
  auto b = build({{"key", "value", {}, 1}});
  // The first record's length varint sits right after the header; claim 60 bytes.
  b[kBatchHeaderSize] = std::byte{120};  // zigzag(60)
  reseal(b);
  auto r = validate_batch(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::bad_record);
}

TEST(BatchTest, KeyLengthPastTheRecordIsRejected) {
  auto b = build({{"key", "value", {}, 1}});
  // length, attributes, ts delta, offset delta, then the key length varint.
  b[kBatchHeaderSize + 4] = std::byte{100};  // zigzag(50)
  reseal(b);
  auto r = validate_batch(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::bad_record);
}

// A producer's base offset is arbitrary until the broker stamps the batch (found by
// tests/fuzz/batch_fuzz.cc: INT64_MIN + a negative delta was signed overflow in the walk).
TEST(BatchTest, BuiltBatchCarriesTheHeaderValidationWouldGive) {
  BatchBuilder builder;
  builder.reset();
  builder.add({"a", "1", {}, 10});
  builder.add({"b", "2", {}, 12});
  auto bytes = builder.finish();
  const auto built = ValidBatch::built(bytes);
  const auto checked = ValidBatch::check(bytes);
  ASSERT_TRUE(checked);
  EXPECT_EQ(built.bytes().data(), bytes.data());
  EXPECT_EQ(built.bytes().size(), bytes.size());
  EXPECT_EQ(built.header().record_count, checked->header().record_count);
  EXPECT_EQ(built.header().max_timestamp, checked->header().max_timestamp);
  EXPECT_EQ(built.header().checksum, checked->header().checksum);
}

// Recovery cuts a log at a batch whose first or max timestamp is negative (as damage), so a
// client batch with one is refused before it can be stored and acknowledged.
TEST(BatchTest, ValidBatchRefusesNegativeFirstOrMaxTimestamps) {
  auto none = build({{"k", "v", {}, -1}});
  EXPECT_TRUE(validate_batch(none).has_value());
  auto refused = ValidBatch::check(none);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), Errc::negative_timestamp);
  auto first_only = build({{"k", "v", {}, -5}, {"k", "v", {}, 10}});  // first < 0, max >= 0
  EXPECT_EQ(ValidBatch::check(first_only).error(), Errc::negative_timestamp);
  auto fine = build({{"k", "v", {}, 0}, {"k", "v", {}, 10}});
  EXPECT_TRUE(ValidBatch::check(fine).has_value());
}

TEST(BatchTest, ExtremeClientBaseOffsetsAndTimestampsValidateAndStampNormally) {
  for (int64_t base : {INT64_MIN, INT64_MAX, int64_t{-1}}) {
    auto b = build({{"k", "v", {}, INT64_MAX}, {"k2", "v2", {}, INT64_MIN}}, Offset{base});
    auto header = validate_batch(b);
    ASSERT_TRUE(header.has_value()) << base;
    stamp_batch(b, Offset{42}, 0);
    ASSERT_TRUE(validate_batch(b).has_value()) << base;
    auto records = decode_all(b);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].offset, Offset{42});
    EXPECT_EQ(records[1].offset, Offset{43});
    EXPECT_EQ(records[0].timestamp_ms, INT64_MAX);
    EXPECT_EQ(records[1].timestamp_ms, INT64_MIN);
  }
}

TEST(BatchTest, ErrorCodesHaveReadableMessages) {
  for (int e = 1; e <= static_cast<int>(Errc::negative_timestamp); ++e) {
    std::error_code ec = static_cast<Errc>(e);
    EXPECT_EQ(ec.category().name(), std::string("segment"));
    EXPECT_NE(ec.message(), "unknown segment error") << e;
  }
}

}  // namespace
}  // namespace sluice::segment
