// REST Proxy v3 topics: create, describe, delete, configs, partitions, replicas.
#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/errors.h"
#include "common/json_writer.h"
#include "net/rest/durable.h"
#include "net/rest/handler_util.h"
#include "net/rest/router.h"
#include "net/rest/v3_common.h"

namespace sluice::net {
namespace {

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

void write_topic(JsonWriter& w, const Call& call, const broker::TopicDescription& d) {
  const auto url = fmt::format("{}/topics/{}", cluster_url(call), d.name);
  w.begin_object().key("kind").value("KafkaTopic");
  w.key("metadata").begin_object().key("self").value(url);
  w.key("resource_name")
      .value(fmt::format("crn:///kafka={}/topic={}", call.broker->cluster_id(), d.name));
  w.end_object();
  w.key("cluster_id").value(call.broker->cluster_id()).key("topic_name").value(d.name);
  const auto replicas = partition_placement(call, d.name, 0).replicas.size();
  w.key("is_internal").value(is_internal(d.name));
  w.key("replication_factor").value(static_cast<int64_t>(replicas));
  w.key("partitions_count").value(d.partitions);
  write_related(w, "partitions", url + "/partitions");
  write_related(w, "configs", url + "/configs");
  write_absent(w, "partition_reassignments");
  w.key("authorized_operations").begin_array().end_array();
  w.end_object();
}

asio::awaitable<Reply> list_topics_v3(Call& call) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaTopicList");
  w.key("metadata").begin_object().key("self").value(cluster_url(call) + "/topics");
  w.key("next").null().end_object().key("data").begin_array();
  for (const auto& name : call.broker->topics().list()) {
    if (!permitted(call, broker::AclOperation::describe, broker::AclResourceType::topic, name)) {
      continue;  // a principal sees only the topics it may describe
    }
    if (auto d = call.broker->topics().describe(name)) write_topic(w, call, *d);
  }
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

// Body: {"topic_name", "partitions_count", "replication_factor", "configs":[{name, value}]}.
asio::awaitable<Reply> create_topic_v3(Call& call) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto body = parse_v3_body(call, parser, doc); !body) co_return error_reply(body.error());
  std::string_view name;
  if (doc["topic_name"].get(name)) {
    co_return error_reply({http::status::bad_request, 40002, "topic_name: required string"});
  }
  if (auto valid = check_topic_name(name); !valid) co_return error_reply(valid.error());
  // Kafka's CreateTopics: CREATE on the cluster, or on the topic.
  if (!permitted(call, broker::AclOperation::create, broker::AclResourceType::cluster,
                 broker::kClusterResourceName)) {
    if (auto may =
            authorize(call, broker::AclOperation::create, broker::AclResourceType::topic, name);
        !may) {
      co_return error_reply(may.error());
    }
  }
  int64_t partitions = call.broker->config().num_partitions;
  if (auto field = doc["partitions_count"]; field.error() != simdjson::NO_SUCH_FIELD) {
    if (field.get(partitions)) {
      co_return error_reply(
          {http::status::bad_request, 40002, "partitions_count: expected an integer"});
    }
  }
  std::optional<int32_t> replication;  // absent or -1: the broker's default
  if (auto field = doc["replication_factor"]; field.error() != simdjson::NO_SUCH_FIELD) {
    int64_t value = 0;
    if (field.get(value) || value == 0 || value < -1 || value > INT32_MAX) {
      co_return error_reply({http::status::bad_request, 40002,
                             "replication_factor: expected -1 or a positive integer"});
    }
    if (value != -1) replication = static_cast<int32_t>(value);
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
  // On the broker's worker: creating a topic syncs its files and directories (and, in cluster
  // mode, waits for etcd).
  auto& admin = call.broker->admin();
  auto create = [&] {
    return admin.create_topic(name, static_cast<int32_t>(partitions), replication, overrides);
  };
  const auto created = co_await on_worker(call.broker->worker(), create);
  if (!created) co_return error_reply(to_api_error(created.error(), name));
  spdlog::info("created topic '{}' with {} partitions{}{}", name, created->partitions,
               overrides.empty() ? "" : ", configs: ", describe_changes(overrides));
  std::string body;
  JsonWriter w(body);
  write_topic(w, call, *created);
  co_return json_reply(http::status::created, std::move(body));
}

asio::awaitable<Reply> get_topic_v3(Call& call) {
  auto d = call.broker->topics().describe(call.params[1]);
  if (!d) co_return error_reply(to_api_error(d.error(), call.params[1]));
  std::string body;
  JsonWriter w(body);
  write_topic(w, call, *d);
  co_return json_reply(http::status::ok, std::move(body));
}

asio::awaitable<Reply> delete_topic_v3(Call& call) {
  // On the broker's worker: a delete waits for the flusher to let go of the partitions.
  auto& admin = call.broker->admin();
  const std::string_view topic = call.params[1];
  auto remove = [&] { return admin.delete_topic(topic); };
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
  auto& admin = call.broker->admin();
  auto alter = [&] { return admin.alter_config(topic, changes); };
  if (auto altered = co_await on_worker(call.broker->worker(), alter); !altered) {
    co_return error_reply(to_api_error(altered.error(), topic));
  }
  spdlog::info("topic '{}' config: {}", topic, describe_changes(changes));
  Reply reply;
  reply.message.result(http::status::no_content);
  co_return reply;
}

// PUT .../configs/{name} with {"value":"..."}: sets one override.
asio::awaitable<Reply> set_topic_config_v3(Call& call) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto body = parse_v3_body(call, parser, doc); !body) co_return error_reply(body.error());
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
  const std::map<std::string, std::optional<std::string>> changes = {
      {call.params[2], std::nullopt}};
  co_return co_await alter_topic_config(call, changes);
}

