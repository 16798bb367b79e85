#include "net/rest/record_render.h"

#include <fmt/format.h>

#include "common/base64.h"
#include "common/json_writer.h"

namespace sluice::net {
namespace {

void append_data(std::string& out, const std::optional<std::string_view>& data,
                 RecordFormat format) {
  if (!data) {
    out += "null";
  } else if (format == RecordFormat::json) {
    out += *data;
  } else {
    out += '"';
    base64_encode(*data, out);
    out += '"';
  }
}

}  // namespace

ApiResult<Offset> render_records(const segment::LogSlice& slice, Offset from,
                                 std::string_view topic, int32_t partition, RecordFormat format,
                                 std::string& out) {
  if (slice.empty()) {
    out += "[]";
    return from;
  }
  auto bytes = slice.read_bytes();
  if (!bytes) {
    return ApiError{http::status::internal_server_error, 50002,
                    fmt::format("Reading {}-{}: {}", topic, partition, bytes.error().message())};
  }
  return render_batches(std::span<const std::byte>(bytes->get(), slice.length), from, topic,
                        partition, format, out);
}

ApiResult<Offset> render_batches(std::span<const std::byte> span, Offset from,
                                 std::string_view topic, int32_t partition, RecordFormat format,
                                 std::string& out) {
  Offset next = from;
  out += '[';
  std::string prefix = ",\"partition\":" + std::to_string(partition);
  std::string topic_json;
  append_json_string(topic_json, topic);
  std::vector<segment::HeaderView> headers;
  bool first = true;
  while (!span.empty()) {
    auto header = segment::validate_batch(span);
    if (!header) {
      return ApiError{
          http::status::internal_server_error, 50002,
          fmt::format("Corrupt batch in {}-{}: {}", topic, partition, header.error().message())};
    }
    segment::RecordReader reader(span.first(header->size_bytes()));
    while (auto record = reader.next()) {
      if (record->offset < from) continue;
      if (format == RecordFormat::json && ((record->key && !is_valid_json(*record->key)) ||
                                           (record->value && !is_valid_json(*record->value)))) {
        if (!first) {
          next = record->offset;
          out += ']';
          return next;
        }
        return ApiError{
            http::status::unprocessable_entity, kNotJson,
            fmt::format("Record at offset {0} of {1}-{2} is not JSON: read it with "
                        "application/vnd.kafka.binary.v2+json, or seek to offset {3} to skip it",
                        record->offset.value, topic, partition, record->offset.value + 1)};
      }
      if (!first) out += ',';
      first = false;
      out += "{\"topic\":";
      out += topic_json;
      out += ",\"key\":";
      append_data(out, record->key, format);
      out += ",\"value\":";
      append_data(out, record->value, format);
      out += prefix;
      fmt::format_to(std::back_inserter(out), ",\"offset\":{},\"timestamp\":{}",
                     record->offset.value, record->timestamp_ms);
      out += ",\"headers\":[";
      record->headers(headers);
      for (size_t i = 0; i < headers.size(); ++i) {
        if (i > 0) out += ',';
        out += "{\"name\":";
        append_json_string(out, headers[i].key);
        out += ",\"value\":";
        append_data(out, headers[i].value, RecordFormat::binary);
        out += '}';
      }
      out += "]}";
    }
    next = std::max(next, header->next_offset());
    span = span.subspan(header->size_bytes());
  }
  out += ']';
  return next;
}

}  // namespace sluice::net
