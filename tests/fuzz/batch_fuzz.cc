// libFuzzer target: raw record batches, as a producer sends them to the raw produce path.
//
// The input is used twice: as it is (header parsing and the checksum checks), and with its
// batch length and checksums fixed up, so that the fuzzer reaches the record walk behind the
// checksums. Whatever validation accepts must then be readable record by record, must stay
// valid after the broker stamps it, and must pass recovery's checks as stored.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "common/check.h"
#include "recovery/segment_scan.h"
#include "segment/batch.h"
#include "segment/format.h"
#include "tests/fuzz/seal.h"

namespace {

using namespace sluice;
using namespace sluice::segment;

// Checks what every accepted batch must satisfy.
void exercise(std::span<std::byte> bytes) {
  auto batch = ValidBatch::check(bytes);
  if (!batch) return;
  const BatchHeader header = batch->header();
  SLUICE_CHECK(batch->bytes().size() == header.size_bytes(), "a batch spans its own length");
  SLUICE_CHECK(batch->bytes().size() <= bytes.size(), "a batch lies inside its input");

  int32_t count = 0;
  std::vector<HeaderView> headers;
  RecordReader reader(batch->bytes());
  while (auto record = reader.next()) {
    record->headers(headers);
    SLUICE_CHECK(headers.size() == static_cast<size_t>(record->header_count),
                 "a record decodes the headers it declares");
    ++count;
  }
  SLUICE_CHECK(count == header.record_count, "a batch holds the records it declares");

  stamp_batch(batch->bytes(), Offset{1234}, 7);
  auto stamped = validate_batch(batch->bytes());
  SLUICE_CHECK(stamped.has_value(), "stamping keeps a batch valid");
  SLUICE_CHECK(stamped->base_offset == Offset{1234}, "stamping sets the base offset");
  // What the broker accepts and stores, recovery must keep: it cuts the log at a batch it
  // rejects, and everything after it.
  SLUICE_CHECK(recovery::check_batch(batch->bytes(), Offset{1234}, Offset{1234}).has_value(),
               "recovery keeps an accepted batch");
  set_log_append_time(batch->bytes(), 1'700'000'000'000);
  SLUICE_CHECK(validate_batch(batch->bytes()).has_value(), "log-append time keeps it valid");
  SLUICE_CHECK(recovery::check_batch(batch->bytes(), Offset{1234}, Offset{1234}).has_value(),
               "recovery keeps an accepted batch under log-append time");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::byte> bytes(size);
  if (size > 0) std::memcpy(bytes.data(), data, size);
  exercise(bytes);

  if (size < kBatchHeaderSize) return 0;
  std::memcpy(bytes.data(), data, size);
  fuzz::seal_batch(bytes);
  exercise(bytes);
  return 0;
}
