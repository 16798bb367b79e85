#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "perf/load/options.h"
#include "segment/batch.h"

namespace sluice::load {

// A time stamp inside a record value: 'T' and 19 decimal digits of nanoseconds since the run
// started (the producer and the fetcher are one process, so one steady clock serves both).
inline constexpr size_t kStampSize = 20;

// Request line, Content-Type and body of one produce request in Options::format.
std::string produce_target(const Options& o, int partition, std::string_view cluster_id);
std::string_view produce_content_type(std::string_view format);

// Fills `out` with a body of records_per_request records of record_size value bytes each, for
// `partition`; with a stamp, every value starts with it. `builder` is reused for raw batches.
void build_produce_body(const Options& o, int partition, std::optional<uint64_t> stamp_ns,
                        segment::BatchBuilder& builder, std::string& out);

// The stamp at the start of a stored value (after the opening quote of a JSON string value).
std::optional<uint64_t> read_stamp(std::string_view value);

// Counts the records and finds the stamps of the raw batches in a fetch reply; calls
// on_stamp(ns) for every stamped record. Returns the record count, or nullopt if a batch is
// malformed.
template <class F>
std::optional<uint64_t> scan_raw_batches(std::string_view body, F&& on_stamp) {
  auto bytes = std::as_bytes(std::span(body.data(), body.size()));
  uint64_t records = 0;
  for (size_t pos = 0; pos < bytes.size();) {
    auto header = segment::validate_batch(bytes.subspan(pos));
    if (!header) return std::nullopt;
    segment::RecordReader reader(bytes.subspan(pos, header->size_bytes()));
    while (auto record = reader.next()) {
      ++records;
      if (record->value) {
        if (auto stamp = read_stamp(*record->value)) on_stamp(*stamp);
      }
    }
    pos += header->size_bytes();
  }
  return records;
}

}  // namespace sluice::load
