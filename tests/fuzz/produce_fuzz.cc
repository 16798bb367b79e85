// libFuzzer target: REST Proxy produce bodies (v2 JSON and binary embedded formats, v3 records
// and streams). The first input byte picks the parser; the rest is the body. Whatever parses
// must point only into the body or the request's own arena.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/check.h"
#include "net/rest/produce_parser.h"

namespace {

bool inside(std::string_view part, const std::string& owner) {
  return part.data() >= owner.data() && part.data() + part.size() <= owner.data() + owner.size();
}

bool inside_either(const std::optional<std::string_view>& part, const std::string& body,
                   const std::string& arena) {
  return !part || part->empty() || inside(*part, body) || inside(*part, arena);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::net;
  if (size == 0) return 0;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  ProduceRequest request;
  std::optional<ProduceParseError> error;
  switch (data[0] % 3) {
    case 0:
      error = parse_produce_request(body, EmbeddedFormat::json, request);
      break;
    case 1:
      error = parse_produce_request(body, EmbeddedFormat::binary, request);
      break;
    default:
      error = parse_v3_records(body, request);
      break;
  }
  if (error) {
    SLUICE_CHECK(error->http_status == 400 || error->http_status == 422, "a client error");
    SLUICE_CHECK(!error->message.empty(), "an error says what is wrong");
    return 0;
  }
  SLUICE_CHECK(request.header_ranges.size() == request.records.size(), "a range per record");
  for (size_t r = 0; r < request.records.size(); ++r) {
    const auto& record = request.records[r];
    const auto& range = request.header_ranges[r];
    SLUICE_CHECK(inside_either(record.input.key, body, request.arena), "key inside the request");
    SLUICE_CHECK(inside_either(record.input.value, body, request.arena),
                 "value inside the request");
    SLUICE_CHECK(range.first + range.count <= request.headers.size(),
                 "headers inside the request's list");
    SLUICE_CHECK(record.input.headers.size() == range.count, "the record's headers are its range");
    for (size_t i = 0; i < range.count; ++i) {
      const auto& h = request.headers[range.first + i];
      SLUICE_CHECK(inside_either(h.key, body, request.arena), "header key inside the request");
      SLUICE_CHECK(inside_either(h.value, body, request.arena), "header value inside the request");
    }
  }
  return 0;
}
