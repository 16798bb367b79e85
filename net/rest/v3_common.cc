#include "net/rest/v3_common.h"

#include <fmt/format.h>

namespace sluice::net {

std::string cluster_url(const Call& call) {
  return fmt::format("{}/v3/clusters/{}", call.base_url(), call.broker->cluster_id());
}

void write_related(JsonWriter& w, std::string_view name, const std::string& url) {
  w.key(name).begin_object().key("related").value(url).end_object();
}

void write_absent(JsonWriter& w, std::string_view name) { w.key(name).null(); }

void write_metadata(JsonWriter& w, const Call& call, const std::string& self,
                    std::string_view resource) {
  w.key("metadata").begin_object().key("self").value(self);
  w.key("resource_name")
      .value(fmt::format("crn:///kafka={}/{}", call.broker->cluster_id(), resource));
  w.end_object();
}

ApiResult<void> parse_v3_body(Call& call, simdjson::dom::parser& parser,
                              simdjson::dom::element& doc) {
  auto& text = call.request.body();
  text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  if (auto err = parser.parse(text).get(doc)) {
    return ApiError{http::status::bad_request, 40001,
                    fmt::format("Malformed JSON: {}", simdjson::error_message(err))};
  }
  return {};
}

}  // namespace sluice::net
