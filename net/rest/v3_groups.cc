// REST Proxy v3 consumer groups, read-only: members, assignments, lag.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "broker/consumer_groups.h"
#include "common/json_writer.h"
#include "net/rest/handler_util.h"
#include "net/rest/router.h"
#include "net/rest/v3_common.h"

namespace sluice::net {
namespace {

struct GroupView {
  broker::ConsumerGroups::GroupDescription d;
  std::string url;  // the group's own URL
};

GroupView view_of(const Call& call, broker::ConsumerGroups::GroupDescription d) {
  auto url = fmt::format("{}/consumer-groups/{}", cluster_url(call), encode_path_segment(d.group));
  return {std::move(d), std::move(url)};
}

// The group named by params[1], or the error to reply with.
ApiResult<GroupView> find_group(Call& call) {
  auto d = call.broker->groups().describe(call.params[1]);
  if (!d) {
    return ApiError{http::status::not_found, 40403,
                    fmt::format("Consumer group '{}' not found", call.params[1])};
  }
  return view_of(call, std::move(*d));
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
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaConsumerGroupList");
  w.key("metadata").begin_object().key("self").value(cluster_url(call) + "/consumer-groups");
  w.key("next").null().end_object().key("data").begin_array();
  for (const auto& name : call.broker->groups().group_names()) {
    if (!permitted(call, broker::AclOperation::describe, broker::AclResourceType::group, name)) {
      continue;  // a principal sees only the groups it may describe
    }
    auto d = call.broker->groups().describe(name);
    if (!d) continue;  // emptied meanwhile
    write_group(w, call, view_of(call, std::move(*d)));
  }
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

asio::awaitable<Reply> get_group_v3(Call& call) {
  auto found = find_group(call);
  if (!found) co_return error_reply(found.error());
  std::string body;
  JsonWriter w(body);
  write_group(w, call, *found);
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
  if (!found) co_return error_reply(found.error());
  const auto& g = *found;
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
  if (!found) co_return error_reply(found.error());
  const auto& g = *found;
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
  if (!found) co_return error_reply(found.error());
  const auto& g = *found;
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
  if (!found) co_return error_reply(found.error());
  const auto& g = *found;
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
  if (!found) co_return error_reply(found.error());
  const auto& g = *found;
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

// A route about one group (its id the second parameter): in cluster mode its coordinator, the
// broker that holds the group, answers it.
constexpr Route group_route_v3(http::verb method, std::string_view pattern, RouteHandler handler) {
  Route route = v3_route(method, pattern, handler);
  route.group_param = 1;
  return route;
}

}  // namespace

void add_v3_group_routes(std::vector<Route>& routes) {
  const auto get = http::verb::get;
  routes.push_back(v3_route(get, "/v3/clusters/{}/consumer-groups", list_groups_v3));
  routes.push_back(group_route_v3(get, "/v3/clusters/{}/consumer-groups/{}", get_group_v3));
  routes.push_back(
      group_route_v3(get, "/v3/clusters/{}/consumer-groups/{}/consumers", group_consumers_v3));
  routes.push_back(
      group_route_v3(get, "/v3/clusters/{}/consumer-groups/{}/consumers/{}", group_consumer_v3));
  routes.push_back(group_route_v3(get, "/v3/clusters/{}/consumer-groups/{}/lags", group_lags_v3));
  routes.push_back(group_route_v3(get, "/v3/clusters/{}/consumer-groups/{}/lags/{}/partitions/{}",
                                  group_lag_v3));
  routes.push_back(
      group_route_v3(get, "/v3/clusters/{}/consumer-groups/{}/lag-summary", group_lag_summary_v3));
}

}  // namespace sluice::net
