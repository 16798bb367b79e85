#include "net/rest/consumer_body.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "broker/offsets_store.h"
#include "net/rest/handler_util.h"

namespace sluice::net::consumer_body {

using broker::TopicPartition;

ApiError unprocessable(int code, std::string message) {
  return {http::status::unprocessable_entity, code, std::move(message)};
}

ApiResult<std::optional<dom::object>> parse_body(const Call& call, dom::parser& parser) {
  const std::string& text = call.request.body();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return std::nullopt;
  const auto type = media_type(call.header(http::field::content_type));
  if (!type.empty() && type != kKafkaV2 && type != "application/json" &&
      type != "application/vnd.kafka+json") {
    return ApiError{http::status::unsupported_media_type, 415,
                    fmt::format("HTTP 415 Unsupported Media Type: send {}", kKafkaV2)};
  }
  dom::element doc;
  if (auto e = parser.parse(text).get(doc)) {
    return ApiError{http::status::bad_request, 40001,
                    fmt::format("Malformed JSON: {}", simdjson::error_message(e))};
  }
  dom::object object;
  if (doc.get_object().get(object)) {
    return ApiError{http::status::bad_request, 40001,
                    "Malformed request: the body must be a JSON object"};
  }
  return object;
}

// The member `key` of `o`, absent when missing or null.
std::optional<dom::element> field(dom::object o, std::string_view key) {
  dom::element e;
  if (o.at_key(key).get(e) || e.is_null()) return std::nullopt;
  return e;
}

namespace {

// An integer sent as a number or as a decimal string ("fetch.min.bytes":"1").
std::optional<int64_t> as_int(dom::element e) {
  int64_t n = 0;
  if (!e.get_int64().get(n)) return n;
  std::string_view s;
  if (!e.get_string().get(s)) return parse_int(s, INT64_MIN, INT64_MAX);
  return std::nullopt;
}

// A boolean sent as true/false or "true"/"false".
std::optional<bool> as_bool(dom::element e) {
  bool b = false;
  if (!e.get_bool().get(b)) return b;
  std::string_view s;
  if (!e.get_string().get(s)) {
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> as_string(dom::element e) {
  std::string_view s;
  if (e.get_string().get(s)) return std::nullopt;
  return std::string(s);
}

// {"topic", "partition"} elements of an array member; partitions may be strings of digits.
ApiResult<void> parse_partitions(dom::object o, std::string_view key,
                                 std::vector<TopicPartition>& out) {
  auto list = field(o, key);
  dom::array array;
  if (!list || list->get_array().get(array)) {
    return unprocessable(42203, fmt::format("'{}' must be an array of {{topic, partition}}", key));
  }
  for (dom::element item : array) {
    dom::object p;
    if (item.get_object().get(p)) {
      return unprocessable(42203, fmt::format("'{}' entries must be objects", key));
    }
    auto topic = field(p, "topic");
    auto partition = field(p, "partition");
    auto name = topic ? as_string(*topic) : std::nullopt;
    auto number = partition ? as_int(*partition) : std::nullopt;
    if (!name || !number || *number < 0 || *number > INT32_MAX) {
      return unprocessable(
          42203, fmt::format("'{}' entries need a string topic and a partition >= 0", key));
    }
    if (auto valid = check_topic_name(*name); !valid) return valid.error();
    out.push_back({std::move(*name), static_cast<int32_t>(*number)});
  }
  return {};
}

ApiResult<void> parse_offsets(dom::object o, std::string_view key, std::vector<OffsetEntry>& out) {
  std::vector<TopicPartition> partitions;
  if (auto r = parse_partitions(o, key, partitions); !r) return r.error();
  dom::array array;
  if (o.at_key(key).get_array().get(array)) {
    return unprocessable(42203, fmt::format("'{}' must be an array", key));
  }
  size_t i = 0;
  for (dom::element item : array) {
    auto offset = field(item.get_object().value_unsafe(), "offset");
    auto number = offset ? as_int(*offset) : std::nullopt;
    if (!number) {
      return unprocessable(42206, fmt::format("'{}[{}].offset' must be an integer", key, i));
    }
    std::string metadata;
    if (auto m = field(item.get_object().value_unsafe(), "metadata")) {
      auto s = as_string(*m);
      if (!s)
        return unprocessable(42203, fmt::format("'{}[{}].metadata' must be a string", key, i));
      if (s->size() > broker::kMaxCommitMetadataBytes) {
        return unprocessable(42206, fmt::format("'{}[{}].metadata' is longer than {} bytes", key, i,
                                                broker::kMaxCommitMetadataBytes));
      }
      metadata = std::move(*s);
    }
    out.push_back({std::move(partitions[i]), *number, std::move(metadata)});
    ++i;
  }
  return {};
}

namespace {

// Reads the fixed fields of an ISO-8601 time from the front of `text`.
struct Cursor {
  std::string_view text;
  bool ok = true;

  // The next `digits` characters as a decimal number; clears ok if they are not digits.
  int number(size_t digits) {
    int value = 0;
    if (!ok || text.size() < digits) {
      ok = false;
      return 0;
    }
    for (size_t i = 0; i < digits; ++i) {
      if (text[i] < '0' || text[i] > '9') ok = false;
      value = value * 10 + (text[i] - '0');
    }
    text.remove_prefix(digits);
    return value;
  }
  // Consumes one of `chars` if it is next.
  bool take(std::string_view chars) {
    if (!ok || text.empty() || chars.find(text.front()) == std::string_view::npos) return false;
    text.remove_prefix(1);
    return true;
  }
  void expect(std::string_view chars) { ok = ok && take(chars); }
};

}  // namespace

std::optional<int64_t> parse_iso8601_ms(std::string_view text) {
  namespace chrono = std::chrono;
  Cursor c{text};
  const int year = c.number(4);
  c.expect("-");
  const int month = c.number(2);
  c.expect("-");
  const int day = c.number(2);
  c.expect("Tt");
  const int hour = c.number(2);
  c.expect(":");
  const int minute = c.number(2);
  c.expect(":");
  const int second = c.number(2);
  int millis = 0;
  if (c.take(".")) {
    size_t digits = 0;
    while (digits < c.text.size() && c.text[digits] >= '0' && c.text[digits] <= '9') ++digits;
    if (digits == 0 || digits > 9) return std::nullopt;
    millis = c.number(std::min<size_t>(digits, 3));
    for (size_t i = digits; i < 3; ++i) millis *= 10;
    c.text.remove_prefix(digits > 3 ? digits - 3 : 0);
  }
  int zone_minutes = 0;
  if (!c.take("Zz")) {
    int sign = 1;
    if (!c.take("+")) {
      c.expect("-");
      sign = -1;
    }
    const int zone_hour = c.number(2);
    c.expect(":");
    const int zone_minute = c.number(2);
    if (zone_hour > 23 || zone_minute > 59) return std::nullopt;
    zone_minutes = sign * (zone_hour * 60 + zone_minute);
  }
  if (!c.ok || !c.text.empty()) return std::nullopt;
  const chrono::year_month_day date{chrono::year(year), chrono::month(month), chrono::day(day)};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  const int64_t days = chrono::sys_days(date).time_since_epoch().count();
  const int64_t seconds =
      days * 86400 + hour * 3600 + minute * 60 + second - int64_t{zone_minutes} * 60;
  return seconds * 1000 + millis;
}

ApiResult<void> parse_timestamps(dom::object o, std::string_view key,
                                 std::vector<TimestampEntry>& out) {
  std::vector<TopicPartition> partitions;
  if (auto r = parse_partitions(o, key, partitions); !r) return r.error();
  dom::array array;
  if (o.at_key(key).get_array().get(array)) {
    return unprocessable(42203, fmt::format("'{}' must be an array", key));
  }
  size_t i = 0;
  for (dom::element item : array) {
    dom::object entry;
    if (item.get_object().get(entry)) {
      return unprocessable(42203, fmt::format("'{}' entries must be objects", key));
    }
    auto text = field(entry, "timestamp");
    auto s = text ? as_string(*text) : std::nullopt;
    auto ms = s ? parse_iso8601_ms(*s) : std::nullopt;
    if (!ms || *ms < 0) {
      return unprocessable(
          42203, fmt::format("'{}[{}].timestamp' must be an ISO-8601 time after 1970, such as "
                             "\"2026-12-06T04:01:37.823Z\" or \"2026-12-06T05:01:37.823+01:00\"",
                             key, i));
    }
    out.push_back({std::move(partitions[i]), *ms});
    ++i;
  }
  return {};
}

// The instance settings of a create body; 422 / 42204 names the bad one.
ApiResult<void> parse_instance_config(const std::optional<dom::object>& body,
                                      broker::InstanceConfig& config) {
  const auto bad = [](std::string_view key, std::string_view allowed) {
    return unprocessable(
        42204, fmt::format("Invalid consumer configuration: '{}' must be {}", key, allowed));
  };
  if (!body) return {};
  auto name = field(*body, "name");
  if (!name) name = field(*body, "id");  // the v1 spelling
  if (name) {
    auto s = as_string(*name);
    if (!s || s->empty() || s->size() > kMaxInstanceNameLength) {
      return bad("name", fmt::format("a string of 1 to {} characters", kMaxInstanceNameLength));
    }
    if (has_control_characters(*s)) {
      return ApiError{http::status::bad_request, 40003,
                      "Consumer instance names must not contain control characters"};
    }
    config.name = std::move(*s);
  }
  if (auto f = field(*body, "format")) {
    auto s = as_string(*f);
    if (s == "json") {
      config.format = broker::ConsumerFormat::json;
    } else if (s == "binary") {
      config.format = broker::ConsumerFormat::binary;
    } else {
      return bad("format", "json or binary");
    }
  }
  if (auto r = field(*body, "auto.offset.reset")) {
    auto s = as_string(*r);
    if (s == "earliest" || s == "smallest") {
      config.reset = broker::OffsetReset::earliest;
    } else if (s == "latest" || s == "largest") {
      config.reset = broker::OffsetReset::latest;
    } else if (s == "none") {
      config.reset = broker::OffsetReset::none;
    } else {
      return bad("auto.offset.reset", "earliest, latest or none");
    }
  }
  if (auto a = field(*body, "auto.commit.enable")) {
    auto b = as_bool(*a);
    if (!b) return bad("auto.commit.enable", "true or false");
    config.auto_commit = *b;
  }
  if (auto m = field(*body, "fetch.min.bytes")) {
    auto n = as_int(*m);
    if (!n || *n < -1 || *n > kMaxFetchBytes) {
      return bad("fetch.min.bytes", fmt::format("an integer in [-1, {}]", kMaxFetchBytes));
    }
    config.fetch_min_bytes = std::max<int64_t>(*n, 1);
  }
  if (auto t = field(*body, "consumer.request.timeout.ms")) {
    auto n = as_int(*t);
    if (!n || *n < 0 || *n > kMaxTimeoutMs) {
      return bad("consumer.request.timeout.ms",
                 fmt::format("an integer in [0, {}]", kMaxTimeoutMs));
    }
    config.request_timeout_ms = *n;
  }
  return {};
}

}  // namespace sluice::net::consumer_body
