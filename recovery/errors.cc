#include "recovery/errors.h"

#include <string>

namespace sluice::recovery {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "recovery"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::non_contiguous_offset:
        return "batch base offset does not follow the previous batch";
      case Errc::negative_timestamp:
        return "batch timestamp is negative";
      case Errc::offset_overflow:
        return "batch offsets do not fit the segment";
      case Errc::segment_overlap:
        return "segment overlaps the previous segment";
      case Errc::segment_gap:
        return "segment does not start where the previous one ends";
      case Errc::epoch_decreased:
        return "leader epoch lower than the previous batch's";
      case Errc::bad_checkpoint:
        return "malformed recovery point checkpoint";
      case Errc::bad_partition_dir:
        return "not a partition directory name";
      case Errc::bad_topic_config:
        return "bad topic.properties";
    }
    return "unknown recovery error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace sluice::recovery
