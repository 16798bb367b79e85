// Topic metadata (REST Proxy v2); cluster, topic and consumer-group admin (REST Proxy v3).
#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "broker/consumer_groups.h"
#include "broker/errors.h"
#include "net/rest/durable.h"
#include "net/rest/handler_util.h"
#include "net/rest/json_writer.h"
#include "net/rest/router.h"

namespace sluice::net {
namespace {

// What an admin write on the broker's worker returns: the registry's result, or the message
// of the configuration error that refused it.
template <typename T>
struct AdminResult {
  AdminResult(Result<T> r, std::string error)
      : result(std::move(r)), config_error(std::move(error)) {}
  Result<T> result;
  std::string config_error;
};

bool is_internal(std::string_view topic) { return topic.starts_with("__"); }

// "a=1, b reset to default" for the log line of a topic change.
std::string describe_changes(const std::map<std::string, std::optional<std::string>>& changes) {
  std::string out;
  for (const auto& [name, value] : changes) {
    if (!out.empty()) out += ", ";
    out += value ? fmt::format("{}={}", name, *value) : name + " reset to default";
  }
  return out;
}

std::string describe_changes(const std::map<std::string, std::string>& configs) {
  return describe_changes(
      std::map<std::string, std::optional<std::string>>(configs.begin(), configs.end()));
}

void write_v2_partition(JsonWriter& w, int32_t partition, int32_t broker_id) {
  w.begin_object().key("partition").value(partition).key("leader").value(broker_id);
  w.key("replicas").begin_array().begin_object().key("broker").value(broker_id);
  w.key("leader").value(true).key("in_sync").value(true).end_object().end_array();
  w.end_object();
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

// A relationship REST Proxy has and Sluice does not serve (ACLs, reassignments, broker
// configs): null, as REST Proxy shows an absent one, rather than a link that 404s.
void write_absent(JsonWriter& w, std::string_view name) { w.key(name).null(); }

void write_cluster(JsonWriter& w, const Call& call) {
  const auto url = cluster_url(call);
  const auto& id = call.broker->cluster_id();
  w.begin_object().key("kind").value("KafkaCluster");
  w.key("metadata").begin_object().key("self").value(url);
  w.key("resource_name").value(fmt::format("crn:///kafka={}", id)).end_object();
  w.key("cluster_id").value(id);
  write_related(w, "controller",
                fmt::format("{}/brokers/{}", url, call.broker->config().broker_id));
  write_absent(w, "acls");
  write_related(w, "brokers", url + "/brokers");
  write_absent(w, "broker_configs");
  write_related(w, "consumer_groups", url + "/consumer-groups");
  write_related(w, "topics", url + "/topics");
  write_absent(w, "partition_reassignments");
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
  write_absent(w, "partition_reassignments");
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

// Parses a v3 JSON request body into `doc`, or says why not.
std::optional<ApiError> parse_v3_body(Call& call, simdjson::dom::parser& parser,
                                      simdjson::dom::element& doc) {
  auto& text = call.request.body();
  text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  if (auto err = parser.parse(text).get(doc)) {
    return ApiError{http::status::bad_request, 40001,
                    fmt::format("Malformed JSON: {}", simdjson::error_message(err))};
  }
  return std::nullopt;
}

// Body: {"topic_name", "partitions_count", "replication_factor", "configs":[{name, value}]}.
asio::awaitable<Reply> create_topic_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto e = parse_v3_body(call, parser, doc)) co_return error_reply(*e);
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
  // On the broker's worker: creating a topic syncs its files and directories.
  auto& registry = call.broker->topics();
  auto create = [&]() -> AdminResult<broker::TopicDescription> {
    try {
      return {registry.create_topic(name, static_cast<int32_t>(partitions), overrides), {}};
    } catch (const config::ConfigError& e) {
      return {broker::Errc::invalid_config, e.what()};
    }
  };
  auto outcome = co_await on_worker(call.broker->worker(), create);
  if (!outcome.config_error.empty()) {
    co_return error_reply({http::status::bad_request, 40002, outcome.config_error});
  }
  const auto& created = outcome.result;
  if (!created) co_return error_reply(to_api_error(created.error(), name));
  spdlog::info("created topic '{}' with {} partitions{}{}", name, created->partitions,
               overrides.empty() ? "" : ", configs: ", describe_changes(overrides));
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
  // On the broker's worker: a delete waits for the flusher to let go of the partitions.
  auto& registry = call.broker->topics();
  const std::string_view topic = call.params[1];
  auto remove = [&] { return registry.delete_topic(topic); };
  if (auto r = co_await on_worker(call.broker->worker(), remove); !r) {
    co_return error_reply(to_api_error(r.error(), topic));
  }
  spdlog::info("deleted topic '{}'", call.params[1]);
  Reply reply;
  reply.message.result(http::status::no_content);
  co_return reply;
}

void write_topic_config(JsonWriter& w, const Call& call, const broker::TopicDescription& d,
                        const std::string& key, const std::string& value) {
  const bool is_default = !d.overrides.contains(key);
  w.begin_object().key("kind").value("KafkaTopicConfig");
  w.key("metadata")
      .begin_object()
      .key("self")
      .value(fmt::format("{}/topics/{}/configs/{}", cluster_url(call), d.name, key));
  w.key("resource_name")
      .value(fmt::format("crn:///kafka={}/topic={}/config={}", call.broker->cluster_id(), d.name,
                         key));
  w.end_object();
  w.key("cluster_id").value(call.broker->cluster_id()).key("topic_name").value(d.name);
  w.key("name").value(key).key("value").value(value).key("is_default").value(is_default);
  w.key("is_read_only").value(false).key("is_sensitive").value(false);
  w.key("source").value(is_default ? "DEFAULT_CONFIG" : "DYNAMIC_TOPIC_CONFIG");
  w.key("synonyms").begin_array().end_array().end_object();
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
    write_topic_config(w, call, *d, key, value);
  }
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

ApiError unknown_config(std::string_view name) {
  return {http::status::not_found, 404, fmt::format("Topic config '{}' not found", name)};
}

// params: cluster, topic, config name.
asio::awaitable<Reply> topic_config_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  if (auto e = check_topic_name(call.params[1])) co_return error_reply(*e);
  auto d = call.broker->topics().describe(call.params[1]);
  if (!d) co_return error_reply(to_api_error(d.error(), call.params[1]));
  const auto all = config::topic_config_to_map(d->config);
  auto it = all.find(call.params[2]);
  if (it == all.end()) co_return error_reply(unknown_config(call.params[2]));
  std::string body;
  JsonWriter w(body);
  write_topic_config(w, call, *d, it->first, it->second);
  co_return json_reply(http::status::ok, std::move(body));
}

// Applies `changes` (a value sets an override, nullopt removes it) to the topic in params[1]:
// 204, or the error. Names must be topic configs; values are checked as at creation.
asio::awaitable<Reply> alter_topic_config(
    Call& call, const std::map<std::string, std::optional<std::string>>& changes) {
  const auto& topic = call.params[1];
  auto d = call.broker->topics().describe(topic);
  if (!d) co_return error_reply(to_api_error(d.error(), topic));
  const auto known = config::topic_config_to_map(d->config);
  for (const auto& [name, value] : changes) {
    if (!known.contains(name)) co_return error_reply(unknown_config(name));
  }
  // On the broker's worker: the new values are written to every partition's topic.properties.
  auto& registry = call.broker->topics();
  auto alter = [&]() -> AdminResult<broker::TopicDescription> {
    try {
      return {registry.alter_config(topic, changes), {}};
    } catch (const config::ConfigError& e) {
      return {broker::Errc::invalid_config, e.what()};
    }
  };
  auto outcome = co_await on_worker(call.broker->worker(), alter);
  if (!outcome.config_error.empty()) {
    co_return error_reply({http::status::bad_request, 40002, outcome.config_error});
  }
  if (!outcome.result) co_return error_reply(to_api_error(outcome.result.error(), topic));
  spdlog::info("topic '{}' config: {}", topic, describe_changes(changes));
  Reply reply;
  reply.message.result(http::status::no_content);
  co_return reply;
}

// PUT .../configs/{name} with {"value":"..."}: sets one override.
asio::awaitable<Reply> set_topic_config_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  if (auto e = check_topic_name(call.params[1])) co_return error_reply(*e);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto e = parse_v3_body(call, parser, doc)) co_return error_reply(*e);
  std::string_view value;
  if (doc["value"].get(value)) {
    co_return error_reply({http::status::bad_request, 40002, "value: required string"});
  }
  const std::map<std::string, std::optional<std::string>> changes = {
      {call.params[2], std::string(value)}};
  co_return co_await alter_topic_config(call, changes);
}

