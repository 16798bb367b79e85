#include "index/errors.h"

#include <string>

namespace sluice::index {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "index"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::index_full:
        return "index full";
      case Errc::not_increasing:
        return "index entry not after the last one";
      case Errc::corrupt:
        return "index entries out of order";
    }
    return "unknown index error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace sluice::index
