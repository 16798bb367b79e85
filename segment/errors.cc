#include "segment/errors.h"

#include <string>

namespace sluice::segment {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "segment"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::truncated:
        return "batch truncated";
      case Errc::bad_length:
        return "batch length out of range";
      case Errc::bad_magic:
        return "unknown batch magic";
      case Errc::header_checksum_mismatch:
        return "batch header checksum mismatch";
      case Errc::checksum_mismatch:
        return "batch checksum mismatch";
      case Errc::bad_record:
        return "malformed record in batch";
      case Errc::record_count_mismatch:
        return "record count disagrees with records";
      case Errc::unsupported_attributes:
        return "unsupported batch attributes";
      case Errc::offset_out_of_range:
        return "offset out of range";
      case Errc::segment_full:
        return "segment full";
      case Errc::negative_timestamp:
        return "batch timestamp is negative";
    }
    return "unknown segment error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace sluice::segment