// DELETE .../configs/{name}: back to the broker's default.
asio::awaitable<Reply> reset_topic_config_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  if (auto e = check_topic_name(call.params[1])) co_return error_reply(*e);
  const std::map<std::string, std::optional<std::string>> changes = {
      {call.params[2], std::nullopt}};
  co_return co_await alter_topic_config(call, changes);
}

// POST .../configs:alter with {"data":[{"name":..., "value":...} or
// {"name":..., "operation":"DELETE"}]}: all changes or none.
asio::awaitable<Reply> alter_topic_configs_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  if (auto e = check_topic_name(call.params[1])) co_return error_reply(*e);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto e = parse_v3_body(call, parser, doc)) co_return error_reply(*e);
  simdjson::dom::array data;
  if (doc["data"].get(data)) {
    co_return error_reply({http::status::bad_request, 40002, "data: required array"});
  }
  std::map<std::string, std::optional<std::string>> changes;
  for (auto entry : data) {
    std::string_view name;
    if (entry["name"].get(name)) {
      co_return error_reply({http::status::bad_request, 40002, "data: each entry needs a name"});
    }
    std::string_view operation = "SET";
    if (auto op = entry["operation"]; op.error() != simdjson::NO_SUCH_FIELD && op.get(operation)) {
      co_return error_reply({http::status::bad_request, 40002, "operation: expected a string"});
    }
    if (operation == "DELETE") {
      changes[std::string(name)] = std::nullopt;
      continue;
    }
    std::string_view value;
    if (operation != "SET" || entry["value"].get(value)) {
      co_return error_reply(
          {http::status::bad_request, 40002,
           fmt::format("'{}': SET needs a string value; operation must be SET or DELETE", name)});
    }
    changes[std::string(name)] = std::string(value);
  }
  co_return co_await alter_topic_config(call, changes);
}

