// REST Proxy v2 metadata: brokers, topics and partitions.
#include <fmt/format.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "common/json_writer.h"
#include "net/rest/handler_util.h"
#include "net/rest/router.h"
#include "net/rest/v3_common.h"

namespace sluice::net {
namespace {

void write_v2_partition(JsonWriter& w, const Call& call, std::string_view topic,
                        int32_t partition) {
  const auto placement = partition_placement(call, topic, partition);
  w.begin_object().key("partition").value(partition).key("leader").value(placement.leader);
  w.key("replicas").begin_array();
  for (const auto& r : placement.replicas) {
    w.begin_object().key("broker").value(r.broker).key("leader").value(r.leader);
    w.key("in_sync").value(r.in_sync).end_object();
  }
  w.end_array().end_object();
}

asio::awaitable<Reply> root(Call&) { co_return json_reply(http::status::ok, "{}", kKafkaV2); }

// REST Proxy's POST / answers the JSON object it was sent: a probe of content negotiation.
asio::awaitable<Reply> root_echo(Call& call) {
  const auto type = media_type(call.header(http::field::content_type));
  if (type != kKafkaV2 && type != "application/json" && type != "application/vnd.kafka+json") {
    co_return error_reply(
        {http::status::unsupported_media_type, 415,
         fmt::format("HTTP 415 Unsupported Media Type: '{}'; use {}", type, kKafkaV2)});
  }
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(call.request.body()).get_object().get(object)) {
    co_return error_reply(
        {http::status::bad_request, 40001, "Malformed request: the body must be a JSON object"});
  }
  co_return json_reply(http::status::ok, simdjson::minify(object), kKafkaV2);
}

asio::awaitable<Reply> brokers(Call& call) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("brokers").begin_array();
  for (const auto& b : cluster_brokers(call)) w.value(b.id);
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body), kKafkaV2);
}

asio::awaitable<Reply> list_topics(Call& call) {
  std::string body;
  JsonWriter w(body);
  w.begin_array();
  for (const auto& name : call.broker->topics().list()) {
    // A principal sees only the topics it may describe.
    if (!is_internal(name) &&
        permitted(call, broker::AclOperation::describe, broker::AclResourceType::topic, name)) {
      w.value(name);
    }
  }
  w.end_array();
  co_return json_reply(http::status::ok, std::move(body), kKafkaV2);
}

asio::awaitable<Reply> get_topic(Call& call) {
  auto d = call.broker->topics().describe(call.params[0]);
  if (!d) co_return error_reply(to_api_error(d.error(), call.params[0]));
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("name").value(d->name).key("configs").begin_object();
  for (const auto& [key, value] : config::topic_config_to_map(d->config)) w.key(key).value(value);
  w.end_object().key("partitions").begin_array();
  for (int32_t p = 0; p < d->partitions; ++p) write_v2_partition(w, call, d->name, p);
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body), kKafkaV2);
}

asio::awaitable<Reply> list_partitions(Call& call) {
  auto d = call.broker->topics().describe(call.params[0]);
  if (!d) co_return error_reply(to_api_error(d.error(), call.params[0]));
  std::string body;
  JsonWriter w(body);
  w.begin_array();
  for (int32_t p = 0; p < d->partitions; ++p) write_v2_partition(w, call, d->name, p);
  w.end_array();
  co_return json_reply(http::status::ok, std::move(body), kKafkaV2);
}

asio::awaitable<Reply> get_partition(Call& call) {
  auto ref = find_partition(call, call.params[0], call.params[1]);
  if (!ref) co_return error_reply(ref.error());
  std::string body;
  JsonWriter w(body);
  write_v2_partition(w, call, (*ref)->topic(), (*ref)->partition());
  co_return json_reply(http::status::ok, std::move(body), kKafkaV2);
}

}  // namespace

void add_v2_metadata_routes(std::vector<Route>& routes) {
  routes.push_back({http::verb::get, "/", root, false});
  routes.push_back({http::verb::post, "/", root_echo, false});
  routes.push_back({http::verb::get, "/brokers", brokers});
  routes.push_back({http::verb::get, "/topics", list_topics});
  routes.push_back(
      {.method = http::verb::get, .pattern = "/topics/{}", .handler = get_topic, .topic_param = 0});
  routes.push_back({.method = http::verb::get,
                    .pattern = "/topics/{}/partitions",
                    .handler = list_partitions,
                    .topic_param = 0});
  routes.push_back({.method = http::verb::get,
                    .pattern = "/topics/{}/partitions/{}",
                    .handler = get_partition,
                    .topic_param = 0});
}

}  // namespace sluice::net
