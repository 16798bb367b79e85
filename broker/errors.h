#pragma once

#include <system_error>

namespace sluice::broker {

enum class Errc {
  offset_out_of_range = 1,  // before the log start or after the end
  topic_not_found,
  partition_not_found,
  topic_exists,
  invalid_topic_name,
  invalid_partition_count,
  invalid_config,
  empty_batch,       // an append with no records
  record_too_large,  // a batch larger than max.message.bytes
  shutting_down,
  log_offline,     // an fdatasync failed: what reached the disk is unknown, so no more writes
  internal_topic,  // a client asked to write, create, delete or reconfigure an internal topic
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// Refusals of the consumer-group API (ConsumerGroups).
enum class ConsumerErrc {
  instance_not_found = 1,  // no such group or instance
  instance_exists,
  illegal_state,    // subscription and assignment together; unassigned partition; no offset
  invalid_pattern,  // topic_pattern is not a valid RE2 pattern, or too long
  invalid_offset,   // commit outside [log start, end], or a negative seek
};

const std::error_category& consumer_error_category() noexcept;

inline std::error_code make_error_code(ConsumerErrc e) noexcept {
  return {static_cast<int>(e), consumer_error_category()};
}

}  // namespace sluice::broker

template <>
struct std::is_error_code_enum<sluice::broker::Errc> : std::true_type {};
template <>
struct std::is_error_code_enum<sluice::broker::ConsumerErrc> : std::true_type {};