void write_partition(JsonWriter& w, const Call& call, const std::string& topic, int32_t p) {
  const auto self = fmt::format("{}/topics/{}/partitions/{}", cluster_url(call), topic, p);
  w.begin_object().key("kind").value("KafkaPartition");
  w.key("metadata").begin_object().key("self").value(self);
  w.key("resource_name")
      .value(fmt::format("crn:///kafka={}/topic={}/partition={}", call.broker->cluster_id(), topic,
                         p));
  w.end_object();
  w.key("cluster_id").value(call.broker->cluster_id()).key("topic_name").value(topic);
  w.key("partition_id").value(p);
  write_related(w, "leader", fmt::format("{}/replicas/{}", self, call.broker->config().broker_id));
  write_related(w, "replicas", self + "/replicas");
  write_absent(w, "reassignment");
  w.end_object();
}

// The one replica of a partition: this broker's, the leader, always in sync.
void write_replica(JsonWriter& w, const Call& call, const std::string& topic, int32_t p) {
  const auto id = call.broker->config().broker_id;
  w.begin_object().key("kind").value("KafkaReplica");
  w.key("metadata")
      .begin_object()
      .key("self")
      .value(
          fmt::format("{}/topics/{}/partitions/{}/replicas/{}", cluster_url(call), topic, p, id));
  w.key("resource_name")
      .value(fmt::format("crn:///kafka={}/topic={}/partition={}/replica={}",
                         call.broker->cluster_id(), topic, p, id));
  w.end_object();
  w.key("cluster_id").value(call.broker->cluster_id()).key("topic_name").value(topic);
  w.key("partition_id").value(p).key("broker_id").value(id);
  w.key("is_leader").value(true).key("is_in_sync").value(true);
  write_related(w, "broker", fmt::format("{}/brokers/{}", cluster_url(call), id));
  w.end_object();
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
  for (int32_t p = 0; p < d->partitions; ++p) write_partition(w, call, d->name, p);
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

// params: cluster, topic, partition.
asio::awaitable<Reply> topic_partition_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  auto ref = find_partition(call, call.params[1], call.params[2]);
  if (ref.error) co_return error_reply(*ref.error);
  std::string body;
  JsonWriter w(body);
  write_partition(w, call, ref.log->topic(), ref.log->partition());
  co_return json_reply(http::status::ok, std::move(body));
}

