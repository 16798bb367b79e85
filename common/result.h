#pragma once

#include <boost/system/result.hpp>
#include <system_error>

namespace sluice {

template <class T>
using Result = boost::system::result<T, std::error_code>;  // std::expected once on C++23

// Builds an error result from anything convertible to std::error_code (an Errc enum, errno).
inline std::error_code errno_code(int err) noexcept { return {err, std::generic_category()}; }

}  // namespace sluice
