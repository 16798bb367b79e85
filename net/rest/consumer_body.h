#pragma once

// Request bodies of the consumer API (REST Proxy v2), parsed with simdjson's DOM API, which
// picks its CPU kernel at run time. Every failure is the ApiError to answer.

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/consumer_groups.h"
#include "common/text.h"
#include "net/http/message.h"
#include "net/rest/api_result.h"
#include "net/rest/router.h"

namespace sluice::net::consumer_body {

namespace dom = simdjson::dom;

inline constexpr int64_t kMaxFetchBytes = 64 << 20;
inline constexpr int64_t kMaxTimeoutMs = 300000;
inline constexpr size_t kMaxInstanceNameLength = 255;

ApiError unprocessable(int code, std::string message);

// A request body: absent (empty or only whitespace), an object, or the error to answer (400 /
// 40001 for broken JSON or a non-object, 415 for another content type). The object lives in
// `parser` until its next parse.
[[nodiscard]] ApiResult<std::optional<dom::object>> parse_body(const Call& call,
                                                               dom::parser& parser);

// The member `key` of `o`, absent when missing or null.
std::optional<dom::element> field(dom::object o, std::string_view key);
std::optional<std::string> as_string(dom::element e);

// `key`: an array of {"topic", "partition"}; partitions may be decimal strings.
[[nodiscard]] ApiResult<void> parse_partitions(dom::object o, std::string_view key,
                                               std::vector<broker::TopicPartition>& out);

// `key`: an array of {"topic", "partition", "offset", "metadata"?}; numbers may be strings.
struct OffsetEntry {
  broker::TopicPartition tp;
  int64_t offset = 0;
  std::string metadata;
};
[[nodiscard]] ApiResult<void> parse_offsets(dom::object o, std::string_view key,
                                            std::vector<OffsetEntry>& out);

// `key`: an array of {"topic", "partition", "timestamp"}, the timestamp an ISO-8601 string.
struct TimestampEntry {
  broker::TopicPartition tp;
  int64_t timestamp_ms = 0;
};
[[nodiscard]] ApiResult<void> parse_timestamps(dom::object o, std::string_view key,
                                               std::vector<TimestampEntry>& out);

// Milliseconds since the epoch of an ISO-8601 date and time as REST Proxy sends them:
// "2026-12-06T04:01:37.823Z", the fraction optional (digits past milliseconds dropped), the
// zone 'Z' or an offset "+01:00" / "-05:30". nullopt on anything else.
std::optional<int64_t> parse_iso8601_ms(std::string_view text);

// The settings of a create body into `config`; 422 / 42204 names a bad one, 400 / 40003 a name
// with control characters. An absent body leaves the defaults.
[[nodiscard]] ApiResult<void> parse_instance_config(const std::optional<dom::object>& body,
                                                    broker::InstanceConfig& config);

}  // namespace sluice::net::consumer_body
