#include "broker/errors.h"

#include <string>
#include <system_error>

namespace sluice::broker {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "broker"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::offset_out_of_range:
        return "offset out of range";
      case Errc::topic_not_found:
        return "topic not found";
      case Errc::partition_not_found:
        return "partition not found";
      case Errc::topic_exists:
        return "topic already exists";
      case Errc::invalid_topic_name:
        return "invalid topic name";
      case Errc::invalid_partition_count:
        return "invalid partition count";
      case Errc::invalid_config:
        return "invalid topic configuration";
      case Errc::empty_batch:
        return "no records to append";
      case Errc::record_too_large:
        return "batch larger than max.message.bytes";
      case Errc::shutting_down:
        return "broker is shutting down";
      case Errc::log_offline:
        return "partition offline after a failed fdatasync";
      case Errc::not_at_log_end:
        return "replicated batch does not start at the log end";
      case Errc::stale_epoch:
        return "replicated batch of an older leader epoch";
      case Errc::internal_topic:
        return "internal topic: read only for clients";
      case Errc::not_enough_replicas:
        return "not enough in-sync replicas";
      case Errc::not_confirmed:
        return "replication not confirmed; the records may still become visible";
      case Errc::not_leader:
        return "this broker may have lost the leadership; nothing was appended";
    }
    return "unknown broker error";
  }
};

class ConsumerCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "consumer"; }
  std::string message(int ev) const override {
    switch (static_cast<ConsumerErrc>(ev)) {
      case ConsumerErrc::instance_not_found:
        return "consumer instance not found";
      case ConsumerErrc::instance_exists:
        return "consumer instance already exists";
      case ConsumerErrc::illegal_state:
        return "illegal consumer state";
      case ConsumerErrc::invalid_pattern:
        return "invalid topic pattern";
      case ConsumerErrc::invalid_offset:
        return "invalid offset";
      case ConsumerErrc::not_coordinator:
        return "not the group's coordinator";
    }
    return "unknown consumer error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

void throw_exception_from_error(const DetailedError& error, const boost::source_location&) {
  throw std::system_error(error.code(), error.detail());
}

const std::error_category& consumer_error_category() noexcept {
  static const ConsumerCategory category;
  return category;
}

}  // namespace sluice::broker