asio::awaitable<Reply> partition_replicas_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  auto ref = find_partition(call, call.params[1], call.params[2]);
  if (ref.error) co_return error_reply(*ref.error);
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaReplicaList");
  w.key("metadata")
      .begin_object()
      .key("self")
      .value(fmt::format("{}/topics/{}/partitions/{}/replicas", cluster_url(call), ref.log->topic(),
                         ref.log->partition()))
      .key("next")
      .null()
      .end_object();
  w.key("data").begin_array();
  write_replica(w, call, ref.log->topic(), ref.log->partition());
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

// params: cluster, topic, partition, broker.
asio::awaitable<Reply> partition_replica_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  auto ref = find_partition(call, call.params[1], call.params[2]);
  if (ref.error) co_return error_reply(*ref.error);
  if (call.params[3] != std::to_string(call.broker->config().broker_id)) {
    co_return error_reply({http::status::not_found, 404,
                           fmt::format("Replica on broker '{}' not found", call.params[3])});
  }
  std::string body;
  JsonWriter w(body);
  write_replica(w, call, ref.log->topic(), ref.log->partition());
  co_return json_reply(http::status::ok, std::move(body));
}

// --- v3 consumer groups (read-only: members, assignments, lag) -----------------------------

struct GroupView {
  broker::ConsumerGroups::GroupDescription d;
  std::string url;  // the group's own URL
};

GroupView view_of(const Call& call, broker::ConsumerGroups::GroupDescription d) {
  auto url = fmt::format("{}/consumer-groups/{}", cluster_url(call), encode_path_segment(d.group));
  return {std::move(d), std::move(url)};
}

// The group named by params[1], or the error to reply with.
std::variant<GroupView, ApiError> find_group(Call& call) {
  if (auto e = check_cluster(call)) return *e;
  auto d = call.broker->groups().describe(call.params[1]);
  if (!d) {
    return ApiError{http::status::not_found, 40403,
                    fmt::format("Consumer group '{}' not found", call.params[1])};
  }
  return view_of(call, std::move(*d));
}

void write_metadata(JsonWriter& w, const Call& call, const std::string& self,
                    std::string_view resource) {
  w.key("metadata").begin_object().key("self").value(self);
  w.key("resource_name")
      .value(fmt::format("crn:///kafka={}/{}", call.broker->cluster_id(), resource));
  w.end_object();
}

