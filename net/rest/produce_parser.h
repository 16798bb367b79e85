#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/produce.h"
#include "segment/batch.h"

namespace sluice::net {

enum class EmbeddedFormat { json, binary };

// A parsed REST Proxy v2 produce request. Keys, values and headers are views into the request
// body (JSON format) or into `arena` (decoded base64), which is sized up front and never
// reallocates, so the views stay valid as long as the request and this object live.
struct ProduceRequest {
  std::vector<broker::ProduceRecord> records;  // input.headers view into `headers`
  struct HeaderRange {
    size_t first = 0;
    size_t count = 0;
  };
  std::vector<HeaderRange> header_ranges;  // each record's headers
  std::vector<segment::HeaderView> headers;
  std::string arena;
};

// 400 / 40001 (not JSON), 422 / 422 (not a produce request), 422 / 42203 (a field of the
// wrong type), 422 / 42206 (bad base64 and other invalid values); the message names the field.
struct ProduceParseError {
  int http_status;
  int error_code;
  std::string message;
};

// Parses `body` in place; the body string's capacity is grown for simdjson's padding.
[[nodiscard]] std::optional<ProduceParseError> parse_produce_request(std::string& body,
                                                                     EmbeddedFormat format,
                                                                     ProduceRequest& out);

// Parses a REST Proxy v3 produce body: one record (`partition_id`, `headers`, `key`/`value`
// as {type: BINARY|JSON|STRING, data}, `timestamp` in ms or ISO-8601) or a stream of
// concatenated records; the same error rules.
[[nodiscard]] std::optional<ProduceParseError> parse_v3_records(std::string& body,
                                                                ProduceRequest& out);

}  // namespace sluice::net
