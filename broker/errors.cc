#include "broker/errors.h"

#include <string>

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
      case Errc::internal_topic:
        return "internal topic: read only for clients";
    }
    return "unknown broker error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace sluice::broker
