// Topic metadata (REST Proxy v2) and cluster/topic admin (REST Proxy v3).
#include <fmt/format.h>
#include <simdjson.h>

#include "broker/errors.h"
#include "net/handler_util.h"
#include "net/json_writer.h"
#include "net/router.h"

namespace sluice::net {
namespace {

bool is_internal(std::string_view topic) { return topic.starts_with("__"); }

void write_v2_partition(JsonWriter& w, int32_t partition, int32_t broker_id) {
  w.begin_object().key("partition").value(partition).key("leader").value(broker_id);
  w.key("replicas").begin_array().begin_object().key("broker").value(broker_id);
  w.key("leader").value(true).key("in_sync").value(true).end_object().end_array();
  w.end_object();
}

asio::awaitable<Reply> root(Call&) { co_return json_reply(http::status::ok, "{}", kKafkaV2); }

asio::awaitable<Reply> brokers(Call& call) {
  co_return json_reply(http::status::ok,
                       fmt::format("{{\"brokers\":[{}]}}", call.broker->config().broker_id),
                       kKafkaV2);
}

asio::awaitable<Reply> list_topics(Call& call) {
  std::string body;
  JsonWriter w(body);
  w.begin_array();
  for (const auto& name : call.broker->topics().list()) {
    if (!is_internal(name)) w.value(name);
  }
  w.end_array();
  co_return json_reply(http::status::ok, std::move(body), kKafkaV2);
}

asio::awaitable<Reply> get_topic(Call& call) {
  if (auto e = check_topic_name(call.params[0])) co_return error_reply(*e);
  auto d = call.broker->topics().describe(call.params[0]);
  if (!d) co_return error_reply(to_api_error(d.error(), call.params[0]));
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("name").value(d->name).key("configs").begin_object();
  for (const auto& [key, value] : config::topic_config_to_map(d->config)) w.key(key).value(value);
  w.end_object().key("partitions").begin_array();
  for (int32_t p = 0; p < d->partitions; ++p)
    write_v2_partition(w, p, call.broker->config().broker_id);
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body), kKafkaV2);
}

asio::awaitable<Reply> list_partitions(Call& call) {
  if (auto e = check_topic_name(call.params[0])) co_return error_reply(*e);
  auto d = call.broker->topics().describe(call.params[0]);
  if (!d) co_return error_reply(to_api_error(d.error(), call.params[0]));
  std::string body;
  JsonWriter w(body);
  w.begin_array();
  for (int32_t p = 0; p < d->partitions; ++p)
    write_v2_partition(w, p, call.broker->config().broker_id);
  w.end_array();
  co_return json_reply(http::status::ok, std::move(body), kKafkaV2);
}

asio::awaitable<Reply> get_partition(Call& call) {
  auto ref = find_partition(call, call.params[0], call.params[1]);
  if (ref.error) co_return error_reply(*ref.error);
  std::string body;
  JsonWriter w(body);
  write_v2_partition(w, ref.log->partition(), call.broker->config().broker_id);
  co_return json_reply(http::status::ok, std::move(body), kKafkaV2);
}

// --- v3 ------------------------------------------------------------------------------------

std::optional<ApiError> check_cluster(const Call& call) {
  if (call.params[0] == call.broker->cluster_id()) return std::nullopt;
  return ApiError{http::status::not_found, 40404,
                  fmt::format("Cluster '{}' not found", call.params[0])};
}

std::string cluster_url(const Call& call) {
  return fmt::format("{}/v3/clusters/{}", call.base_url(), call.broker->cluster_id());
}

void write_related(JsonWriter& w, std::string_view name, const std::string& url) {
  w.key(name).begin_object().key("related").value(url).end_object();
}

void write_cluster(JsonWriter& w, const Call& call) {
  const auto url = cluster_url(call);
  const auto& id = call.broker->cluster_id();
  w.begin_object().key("kind").value("KafkaCluster");
  w.key("metadata").begin_object().key("self").value(url);
  w.key("resource_name").value(fmt::format("crn:///kafka={}", id)).end_object();
  w.key("cluster_id").value(id);
  write_related(w, "controller",
                fmt::format("{}/brokers/{}", url, call.broker->config().broker_id));
  write_related(w, "acls", url + "/acls");
  write_related(w, "brokers", url + "/brokers");
  write_related(w, "broker_configs", url + "/broker-configs");
  write_related(w, "consumer_groups", url + "/consumer-groups");
  write_related(w, "topics", url + "/topics");
  write_related(w, "partition_reassignments", url + "/topics/-/partitions/-/reassignment");
  w.end_object();
}

