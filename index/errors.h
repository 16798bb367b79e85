#pragma once

#include <system_error>

namespace sluice::index {

// Why an index entry could not be added, or why an index file is not a valid index.
enum class Errc {
  index_full = 1,  // no room left (or the index is sealed, or the entry does not fit 32 bits)
  not_increasing,  // the entry does not come after the last one (or precedes the base offset)
  corrupt,         // the file's entries are out of order
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace sluice::index

template <>
struct std::is_error_code_enum<sluice::index::Errc> : std::true_type {};
