#pragma once

#include <boost/system/result.hpp>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

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
  log_offline,          // an fdatasync failed: what reached the disk is unknown, so no more writes
  internal_topic,       // a client asked to write, create, delete or reconfigure an internal topic
  not_at_log_end,       // a replicated batch that does not start where the replica's log ends
  stale_epoch,          // a replicated batch of a leader epoch older than the log's last
  not_enough_replicas,  // acks=all refused before the append: the ISR is below its minimum
  not_confirmed,        // acks=all appended but replication not confirmed: the records may appear
  not_leader,           // acks=all refused before the append: this broker may have lost the
                        // partition's leadership (fenced: its etcd lease may have expired)
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
  // Cluster mode: this broker does not coordinate the group now (the leadership of its
  // offsets partition moved, or this broker's lease lapsed): nothing changed; retry.
  not_coordinator,
};

const std::error_category& consumer_error_category() noexcept;

inline std::error_code make_error_code(ConsumerErrc e) noexcept {
  return {static_cast<int>(e), consumer_error_category()};
}

// The refusal of a client's request: an error code and, where the code alone cannot say what
// was wrong, a detail for the client's message. Topic admin (create, alter config) gives
// Errc::invalid_config with the config::ConfigError message naming the key, the value and what
// is allowed. The consumer groups give their own refusals (ConsumerErrc) with the reason, such
// as a bad pattern or an offset outside the log, and a missing topic or partition, or a failed
// write of a commit, with the name of the topic concerned. These are request paths, so nothing
// is thrown, and every refusal reaches the handler the same way, detail included.
class DetailedError {
 public:
  DetailedError() = default;
  DetailedError(std::error_code code, std::string detail = {})  // NOLINT: implicit by design
      : code_(code), detail_(std::move(detail)) {}
  template <class E>
  requires std::is_error_code_enum_v<E> DetailedError(E e)
      : code_(e) {}  // NOLINT: `return Errc::x;` reads as it does for Result

  const std::error_code& code() const { return code_; }
  const std::string& detail() const { return detail_; }
  // The detail, or the code's message where there is none.
  std::string message() const { return detail_.empty() ? code_.message() : detail_; }
  friend bool operator==(const DetailedError& a, const std::error_code& b) { return a.code_ == b; }

 private:
  std::error_code code_;
  std::string detail_;
};

template <class T>
using DetailedResult = boost::system::result<T, DetailedError>;

// What DetailedResult::value() throws on an error: std::system_error with the code and message.
[[noreturn]] void throw_exception_from_error(const DetailedError& error,
                                             const boost::source_location& location);

}  // namespace sluice::broker

template <>
struct std::is_error_code_enum<sluice::broker::Errc> : std::true_type {};
template <>
struct std::is_error_code_enum<sluice::broker::ConsumerErrc> : std::true_type {};
