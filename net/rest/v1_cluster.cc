// GET /v1/cluster: the cluster as this broker sees it (docs/API.md), from any broker: the
// controller, every registered broker and every partition this broker holds, with its leader,
// epoch, replicas, in-sync replicas, high watermark and log end.
#include <fmt/format.h>

#include "common/json_writer.h"
#include "net/rest/handler_util.h"
#include "net/rest/router.h"

namespace sluice::net {
namespace {

asio::awaitable<Reply> cluster_state(Call& call) {
  const int32_t self = call.broker->config().broker_id;
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("cluster_id").value(call.broker->cluster_id());
  if (auto controller = controller_id(call)) {
    w.key("controller").value(*controller);
  } else {
    w.key("controller").null();
  }
  w.key("brokers").begin_array();
  for (const auto& b : cluster_brokers(call)) {
    w.begin_object().key("id").value(b.id).key("url").value(b.url);
    w.key("alive").value(b.alive).end_object();
  }
  w.end_array().key("partitions").begin_array();
  auto& topics = call.broker->topics();
  auto* node = call.ctx.cluster.load(std::memory_order_acquire);
  const auto view = node ? node->view() : nullptr;
  for (const auto& topic : topics.list()) {
    auto partitions = topics.partitions(topic);
    if (!partitions) continue;  // deleted meanwhile
    const auto assignment = view ? view->topics.find(topic) : decltype(view->topics.end()){};
    const bool in_cluster = view && assignment != view->topics.end();
    for (size_t p = 0; p < partitions->size(); ++p) {
      const int64_t end = (*partitions)[p]->end_offset().value;
      const int64_t high_watermark = (*partitions)[p]->high_watermark().value;
      const auto* state = in_cluster ? view->partition(topic, static_cast<int32_t>(p)) : nullptr;
      w.begin_object().key("topic").value(topic).key("partition").value(static_cast<int64_t>(p));
      if (in_cluster) {
        w.key("leader").value(state ? state->leader : -1);
        w.key("leader_epoch").value(state ? state->leader_epoch : 0);
        w.key("replicas").begin_array();
        if (p < assignment->second.replicas.size()) {
          for (int32_t b : assignment->second.replicas[p]) w.value(b);
        }
        w.end_array().key("isr").begin_array();
        if (state) {
          for (const auto& member : state->isr) w.value(member.first);
        }
        w.end_array();
      } else {
        // This broker's own partition: it leads it and is its only replica.
        w.key("leader").value(self).key("leader_epoch").value(int64_t{0});
        w.key("replicas").begin_array().value(self).end_array();
        w.key("isr").begin_array().value(self).end_array();
      }
      if (in_cluster && (state == nullptr || state->leader != self)) {
        // Only the leader knows where its log ends.
        w.key("high_watermark").null().key("log_end_offset").null().end_object();
      } else {
        w.key("high_watermark").value(high_watermark).key("log_end_offset").value(end).end_object();
      }
    }
  }
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

}  // namespace

void add_v1_cluster_routes(std::vector<Route>& routes) {
  routes.push_back({http::verb::get, "/v1/cluster", cluster_state, true, Api::ops});
}

}  // namespace sluice::net
