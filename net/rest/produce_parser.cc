#include "net/rest/produce_parser.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "common/base64.h"

namespace sluice::net {
namespace {

namespace od = simdjson::ondemand;

// A record field's name for error messages ("records[12].value"), built on the stack: names
// are needed only when something is wrong, so the success path pays no allocation or
// formatting for them. A view from with() is valid until the next with().
class FieldName {
 public:
  FieldName(std::string_view base, char open, size_t index, std::string_view close) {
    append(base);
    if (open != '\0') append(std::string_view(&open, 1));
    auto [end, ec] = std::to_chars(buf_ + len_, buf_ + sizeof(buf_), index);
    if (ec == std::errc{}) len_ = static_cast<size_t>(end - buf_);
    append(close);
    stem_ = len_;
  }
  std::string_view stem() const { return {buf_, stem_}; }
  std::string_view with(std::string_view suffix) {
    len_ = stem_;
    append(suffix);
    return {buf_, len_};
  }

 private:
  void append(std::string_view s) {
    const size_t n = std::min(s.size(), sizeof(buf_) - len_);
    std::memcpy(buf_ + len_, s.data(), n);
    len_ += n;
  }
  char buf_[64];
  size_t len_ = 0;
  size_t stem_ = 0;
};

ProduceParseError type_error(std::string_view field, std::string_view expected) {
  return {422, 42203, fmt::format("{}: expected {}", field, expected)};
}

// A value of the wrong type is 422 / 42203; anything else simdjson reports is broken JSON.
ProduceParseError bad(simdjson::error_code e, std::string_view field, std::string_view expected) {
  if (e == simdjson::INCORRECT_TYPE || e == simdjson::NUMBER_OUT_OF_RANGE ||
      e == simdjson::NUMBER_ERROR) {
    return type_error(field, expected);
  }
  return {400, 40001, fmt::format("Malformed JSON at {}: {}", field, simdjson::error_message(e))};
}

// simdjson reads up to SIMDJSON_PADDING bytes past the end; they must be there and, for
// iterate_many, be blanks rather than whatever the string's spare capacity held.
simdjson::padded_string_view padded(std::string& body) {
  const size_t size = body.size();
  body.append(simdjson::SIMDJSON_PADDING, '\0');
  body.resize(size);  // keeps the capacity and the zeroed bytes after the end
  return simdjson::padded_string_view(body.data(), body.size(), body.capacity());
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// The JSON text of any value, as sent.
simdjson::error_code raw_json(od::value& v, std::string_view& out) {
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  if (type == od::json_type::object) {
    od::object o;
    if (auto e = v.get_object().get(o)) return e;
    return o.raw_json().get(out);
  }
  if (type == od::json_type::array) {
    od::array a;
    if (auto e = v.get_array().get(a)) return e;
    return a.raw_json().get(out);
  }
  out = trim_right(v.raw_json_token());
  return simdjson::SUCCESS;
}

// Appends the decoded base64 to the arena (which never reallocates) and returns a view of it.
std::optional<ProduceParseError> decode_into_arena(std::string_view b64, std::string& arena,
                                                   std::string_view field, std::string_view& out) {
  thread_local std::string scratch;
  if (auto decoded = base64_decode(b64, scratch); !decoded) {
    return ProduceParseError{
        422, 42206,
        fmt::format("{}: invalid base64 at position {}", field, decoded.error().position)};
  }
  if (arena.size() + scratch.size() > arena.capacity()) {
    return ProduceParseError{422, 42206, fmt::format("{}: decoded data too large", field)};
  }
  const size_t start = arena.size();
  arena.append(scratch);
  out = std::string_view(arena).substr(start, scratch.size());
  return std::nullopt;
}

// key or value in the v2 embedded formats: null, JSON text, or base64 of the bytes.
std::optional<ProduceParseError> parse_data(od::value v, EmbeddedFormat format, std::string& arena,
                                            std::string_view field,
                                            std::optional<std::string_view>& out) {
  bool is_null = false;
  if (v.is_null().get(is_null) == simdjson::SUCCESS && is_null) {
    out.reset();
    return std::nullopt;
  }
  std::string_view text;
  if (format == EmbeddedFormat::json) {
    if (auto e = raw_json(v, text)) return bad(e, field, "a JSON value");
    out = text;
    return std::nullopt;
  }
  if (auto e_ = v.get_string().get(text)) return bad(e_, field, "a base64 string or null");
  std::string_view decoded;
  if (auto e = decode_into_arena(text, arena, field, decoded)) return e;
  out = decoded;
  return std::nullopt;
}

std::optional<ProduceParseError> parse_headers(od::value v, std::string& arena,
                                               std::string_view field,
                                               std::vector<segment::HeaderView>& out) {
  od::array headers;
  if (auto e_ = v.get_array().get(headers)) return bad(e_, field, "an array of {name, value}");
  size_t i = 0;
  for (auto element : headers) {
    const auto name = fmt::format("{}[{}]", field, i++);
    od::object h;
    if (auto e_ = element.get_object().get(h)) return bad(e_, name, "an object {name, value}");
    segment::HeaderView header;
    bool has_name = false;
    for (auto member : h) {
      std::string_view key;
      if (auto e_ = member.unescaped_key().get(key)) return bad(e_, name, "an object");
      od::value value;
      if (auto e_ = member.value().get(value)) return bad(e_, name, "an object");
      if (key == "name" || key == "key") {
        std::string_view text;
        if (auto e_ = value.get_string().get(text)) return bad(e_, name + ".name", "a string");
        // Header names are unescaped into the parser's buffer; keep them in the arena.
        if (arena.size() + text.size() > arena.capacity()) {
          return ProduceParseError{422, 42206, fmt::format("{}: too large", name)};
        }
        const size_t start = arena.size();
        arena.append(text);
        header.key = std::string_view(arena).substr(start, text.size());
        has_name = true;
      } else if (key == "value") {
        if (auto e =
                parse_data(value, EmbeddedFormat::binary, arena, name + ".value", header.value)) {
          return e;
        }
      }
    }
    if (!has_name) return ProduceParseError{422, 42206, fmt::format("{}: missing name", name)};
    out.push_back(header);
  }
  return std::nullopt;
}

std::optional<ProduceParseError> parse_partition(od::value v, std::string_view field,
                                                 std::optional<int32_t>& out) {
  bool is_null = false;
  if (v.is_null().get(is_null) == simdjson::SUCCESS && is_null) return std::nullopt;
  int64_t p = 0;
  if (v.get_int64().get(p) || p < 0 || p > INT32_MAX) {
    return type_error(field, "a non-negative integer partition");
  }
  out = static_cast<int32_t>(p);
  return std::nullopt;
}

// Milliseconds since the epoch from an integer or an ISO-8601 UTC string
// ("2024-05-01T12:00:00Z", optional ".sss").
std::optional<ProduceParseError> parse_timestamp(od::value v, std::string_view field,
                                                 int64_t& out) {
  bool is_null = false;
  if (v.is_null().get(is_null) == simdjson::SUCCESS && is_null) return std::nullopt;
  int64_t ms = 0;
  if (v.get_int64().get(ms) == simdjson::SUCCESS) {
    if (ms < 0) return type_error(field, "a non-negative timestamp in ms");
    out = ms;
    return std::nullopt;
  }
  std::string_view text;
  if (auto e_ = v.get_string().get(text)) return bad(e_, field, "a timestamp in ms or ISO-8601");
  std::tm tm{};
  int millis = 0;
  char zone = 0;
  const std::string s(text);
  const int n = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis, &zone);
  if (n != 8 &&
      !(n == 6 && std::sscanf(s.c_str(), "%*4d-%*2d-%*2dT%*2d:%*2d:%*2d%c", &zone) == 1)) {
    return type_error(field, "a timestamp in ms or ISO-8601 UTC");
  }
  if (zone != 'Z') return type_error(field, "an ISO-8601 timestamp in UTC (ending in Z)");
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const time_t seconds = timegm(&tm);
  if (seconds < 0) return type_error(field, "a timestamp after 1970");
  out = static_cast<int64_t>(seconds) * 1000 + millis;
  return std::nullopt;
}

// The fields of one record and how errors name them: REST Proxy v2 ("records[3].value",
// "partition") or v3 ("record 3 value", "partition_id").
struct RecordDialect {
  std::string_view partition_field;
  std::string_view key_suffix, value_suffix, partition_suffix, headers_suffix, timestamp_suffix;
};
constexpr RecordDialect kV2Dialect{"partition",  ".key",     ".value",
                                   ".partition", ".headers", ".timestamp"};
constexpr RecordDialect kV3Dialect{"partition_id",  " key",     " value",
                                   " partition_id", " headers", " timestamp"};

// Parses one record object; `parse_data(value, arena, field, out)` reads a key or value in the
// dialect's encoding.
template <class ParseData>
std::optional<ProduceParseError> parse_record_fields(od::object obj, FieldName& name,
                                                     const RecordDialect& dialect,
                                                     ParseData parse_data_field,
                                                     ProduceRequest& out) {
  broker::ProduceRecord record;
  record.input.timestamp_ms = -1;  // none given: the broker's clock
  ProduceRequest::HeaderRange header_range{out.headers.size(), 0};
  for (auto member : obj) {
    std::string_view key;
    od::value value;
    if (member.unescaped_key().get(key) || member.value().get(value)) {
      return ProduceParseError{400, 40001, fmt::format("{}: malformed JSON", name.stem())};
    }
    std::optional<ProduceParseError> error;
    if (key == "key") {
      error = parse_data_field(value, out.arena, name.with(dialect.key_suffix), record.input.key);
    } else if (key == "value") {
      error =
          parse_data_field(value, out.arena, name.with(dialect.value_suffix), record.input.value);
    } else if (key == dialect.partition_field) {
      error = parse_partition(value, name.with(dialect.partition_suffix), record.partition);
    } else if (key == "headers") {
      error = parse_headers(value, out.arena, name.with(dialect.headers_suffix), out.headers);
    } else if (key == "timestamp") {
      error =
          parse_timestamp(value, name.with(dialect.timestamp_suffix), record.input.timestamp_ms);
    }
    if (error) return error;
  }
  header_range.count = out.headers.size() - header_range.first;
  out.records.push_back(record);
  out.header_ranges.push_back(header_range);
  return std::nullopt;
}

std::optional<ProduceParseError> parse_v2_record(od::value element, size_t index,
                                                 EmbeddedFormat format, ProduceRequest& out) {
  FieldName name("records", '[', index, "]");
  od::object obj;
  if (auto e_ = element.get_object().get(obj)) return bad(e_, name.stem(), "an object");
  auto parse = [format](od::value v, std::string& arena, std::string_view field,
                        std::optional<std::string_view>& data) {
    return parse_data(v, format, arena, field, data);
  };
  return parse_record_fields(obj, name, kV2Dialect, parse, out);
}

// Points every record's header span into the finished header vector.
void link_headers(ProduceRequest& out) {
  for (size_t i = 0; i < out.records.size(); ++i) {
    const auto& range = out.header_ranges[i];
    out.records[i].input.headers = std::span(out.headers).subspan(range.first, range.count);
  }
}

}  // namespace

std::optional<ProduceParseError> parse_produce_request(std::string& body, EmbeddedFormat format,
                                                       ProduceRequest& out) {
  if (body.empty()) return ProduceParseError{422, 422, "Request body is empty"};
  out.arena.reserve(body.size());
  thread_local od::parser parser;
  od::document doc;
  if (auto e = parser.iterate(padded(body)).get(doc)) {
    return ProduceParseError{400, 40001,
                             fmt::format("Malformed JSON: {}", simdjson::error_message(e))};
  }
  od::object root;
  if (auto e = doc.get_object().get(root)) {
    if (e != simdjson::INCORRECT_TYPE) {
      return ProduceParseError{400, 40001,
                               fmt::format("Malformed JSON: {}", simdjson::error_message(e))};
    }
    return ProduceParseError{422, 422,
                             "Request body is not a produce request (expected an object "
                             "with \"records\")"};
  }
  bool found = false;
  for (auto member : root) {
    std::string_view key;
    if (member.unescaped_key().get(key)) return ProduceParseError{400, 40001, "Malformed JSON"};
    if (key != "records") continue;
    found = true;
    od::array records;
    if (auto e_ = member.value().get_array().get(records)) return bad(e_, "records", "an array");
    size_t index = 0;
    for (auto element : records) {
      od::value v;
      if (element.get(v)) return ProduceParseError{400, 40001, "Malformed JSON in records"};
      if (auto e = parse_v2_record(v, index++, format, out)) return e;
    }
  }
  if (!found) {
    return ProduceParseError{422, 422, "Request body is not a produce request (no \"records\")"};
  }
  if (out.records.empty()) return ProduceParseError{422, 42206, "records: empty array"};
  link_headers(out);
  return std::nullopt;
}

namespace {

// {type: BINARY|JSON|STRING, data: ...} of a v3 record.
std::optional<ProduceParseError> parse_v3_data(od::value v, std::string& arena,
                                               std::string_view field,
                                               std::optional<std::string_view>& out) {
  bool is_null = false;
  if (v.is_null().get(is_null) == simdjson::SUCCESS && is_null) return std::nullopt;
  od::object obj;
  if (auto e_ = v.get_object().get(obj)) return bad(e_, field, "an object {type, data}");
  std::string type = "JSON";
  std::string_view data_text;
  bool data_null = true;
  for (auto member : obj) {
    std::string_view key;
    od::value value;
    if (member.unescaped_key().get(key) || member.value().get(value)) {
      return type_error(field, "an object {type, data}");
    }
    if (key == "type") {
      std::string_view t;
      if (auto e_ = value.get_string().get(t))
        return bad(e_, std::string(field) + ".type", "a string");
      type = std::string(t);
    } else if (key == "data") {
      bool null_data = false;
      if (value.is_null().get(null_data) == simdjson::SUCCESS && null_data) continue;
      data_null = false;
      // The type may come after data; keep the raw text and interpret it below.
      if (auto e = raw_json(value, data_text)) return bad(e, std::string(field) + ".data", "JSON");
    }
  }
  if (data_null) return std::nullopt;
  if (type == "JSON") {
    out = data_text;
    return std::nullopt;
  }
  if (type != "BINARY" && type != "STRING") {
    return ProduceParseError{
        422, 42206, fmt::format("{}.type: '{}' is not BINARY, JSON or STRING", field, type)};
  }
  // data must be a JSON string: unescape it with a small parser of its own.
  thread_local simdjson::dom::parser string_parser;
  simdjson::dom::element element;
  std::string_view text;
  if (string_parser.parse(data_text.data(), data_text.size(), true).get(element) ||
      element.get_string().get(text)) {
    return type_error(std::string(field) + ".data", "a string");
  }
  if (type == "BINARY") {
    std::string_view decoded;
    if (auto e = decode_into_arena(text, arena, std::string(field) + ".data", decoded)) return e;
    out = decoded;
    return std::nullopt;
  }
  if (arena.size() + text.size() > arena.capacity()) {
    return ProduceParseError{422, 42206, fmt::format("{}: too large", field)};
  }
  const size_t start = arena.size();
  arena.append(text);
  out = std::string_view(arena).substr(start, text.size());
  return std::nullopt;
}

std::optional<ProduceParseError> parse_v3_record(od::object obj, size_t index,
                                                 ProduceRequest& out) {
  FieldName name("record ", '\0', index, "");
  auto parse = [](od::value v, std::string& arena, std::string_view field,
                  std::optional<std::string_view>& data) {
    return parse_v3_data(v, arena, field, data);
  };
  return parse_record_fields(obj, name, kV3Dialect, parse, out);
}

}  // namespace

std::optional<ProduceParseError> parse_v3_records(std::string& body, ProduceRequest& out) {
  if (body.empty()) return ProduceParseError{422, 422, "Request body is empty"};
  out.arena.reserve(body.size());
  // iterate_many has no padded_string_view overload: passing one converts it to a temporary
  // padded_string that dies before the stream is read. Pass the padded buffer itself.
  thread_local od::parser parser;
  od::document_stream stream;
  // Pass the buffer itself: the padded_string_view would convert to a temporary padded_string
  // that dies at the end of this statement while the stream still points into it.
  const auto input = padded(body);
  if (auto e =
          parser.iterate_many(input.data(), input.size(), od::DEFAULT_BATCH_SIZE).get(stream)) {
    return ProduceParseError{400, 40001,
                             fmt::format("Malformed JSON: {}", simdjson::error_message(e))};
  }
  size_t index = 0;
  for (auto doc : stream) {
    od::object obj;
    if (auto e = doc.get_object().get(obj)) {
      return ProduceParseError{400, 40001,
                               fmt::format("record {}: {}", index, simdjson::error_message(e))};
    }
    if (auto e = parse_v3_record(obj, index++, out)) return e;
  }
  if (stream.truncated_bytes() > 0) {
    return ProduceParseError{400, 40001, "Malformed JSON: truncated record at the end"};
  }
  if (out.records.empty()) return ProduceParseError{422, 422, "No records in the request body"};
  link_headers(out);
  return std::nullopt;
}

}  // namespace sluice::net
