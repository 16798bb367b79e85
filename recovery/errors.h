#pragma once

#include <system_error>

namespace sluice::recovery {

// Why recovery cut a partition, or why a recovery file or command line was rejected. Errors of
// a single batch's bytes are segment::Errc; these are the facts only recovery can see.
enum class Errc {
  non_contiguous_offset = 1,  // a batch's base offset is not the previous batch's next offset
  negative_timestamp,         // a batch's first or max timestamp is below zero
  offset_overflow,            // a batch's offsets do not fit 32 bits relative to the segment
  segment_overlap,            // a segment starts before the previous one ends
  segment_gap,                // a segment starts after the previous one ends
  bad_checkpoint,             // a recovery point checkpoint file is malformed
  bad_partition_dir,          // a directory name is not <topic>-<partition>
  bad_topic_config,           // a partition's topic.properties is malformed or has bad values
  epoch_decreased,            // a batch's leader epoch is below the batch's before it
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace sluice::recovery

template <>
struct std::is_error_code_enum<sluice::recovery::Errc> : std::true_type {};