void write_topic(JsonWriter& w, const Call& call, const broker::TopicDescription& d) {
  const auto url = fmt::format("{}/topics/{}", cluster_url(call), d.name);
  w.begin_object().key("kind").value("KafkaTopic");
  w.key("metadata").begin_object().key("self").value(url);
  w.key("resource_name")
      .value(fmt::format("crn:///kafka={}/topic={}", call.broker->cluster_id(), d.name));
  w.end_object();
  w.key("cluster_id").value(call.broker->cluster_id()).key("topic_name").value(d.name);
  w.key("is_internal").value(is_internal(d.name)).key("replication_factor").value(int64_t{1});
  w.key("partitions_count").value(d.partitions);
  write_related(w, "partitions", url + "/partitions");
  write_related(w, "configs", url + "/configs");
  write_related(w, "partition_reassignments", url + "/partitions/-/reassignment");
  w.key("authorized_operations").begin_array().end_array();
  w.end_object();
}

asio::awaitable<Reply> list_clusters(Call& call) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaClusterList");
  w.key("metadata").begin_object().key("self").value(call.base_url() + "/v3/clusters");
  w.key("next").null().end_object().key("data").begin_array();
  write_cluster(w, call);
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

asio::awaitable<Reply> get_cluster(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  std::string body;
  JsonWriter w(body);
  write_cluster(w, call);
  co_return json_reply(http::status::ok, std::move(body));
}

asio::awaitable<Reply> list_topics_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaTopicList");
  w.key("metadata").begin_object().key("self").value(cluster_url(call) + "/topics");
  w.key("next").null().end_object().key("data").begin_array();
  for (const auto& name : call.broker->topics().list()) {
    if (auto d = call.broker->topics().describe(name)) write_topic(w, call, *d);
  }
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

// Body: {"topic_name", "partitions_count", "replication_factor", "configs":[{name, value}]}.
asio::awaitable<Reply> create_topic_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  auto& body_text = call.request.body();
  body_text.reserve(body_text.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(body_text).get(doc)) {
    co_return error_reply({http::status::bad_request, 40001,
                           fmt::format("Malformed JSON: {}", simdjson::error_message(err))});
  }
  std::string_view name;
  if (doc["topic_name"].get(name)) {
    co_return error_reply({http::status::bad_request, 40002, "topic_name: required string"});
  }
  if (auto e = check_topic_name(name)) co_return error_reply(*e);
  int64_t partitions = call.broker->config().num_partitions;
  if (auto field = doc["partitions_count"]; field.error() != simdjson::NO_SUCH_FIELD) {
    if (field.get(partitions)) {
      co_return error_reply(
          {http::status::bad_request, 40002, "partitions_count: expected an integer"});
    }
  }
  int64_t replication = 1;
  if (auto field = doc["replication_factor"]; field.error() != simdjson::NO_SUCH_FIELD) {
    if (field.get(replication) || (replication != 1 && replication != -1)) {
      co_return error_reply({http::status::bad_request, 40002,
                             "replication_factor: a single broker supports only 1"});
    }
  }
  std::map<std::string, std::string> overrides;
  if (auto field = doc["configs"]; field.error() != simdjson::NO_SUCH_FIELD) {
    simdjson::dom::array configs;
    if (field.get(configs)) {
      co_return error_reply({http::status::bad_request, 40002, "configs: expected an array"});
    }
    for (auto entry : configs) {
      std::string_view key;
      std::string_view value;
      if (entry["name"].get(key) || entry["value"].get(value)) {
        co_return error_reply(
            {http::status::bad_request, 40002, "configs: each entry needs string name and value"});
      }
      overrides[std::string(key)] = std::string(value);
    }
  }
  if (partitions < 1 || partitions > broker::kMaxPartitions) {
    co_return error_reply(to_api_error(broker::Errc::invalid_partition_count, name));
  }
  Result<broker::TopicDescription> created = broker::Errc::invalid_config;
  try {
    created = call.broker->topics().create_topic(name, static_cast<int32_t>(partitions), overrides);
  } catch (const config::ConfigError& e) {
    co_return error_reply({http::status::bad_request, 40002, e.what()});
  }
  if (!created) co_return error_reply(to_api_error(created.error(), name));
  std::string body;
  JsonWriter w(body);
  write_topic(w, call, *created);
  co_return json_reply(http::status::created, std::move(body));
}

asio::awaitable<Reply> get_topic_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  if (auto e = check_topic_name(call.params[1])) co_return error_reply(*e);
  auto d = call.broker->topics().describe(call.params[1]);
  if (!d) co_return error_reply(to_api_error(d.error(), call.params[1]));
  std::string body;
  JsonWriter w(body);
  write_topic(w, call, *d);
  co_return json_reply(http::status::ok, std::move(body));
}

