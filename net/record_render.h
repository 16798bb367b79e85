#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/types.h"
#include "net/http.h"
#include "segment/segment.h"

namespace sluice::net {

enum class RecordFormat { json, binary, raw };

// Renders the records of `slice` from offset `from` on as a REST Proxy v2 records array:
// [{"topic","key","value","partition","offset","timestamp","headers"}]. Keys and values are
// embedded JSON (json) or base64 (binary); header values are always base64. A stored key or
// value that is not JSON, asked for as json, is 408 / 40801 naming topic, partition, offset.
[[nodiscard]] std::optional<ApiError> render_records(const segment::LogSlice& slice, Offset from,
                                                     std::string_view topic, int32_t partition,
                                                     RecordFormat format, std::string& out);

}  // namespace sluice::net