void write_group(JsonWriter& w, const Call& call, const GroupView& g) {
  w.begin_object().key("kind").value("KafkaConsumerGroup");
  write_metadata(w, call, g.url, fmt::format("consumer-group={}", g.d.group));
  w.key("cluster_id").value(call.broker->cluster_id()).key("consumer_group_id").value(g.d.group);
  w.key("is_simple").value(false);
  w.key("partition_assignor")
      .value(g.d.strategy == broker::AssignmentStrategy::range ? "range" : "roundrobin");
  w.key("state").value(g.d.members.empty() ? "EMPTY" : "STABLE");
  write_related(w, "coordinator",
                fmt::format("{}/brokers/{}", cluster_url(call), call.broker->config().broker_id));
  write_related(w, "consumers", g.url + "/consumers");
  write_related(w, "lag_summary", g.url + "/lag-summary");
  w.end_object();
}

asio::awaitable<Reply> list_groups_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaConsumerGroupList");
  w.key("metadata").begin_object().key("self").value(cluster_url(call) + "/consumer-groups");
  w.key("next").null().end_object().key("data").begin_array();
  for (const auto& name : call.broker->groups().group_names()) {
    auto d = call.broker->groups().describe(name);
    if (!d) continue;  // emptied meanwhile
    write_group(w, call, view_of(call, std::move(*d)));
  }
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

asio::awaitable<Reply> get_group_v3(Call& call) {
  auto found = find_group(call);
  if (auto* e = std::get_if<ApiError>(&found)) co_return error_reply(*e);
  std::string body;
  JsonWriter w(body);
  write_group(w, call, std::get<GroupView>(found));
  co_return json_reply(http::status::ok, std::move(body));
}

// A REST Proxy consumer instance is the group member: its name is the consumer and client id.
void write_consumer(JsonWriter& w, const Call& call, const GroupView& g, const std::string& name,
                    const std::vector<broker::TopicPartition>& assigned) {
  const auto self = fmt::format("{}/consumers/{}", g.url, encode_path_segment(name));
  w.begin_object().key("kind").value("KafkaConsumer");
  write_metadata(w, call, self, fmt::format("consumer-group={}/consumer={}", g.d.group, name));
  w.key("cluster_id").value(call.broker->cluster_id()).key("consumer_group_id").value(g.d.group);
  w.key("consumer_id").value(name).key("instance_id").null().key("client_id").value(name);
  w.key("assignments").begin_array();
  for (const auto& tp : assigned) {
    w.begin_object().key("topic_name").value(tp.topic);
    w.key("partition_id").value(tp.partition).end_object();
  }
  w.end_array().end_object();
}

