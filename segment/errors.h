#pragma once

#include <system_error>

namespace sluice::segment {

// Why a batch or segment could not be read or written.
enum class Errc {
  truncated = 1,             // the buffer or file ends inside a batch
  bad_length,                // batch_length is smaller than a header or larger than allowed
  bad_magic,                 // unknown format version
  header_checksum_mismatch,  // base offset, length, epoch or magic damaged
  checksum_mismatch,         // attributes, timestamps or records damaged
  bad_record,                // a record's framing is inconsistent with its length
  record_count_mismatch,     // record_count, last_offset_delta and the records disagree
  unsupported_attributes,    // compression or flags this broker does not implement
  offset_out_of_range,       // an offset before the log start or after its end
  segment_full,              // the batch does not fit this segment; roll first
  negative_timestamp,        // a batch's first or max timestamp is below zero
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace sluice::segment

template <>
struct std::is_error_code_enum<sluice::segment::Errc> : std::true_type {};
