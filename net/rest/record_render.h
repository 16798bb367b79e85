#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/types.h"
#include "net/http/message.h"
#include "net/rest/api_result.h"
#include "segment/segment.h"

namespace sluice::net {

enum class RecordFormat { json, binary, raw };

// The error_code of a record that is not JSON, read as json.
inline constexpr int kNotJson = 42207;

// Renders the records of `slice` from offset `from` on as a REST Proxy v2 records array:
// [{"topic","key","value","partition","offset","timestamp","headers"}]. Keys and values are
// embedded JSON (json) or base64 (binary); header values are always base64. Appends to `out`
// (the caller's buffer, reused across partitions) and returns the offset after the last
// record rendered.
//
// Asked for as json, a record whose key or value is not JSON ends the array before it: the
// returned offset is its own, so the records before it are served and the reader stops there. When
// it is the first record, the answer is 422 / 42207 naming topic, partition and offset and how to
// step over it (the binary format, or a seek to the next offset). Not a 408: a client retries
// those forever and would wedge on the record.
[[nodiscard]] ApiResult<Offset> render_records(const segment::LogSlice& slice, Offset from,
                                               std::string_view topic, int32_t partition,
                                               RecordFormat format, std::string& out);
// The same for batches in memory (a leader's raw answer): each is validated first; a corrupt one
// is 500 / 50002 naming the partition. The returned offset is at least `from`.
[[nodiscard]] ApiResult<Offset> render_batches(std::span<const std::byte> batches, Offset from,
                                               std::string_view topic, int32_t partition,
                                               RecordFormat format, std::string& out);

}  // namespace sluice::net
