#pragma once

// What the REST Proxy v3 resources share: links, relationship fields and request bodies.

#include <simdjson.h>

#include <string>
#include <string_view>

#include "common/json_writer.h"
#include "net/rest/api_result.h"
#include "net/rest/router.h"

namespace sluice::net {

// Whether a topic is shown as internal (is_internal in v3, left out of v2 lists): "__" names.
inline bool is_internal(std::string_view topic) { return topic.starts_with("__"); }

// "http://host/v3/clusters/<id>": the base of every v3 link.
std::string cluster_url(const Call& call);

// "name": {"related": url}.
void write_related(JsonWriter& w, std::string_view name, const std::string& url);

// A relationship REST Proxy has and Sluice does not serve (ACLs, reassignments, broker
// configs): null, as REST Proxy shows an absent one, rather than a link that 404s.
void write_absent(JsonWriter& w, std::string_view name);

// "metadata": {"self", "resource_name": "crn:///kafka=<cluster>/<resource>"}.
void write_metadata(JsonWriter& w, const Call& call, const std::string& self,
                    std::string_view resource);

// Parses a v3 JSON request body into `doc` (400 / 40001 naming simdjson's reason if it is not
// JSON). `doc` points into `parser`, which must outlive it.
[[nodiscard]] ApiResult<void> parse_v3_body(Call& call, simdjson::dom::parser& parser,
                                            simdjson::dom::element& doc);

}  // namespace sluice::net