asio::awaitable<Reply> delete_topic_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  if (auto e = check_topic_name(call.params[1])) co_return error_reply(*e);
  if (auto r = call.broker->topics().delete_topic(call.params[1]); !r) {
    co_return error_reply(to_api_error(r.error(), call.params[1]));
  }
  Reply reply;
  reply.message.result(http::status::no_content);
  co_return reply;
}

asio::awaitable<Reply> topic_configs_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  if (auto e = check_topic_name(call.params[1])) co_return error_reply(*e);
  auto d = call.broker->topics().describe(call.params[1]);
  if (!d) co_return error_reply(to_api_error(d.error(), call.params[1]));
  const auto url = fmt::format("{}/topics/{}/configs", cluster_url(call), d->name);
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaTopicConfigList");
  w.key("metadata").begin_object().key("self").value(url).key("next").null().end_object();
  w.key("data").begin_array();
  for (const auto& [key, value] : config::topic_config_to_map(d->config)) {
    const bool is_default = !d->overrides.contains(key);
    w.begin_object().key("kind").value("KafkaTopicConfig");
    w.key("metadata").begin_object().key("self").value(url + "/" + key);
    w.key("resource_name")
        .value(fmt::format("crn:///kafka={}/topic={}/config={}", call.broker->cluster_id(), d->name,
                           key));
    w.end_object();
    w.key("cluster_id").value(call.broker->cluster_id()).key("topic_name").value(d->name);
    w.key("name").value(key).key("value").value(value).key("is_default").value(is_default);
    w.key("is_read_only").value(false).key("is_sensitive").value(false);
    w.key("source").value(is_default ? "DEFAULT_CONFIG" : "DYNAMIC_TOPIC_CONFIG");
    w.key("synonyms").begin_array().end_array().end_object();
  }
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

asio::awaitable<Reply> topic_partitions_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  if (auto e = check_topic_name(call.params[1])) co_return error_reply(*e);
  auto d = call.broker->topics().describe(call.params[1]);
  if (!d) co_return error_reply(to_api_error(d.error(), call.params[1]));
  const auto url = fmt::format("{}/topics/{}/partitions", cluster_url(call), d->name);
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaPartitionList");
  w.key("metadata").begin_object().key("self").value(url).key("next").null().end_object();
  w.key("data").begin_array();
  for (int32_t p = 0; p < d->partitions; ++p) {
    const auto self = fmt::format("{}/{}", url, p);
    w.begin_object().key("kind").value("KafkaPartition");
    w.key("metadata").begin_object().key("self").value(self);
    w.key("resource_name")
        .value(fmt::format("crn:///kafka={}/topic={}/partition={}", call.broker->cluster_id(),
                           d->name, p));
    w.end_object();
    w.key("cluster_id").value(call.broker->cluster_id()).key("topic_name").value(d->name);
    w.key("partition_id").value(p);
    write_related(w, "leader",
                  fmt::format("{}/replicas/{}", self, call.broker->config().broker_id));
    write_related(w, "replicas", self + "/replicas");
    write_related(w, "reassignment", self + "/reassignment");
    w.end_object();
  }
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

}  // namespace

void add_admin_routes(std::vector<Route>& routes) {
  routes.push_back({http::verb::get, "/", root, false});
  routes.push_back({http::verb::get, "/brokers", brokers});
  routes.push_back({http::verb::get, "/topics", list_topics});
  routes.push_back({http::verb::get, "/topics/{}", get_topic});
  routes.push_back({http::verb::get, "/topics/{}/partitions", list_partitions});
  routes.push_back({http::verb::get, "/topics/{}/partitions/{}", get_partition});
  routes.push_back({http::verb::get, "/v3/clusters", list_clusters});
  routes.push_back({http::verb::get, "/v3/clusters/{}", get_cluster});
  routes.push_back({http::verb::get, "/v3/clusters/{}/topics", list_topics_v3});
  routes.push_back({http::verb::post, "/v3/clusters/{}/topics", create_topic_v3});
  routes.push_back({http::verb::get, "/v3/clusters/{}/topics/{}", get_topic_v3});
  routes.push_back({http::verb::delete_, "/v3/clusters/{}/topics/{}", delete_topic_v3});
  routes.push_back({http::verb::get, "/v3/clusters/{}/topics/{}/configs", topic_configs_v3});
  routes.push_back({http::verb::get, "/v3/clusters/{}/topics/{}/partitions", topic_partitions_v3});
}

}  // namespace sluice::net
