#include "perf/load/bodies.h"

#include <fmt/format.h>

#include <chrono>

#include "common/base64.h"

namespace sluice::load {
namespace {

// record_size bytes of value: the stamp, if any, then filler.
std::string make_value(size_t size, std::optional<uint64_t> stamp_ns) {
  std::string value(size, 'x');
  if (stamp_ns && size >= kStampSize) {
    const auto stamp = fmt::format("T{:019}", *stamp_ns);
    value.replace(0, kStampSize, stamp);
  }
  return value;
}

}  // namespace

std::string produce_target(const Options& o, int partition, std::string_view cluster_id) {
  std::string target;
  if (o.format == "v3") {
    target = fmt::format("/v3/clusters/{}/topics/{}/records", cluster_id, o.topic);
  } else if (o.format == "raw") {
    target = fmt::format("/topics/{}/partitions/{}/records", o.topic, partition);
  } else {
    target = fmt::format("/topics/{}/partitions/{}", o.topic, partition);
  }
  if (!o.acks.empty()) target += "?acks=" + o.acks;
  return target;
}

std::string_view produce_content_type(std::string_view format) {
  if (format == "json") return "application/vnd.kafka.json.v2+json";
  if (format == "binary") return "application/vnd.kafka.binary.v2+json";
  if (format == "raw") return "application/vnd.sluice.batch";
  return "application/json";
}

void build_produce_body(const Options& o, int partition, std::optional<uint64_t> stamp_ns,
                        segment::BatchBuilder& builder, std::string& out) {
  out.clear();
  const auto size = static_cast<size_t>(o.record_size);
  const int n = o.records_per_request;
  if (o.format == "raw") {
    const std::string value = make_value(size, stamp_ns);
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    builder.reset();
    for (int i = 0; i < n; ++i) {
      builder.add(segment::RecordInput{std::nullopt, value, {}, now_ms});
    }
    const auto batch = builder.finish();
    out.assign(reinterpret_cast<const char*>(batch.data()), batch.size());
    return;
  }
  if (o.format == "json") {
    // A JSON string value is stored as its JSON text, quotes included: size bytes in all.
    const std::string text = '"' + make_value(size - 2, stamp_ns) + '"';
    out.reserve(16 + static_cast<size_t>(n) * (text.size() + 12));
    out += "{\"records\":[";
    for (int i = 0; i < n; ++i) {
      if (i > 0) out += ',';
      out += "{\"value\":";
      out += text;
      out += '}';
    }
    out += "]}";
    return;
  }
  const std::string b64 = base64_encode(make_value(size, stamp_ns));
  if (o.format == "binary") {
    out.reserve(16 + static_cast<size_t>(n) * (b64.size() + 14));
    out += "{\"records\":[";
    for (int i = 0; i < n; ++i) {
      if (i > 0) out += ',';
      out += "{\"value\":\"";
      out += b64;
      out += "\"}";
    }
    out += "]}";
    return;
  }
  // v3: a stream of concatenated records, one delivery report each.
  const std::string record = fmt::format(
      R"({{"partition_id":{},"value":{{"type":"BINARY","data":"{}"}}}})", partition, b64);
  out.reserve(static_cast<size_t>(n) * (record.size() + 1));
  for (int i = 0; i < n; ++i) {
    out += record;
    out += '\n';
  }
}

std::optional<uint64_t> read_stamp(std::string_view value) {
  if (!value.empty() && value.front() == '"') value.remove_prefix(1);
  if (value.size() < kStampSize || value.front() != 'T') return std::nullopt;
  uint64_t ns = 0;
  for (size_t i = 1; i < kStampSize; ++i) {
    const char c = value[i];
    if (c < '0' || c > '9') return std::nullopt;
    ns = ns * 10 + static_cast<uint64_t>(c - '0');
  }
  return ns;
}

}  // namespace sluice::load