asio::awaitable<Reply> group_consumers_v3(Call& call) {
  auto found = find_group(call);
  if (auto* e = std::get_if<ApiError>(&found)) co_return error_reply(*e);
  const auto& g = std::get<GroupView>(found);
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaConsumerList");
  w.key("metadata").begin_object().key("self").value(g.url + "/consumers");
  w.key("next").null().end_object().key("data").begin_array();
  for (const auto& [name, assigned] : g.d.members) write_consumer(w, call, g, name, assigned);
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

asio::awaitable<Reply> group_consumer_v3(Call& call) {
  auto found = find_group(call);
  if (auto* e = std::get_if<ApiError>(&found)) co_return error_reply(*e);
  const auto& g = std::get<GroupView>(found);
  for (const auto& [name, assigned] : g.d.members) {
    if (name != call.params[2]) continue;
    std::string body;
    JsonWriter w(body);
    write_consumer(w, call, g, name, assigned);
    co_return json_reply(http::status::ok, std::move(body));
  }
  co_return error_reply(
      {http::status::not_found, 40403,
       fmt::format("Consumer '{}' not found in group '{}'", call.params[2], g.d.group)});
}

// The single broker this is.
void write_broker(JsonWriter& w, const Call& call) {
  const auto id = call.broker->config().broker_id;
  const auto self = fmt::format("{}/brokers/{}", cluster_url(call), id);
  w.begin_object().key("kind").value("KafkaBroker");
  write_metadata(w, call, self, fmt::format("broker={}", id));
  w.key("cluster_id").value(call.broker->cluster_id()).key("broker_id").value(id);
  w.key("host").null().key("port").null().key("rack").null();
  write_absent(w, "configs");
  write_absent(w, "partition_replicas");
  w.end_object();
}

asio::awaitable<Reply> list_brokers_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaBrokerList");
  w.key("metadata").begin_object().key("self").value(cluster_url(call) + "/brokers");
  w.key("next").null().end_object().key("data").begin_array();
  write_broker(w, call);
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

asio::awaitable<Reply> get_broker_v3(Call& call) {
  if (auto e = check_cluster(call)) co_return error_reply(*e);
  if (call.params[1] != std::to_string(call.broker->config().broker_id)) {
    co_return error_reply(
        {http::status::not_found, 404, fmt::format("Broker '{}' not found", call.params[1])});
  }
  std::string body;
  JsonWriter w(body);
  write_broker(w, call);
  co_return json_reply(http::status::ok, std::move(body));
}

void write_lag(JsonWriter& w, const Call& call, const GroupView& g,
               const broker::ConsumerGroups::PartitionLag& lag) {
  w.begin_object().key("kind").value("KafkaConsumerLag");
  write_metadata(w, call,
                 fmt::format("{}/lags/{}/partitions/{}", g.url, lag.tp.topic, lag.tp.partition),
                 fmt::format("consumer-group={}/lag={}/partition={}", g.d.group, lag.tp.topic,
                             lag.tp.partition));
  w.key("cluster_id").value(call.broker->cluster_id()).key("consumer_group_id").value(g.d.group);
  w.key("topic_name").value(lag.tp.topic).key("partition_id").value(lag.tp.partition);
  w.key("current_offset").value(lag.committed).key("log_end_offset").value(lag.end);
  w.key("lag").value(lag.lag()).key("consumer_id").value(lag.member);
  w.key("instance_id").null().key("client_id").value(lag.member).end_object();
}

asio::awaitable<Reply> group_lags_v3(Call& call) {
  auto found = find_group(call);
  if (auto* e = std::get_if<ApiError>(&found)) co_return error_reply(*e);
  const auto& g = std::get<GroupView>(found);
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaConsumerLagList");
  w.key("metadata").begin_object().key("self").value(g.url + "/lags");
  w.key("next").null().end_object().key("data").begin_array();
  for (const auto& lag : call.broker->groups().lags(g.d)) write_lag(w, call, g, lag);
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

// params: cluster, group, topic, partition.
asio::awaitable<Reply> group_lag_v3(Call& call) {
  auto found = find_group(call);
  if (auto* e = std::get_if<ApiError>(&found)) co_return error_reply(*e);
  const auto& g = std::get<GroupView>(found);
  for (const auto& lag : call.broker->groups().lags(g.d)) {
    if (lag.tp.topic != call.params[2] || std::to_string(lag.tp.partition) != call.params[3]) {
      continue;
    }
    std::string body;
    JsonWriter w(body);
    write_lag(w, call, g, lag);
    co_return json_reply(http::status::ok, std::move(body));
  }
  co_return error_reply({http::status::not_found, 404,
                         fmt::format("No lag of group '{}' for {}-{}: nothing committed there",
                                     g.d.group, call.params[2], call.params[3])});
}

asio::awaitable<Reply> group_lag_summary_v3(Call& call) {
  auto found = find_group(call);
  if (auto* e = std::get_if<ApiError>(&found)) co_return error_reply(*e);
  const auto& g = std::get<GroupView>(found);
  const auto lags = call.broker->groups().lags(g.d);
  const broker::ConsumerGroups::PartitionLag* max = nullptr;
  int64_t total = 0;
  for (const auto& lag : lags) {
    total += lag.lag();
    if (max == nullptr || lag.lag() > max->lag()) max = &lag;
  }
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaConsumerGroupLagSummary");
  write_metadata(w, call, g.url + "/lag-summary",
                 fmt::format("consumer-group={}/lag-summary", g.d.group));
  w.key("cluster_id").value(call.broker->cluster_id()).key("consumer_group_id").value(g.d.group);
  if (max == nullptr) {  // nothing committed yet
    w.key("max_lag_consumer_id").null().key("max_lag_instance_id").null();
    w.key("max_lag_client_id").null().key("max_lag_topic_name").null();
    w.key("max_lag_partition_id").null();
  } else {
    w.key("max_lag_consumer_id").value(max->member).key("max_lag_instance_id").null();
    w.key("max_lag_client_id").value(max->member);
    w.key("max_lag_topic_name").value(max->tp.topic);
    w.key("max_lag_partition_id").value(max->tp.partition);
  }
  w.key("max_lag").value(max == nullptr ? int64_t{0} : max->lag()).key("total_lag").value(total);
  if (max != nullptr) {
    if (!max->member.empty()) {
      write_related(w, "max_lag_consumer",
                    g.url + "/consumers/" + encode_path_segment(max->member));
    }
    write_related(w, "max_lag_partition",
                  fmt::format("{}/topics/{}/partitions/{}", cluster_url(call), max->tp.topic,
                              max->tp.partition));
  }
  w.end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

}  // namespace

void add_admin_routes(std::vector<Route>& routes) {
  routes.push_back({http::verb::get, "/", root, false});
  routes.push_back({http::verb::post, "/", root_echo, false});
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
  routes.push_back({http::verb::get, "/v3/clusters/{}/topics/{}/configs/{}", topic_config_v3});
  routes.push_back({http::verb::put, "/v3/clusters/{}/topics/{}/configs/{}", set_topic_config_v3});
  routes.push_back(
      {http::verb::delete_, "/v3/clusters/{}/topics/{}/configs/{}", reset_topic_config_v3});
  routes.push_back(
      {http::verb::post, "/v3/clusters/{}/topics/{}/configs:alter", alter_topic_configs_v3});
  routes.push_back({http::verb::get, "/v3/clusters/{}/topics/{}/partitions", topic_partitions_v3});
  routes.push_back(
      {http::verb::get, "/v3/clusters/{}/topics/{}/partitions/{}", topic_partition_v3});
  routes.push_back(
      {http::verb::get, "/v3/clusters/{}/topics/{}/partitions/{}/replicas", partition_replicas_v3});
  routes.push_back({http::verb::get, "/v3/clusters/{}/topics/{}/partitions/{}/replicas/{}",
                    partition_replica_v3});
  routes.push_back({http::verb::get, "/v3/clusters/{}/brokers", list_brokers_v3});
  routes.push_back({http::verb::get, "/v3/clusters/{}/brokers/{}", get_broker_v3});
  routes.push_back({http::verb::get, "/v3/clusters/{}/consumer-groups", list_groups_v3});
  routes.push_back({http::verb::get, "/v3/clusters/{}/consumer-groups/{}", get_group_v3});
  routes.push_back(
      {http::verb::get, "/v3/clusters/{}/consumer-groups/{}/consumers", group_consumers_v3});
  routes.push_back(
      {http::verb::get, "/v3/clusters/{}/consumer-groups/{}/consumers/{}", group_consumer_v3});
  routes.push_back({http::verb::get, "/v3/clusters/{}/consumer-groups/{}/lags", group_lags_v3});
  routes.push_back(
      {http::verb::get, "/v3/clusters/{}/consumer-groups/{}/lags/{}/partitions/{}", group_lag_v3});
  routes.push_back(
      {http::verb::get, "/v3/clusters/{}/consumer-groups/{}/lag-summary", group_lag_summary_v3});
}

}  // namespace sluice::net