// POST .../configs:alter with {"data":[{"name":..., "value":...} or
// {"name":..., "operation":"DELETE"}]}: all changes or none.
asio::awaitable<Reply> alter_topic_configs_v3(Call& call) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto body = parse_v3_body(call, parser, doc); !body) co_return error_reply(body.error());
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
  if (const int32_t leader = partition_placement(call, topic, p).leader; leader >= 0) {
    write_related(w, "leader", fmt::format("{}/replicas/{}", self, leader));
  } else {
    write_absent(w, "leader");
  }
  write_related(w, "replicas", self + "/replicas");
  write_absent(w, "reassignment");
  w.end_object();
}

// One replica of a partition, as partition_placement() places it.
void write_replica(JsonWriter& w, const Call& call, const std::string& topic, int32_t p,
                   const ReplicaEntry& replica) {
  const auto id = replica.broker;
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
  w.key("is_leader").value(replica.leader).key("is_in_sync").value(replica.in_sync);
  write_related(w, "broker", fmt::format("{}/brokers/{}", cluster_url(call), id));
  w.end_object();
}

asio::awaitable<Reply> topic_partitions_v3(Call& call) {
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
  auto ref = find_partition(call, call.params[1], call.params[2]);
  if (!ref) co_return error_reply(ref.error());
  std::string body;
  JsonWriter w(body);
  write_partition(w, call, (*ref)->topic(), (*ref)->partition());
  co_return json_reply(http::status::ok, std::move(body));
}

asio::awaitable<Reply> partition_replicas_v3(Call& call) {
  auto ref = find_partition(call, call.params[1], call.params[2]);
  if (!ref) co_return error_reply(ref.error());
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaReplicaList");
  w.key("metadata")
      .begin_object()
      .key("self")
      .value(fmt::format("{}/topics/{}/partitions/{}/replicas", cluster_url(call), (*ref)->topic(),
                         (*ref)->partition()))
      .key("next")
      .null()
      .end_object();
  w.key("data").begin_array();
  for (const auto& r : partition_placement(call, (*ref)->topic(), (*ref)->partition()).replicas) {
    write_replica(w, call, (*ref)->topic(), (*ref)->partition(), r);
  }
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

// params: cluster, topic, partition, broker.
asio::awaitable<Reply> partition_replica_v3(Call& call) {
  auto ref = find_partition(call, call.params[1], call.params[2]);
  if (!ref) co_return error_reply(ref.error());
  for (const auto& r : partition_placement(call, (*ref)->topic(), (*ref)->partition()).replicas) {
    if (call.params[3] != std::to_string(r.broker)) continue;
    std::string body;
    JsonWriter w(body);
    write_replica(w, call, (*ref)->topic(), (*ref)->partition(), r);
    co_return json_reply(http::status::ok, std::move(body));
  }
  co_return error_reply({http::status::not_found, 404,
                         fmt::format("Replica on broker '{}' not found", call.params[3])});
}

}  // namespace

void add_v3_topic_routes(std::vector<Route>& routes) {
  using http::verb;
  constexpr int kTopic = 1;  // the {} of /v3/clusters/{}/topics/{}
  routes.push_back(v3_route(verb::get, "/v3/clusters/{}/topics", list_topics_v3));
  routes.push_back(v3_route(verb::post, "/v3/clusters/{}/topics", create_topic_v3));
  routes.push_back(v3_route(verb::get, "/v3/clusters/{}/topics/{}", get_topic_v3, kTopic));
  routes.push_back(v3_route(verb::delete_, "/v3/clusters/{}/topics/{}", delete_topic_v3, kTopic));
  routes.push_back(
      v3_route(verb::get, "/v3/clusters/{}/topics/{}/configs", topic_configs_v3, kTopic));
  routes.push_back(
      v3_route(verb::get, "/v3/clusters/{}/topics/{}/configs/{}", topic_config_v3, kTopic));
  routes.push_back(
      v3_route(verb::put, "/v3/clusters/{}/topics/{}/configs/{}", set_topic_config_v3, kTopic));
  routes.push_back(v3_route(verb::delete_, "/v3/clusters/{}/topics/{}/configs/{}",
                            reset_topic_config_v3, kTopic));
  routes.push_back(v3_route(verb::post, "/v3/clusters/{}/topics/{}/configs:alter",
                            alter_topic_configs_v3, kTopic));
  routes.push_back(
      v3_route(verb::get, "/v3/clusters/{}/topics/{}/partitions", topic_partitions_v3, kTopic));
  routes.push_back(
      v3_route(verb::get, "/v3/clusters/{}/topics/{}/partitions/{}", topic_partition_v3, kTopic));
  routes.push_back(v3_route(verb::get, "/v3/clusters/{}/topics/{}/partitions/{}/replicas",
                            partition_replicas_v3, kTopic));
  routes.push_back(v3_route(verb::get, "/v3/clusters/{}/topics/{}/partitions/{}/replicas/{}",
                            partition_replica_v3, kTopic));
}

}  // namespace sluice::net
