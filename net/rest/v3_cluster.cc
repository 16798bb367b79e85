// REST Proxy v3: the cluster and its brokers.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "broker/consumer_groups.h"
#include "common/http_url.h"
#include "common/json_writer.h"
#include "net/rest/handler_util.h"
#include "net/rest/router.h"
#include "net/rest/v3_common.h"

namespace sluice::net {
namespace {

void write_cluster(JsonWriter& w, const Call& call) {
  const auto url = cluster_url(call);
  const auto& id = call.broker->cluster_id();
  w.begin_object().key("kind").value("KafkaCluster");
  w.key("metadata").begin_object().key("self").value(url);
  w.key("resource_name").value(fmt::format("crn:///kafka={}", id)).end_object();
  w.key("cluster_id").value(id);
  if (auto controller = controller_id(call)) {
    write_related(w, "controller", fmt::format("{}/brokers/{}", url, *controller));
  } else {
    write_absent(w, "controller");
  }
  if (call.ctx.authorizer && call.ctx.authorizer->enabled()) {
    write_related(w, "acls", url + "/acls");
  } else {
    write_absent(w, "acls");  // the ACL API answers only with authorizer.enable
  }
  write_related(w, "brokers", url + "/brokers");
  write_absent(w, "broker_configs");
  write_related(w, "consumer_groups", url + "/consumer-groups");
  write_related(w, "topics", url + "/topics");
  write_absent(w, "partition_reassignments");
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
  std::string body;
  JsonWriter w(body);
  write_cluster(w, call);
  co_return json_reply(http::status::ok, std::move(body));
}

void write_broker(JsonWriter& w, const Call& call, const BrokerEntry& b) {
  const auto self = fmt::format("{}/brokers/{}", cluster_url(call), b.id);
  w.begin_object().key("kind").value("KafkaBroker");
  write_metadata(w, call, self, fmt::format("broker={}", b.id));
  w.key("cluster_id").value(call.broker->cluster_id()).key("broker_id").value(b.id);
  if (auto address = parse_http_url(b.url)) {
    w.key("host").value(address->host).key("port").value(static_cast<int64_t>(address->port));
  } else {
    w.key("host").null().key("port").null();
  }
  w.key("rack").null();
  write_absent(w, "configs");
  write_absent(w, "partition_replicas");
  w.end_object();
}

asio::awaitable<Reply> list_brokers_v3(Call& call) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaBrokerList");
  w.key("metadata").begin_object().key("self").value(cluster_url(call) + "/brokers");
  w.key("next").null().end_object().key("data").begin_array();
  for (const auto& b : cluster_brokers(call)) write_broker(w, call, b);
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

asio::awaitable<Reply> get_broker_v3(Call& call) {
  for (const auto& b : cluster_brokers(call)) {
    if (call.params[1] != std::to_string(b.id)) continue;
    std::string body;
    JsonWriter w(body);
    write_broker(w, call, b);
    co_return json_reply(http::status::ok, std::move(body));
  }
  co_return error_reply(
      {http::status::not_found, 404, fmt::format("Broker '{}' not found", call.params[1])});
}

}  // namespace

void add_v3_cluster_routes(std::vector<Route>& routes) {
  routes.push_back({http::verb::get, "/v3/clusters", list_clusters});
  routes.push_back(v3_route(http::verb::get, "/v3/clusters/{}", get_cluster));
  routes.push_back(v3_route(http::verb::get, "/v3/clusters/{}/brokers", list_brokers_v3));
  routes.push_back(v3_route(http::verb::get, "/v3/clusters/{}/brokers/{}", get_broker_v3));
}

}  // namespace sluice::net
