#include "net/rest/leader_routing.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "broker/offsets_store.h"
#include "cluster/node.h"
#include "common/http_url.h"
#include "net/http/client_stream.h"
#include "net/rest/durable.h"
#include "net/rest/handler_util.h"

namespace sluice::net {
namespace {

namespace beast = boost::beast;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// A fetch answer holds at most max_bytes of batches; this bounds what a lying peer can make us
// hold.
constexpr uint64_t kMaxForwardedReply = 256ull << 20;

struct Leader {
  int32_t id = -1;
  std::string url;
};

Reply no_leader(std::string_view topic, std::string_view partition) {
  return error_reply({http::status::service_unavailable, 50302,
                      fmt::format("No leader for {}-{}; retry", topic, partition)});
}

}  // namespace

bool has_cluster_token(const Call& call) {
  const std::string& expected = call.broker->config().cluster_auth_token;
  return expected.empty() || is_cluster_token(call.request[kClusterTokenHeader], expected);
}

Reply missing_cluster_token() {
  return error_reply({http::status::unauthorized, 40101,
                      "Requests between brokers need this cluster's token "
                      "(X-Sluice-Cluster-Token, cluster.auth.token)"});
}

asio::awaitable<Reply> send_to_broker(const Call& call, int32_t leader_id,
                                      const std::string& leader_url, Request request) {
  const Leader leader{leader_id, leader_url};
  const auto address = parse_http_url(leader.url);
  const bool is_produce = request.method() == http::verb::post;
  auto indeterminate = [&] {
    return is_produce
               ? error_reply({http::status::service_unavailable, 50304,
                              fmt::format("Forwarded to broker {} at {}, which did not answer; "
                                          "the records may still appear",
                                          leader.id, leader.url)})
               : error_reply(
                     {http::status::service_unavailable, 50302,
                      fmt::format("Broker {} at {} did not answer; retry", leader.id, leader.url)});
  };
  if (!address) co_return indeterminate();
  net::ClientStream stream(co_await asio::this_coro::executor);
  // A named variable: GCC 12 destroys a temporary argument of a co_awaited call twice.
  const auto* node = call.ctx.cluster.load(std::memory_order_acquire);
  std::shared_ptr<asio::ssl::context> tls;
  if (node != nullptr) tls = node->peer_tls();
  if (co_await stream.connect(*address, std::chrono::seconds(5), tls)) {
    co_return error_reply(
        {http::status::service_unavailable, 50302,
         fmt::format("Cannot reach broker {} at {}, the leader; retry", leader.id, leader.url)});
  }
  request.set(kForwardedHeader, std::to_string(call.broker->config().broker_id));
  // The serving broker authorizes the client as this one did (a cluster token vouches).
  if (call.context.broker) {
    request.erase(kPrincipalHeader);
    request.erase(kClientAddressHeader);
  } else {
    request.set(kPrincipalHeader, call.context.principal);
    request.set(kClientAddressHeader, call.context.peer_address);
  }
  if (const auto& token = call.broker->config().cluster_auth_token; !token.empty()) {
    request.set(kClusterTokenHeader, token);
  }
  // Links in the answer (a consumer's base_uri) keep the address the client used.
  if (request[kForwardedHostHeader].empty()) {
    request.set(kForwardedHostHeader, request[http::field::host]);
  }
  request.set(http::field::host, address->host + ":" + address->port_text());
  request.keep_alive(false);
  request.prepare_payload();
  // A fetch may long-poll on the leader for as long as the client asked.
  stream.expires_after(std::chrono::seconds(60));
  auto [wec, written] = co_await http::async_write(stream, request, kNoThrow);
  if (wec) co_return indeterminate();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxForwardedReply);
  auto [ec, read] = co_await http::async_read(stream, buffer, parser, kNoThrow);
  if (ec) co_return indeterminate();
  Reply reply;
  reply.message = parser.release();
  reply.message.keep_alive(call.request.keep_alive());
  reply.message.erase(http::field::connection);
  co_return reply;
}

namespace {

// The routing of a request that only the leader of `topic`-`partition` may serve (see
// route_to_leader). nullopt: serve it here (call.leader_header is set and `*epoch` is the
// leader epoch), or the topic is not the cluster's (`*epoch` stays -1). `wait_for_topic`: a
// topic just created, which the view may not show yet, is waited for like a leader.
// `unfenced`: for a group's coordinator, whose state lives in memory, a leader that may have
// been deposed (fenced: its lease may have expired, as after a pause) waits rather than serve
// a stale copy of the groups.
asio::awaitable<std::optional<Reply>> route_partition(Call& call, cluster::ClusterNode& node,
                                                      const std::string& topic, int32_t partition,
                                                      const std::string& partition_text,
                                                      bool wait_for_topic, bool unfenced,
                                                      int32_t* epoch) {
  const int32_t self = call.broker->config().broker_id;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(call.broker->config().cluster_leader_wait_ms);
  Leader leader;
  while (true) {
    auto view = node.view();
    const auto* state = view->partition(topic, partition);
    if (!view->topics.contains(topic)) {
      if (!wait_for_topic) co_return std::nullopt;  // not a cluster topic: local
    } else if (state == nullptr && partition >= view->topics.find(topic)->second.partitions()) {
      co_return std::nullopt;  // no such partition: the handler says so
    } else if (state && state->leader >= 0 && view->brokers.contains(state->leader)) {
      leader = {state->leader, view->brokers.at(state->leader).registration.url};
      // This broker serves once it has taken the leadership (nothing is appended at an older
      // epoch), and reads once its high watermark has reached its epoch's start (before that
      // it could show a lower one than clients already saw).
      auto* replicas = call.ctx.replicas.load(std::memory_order_acquire);
      auto log = call.broker->topics().partition(topic, partition);
      if (leader.id != self || replicas == nullptr || !log ||
          (replicas->serves(**log, state->leader_epoch, call.request.method() == http::verb::get) &&
           !(unfenced && node.fenced()))) {
        *epoch = state->leader_epoch;
        break;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) co_return no_leader(topic, partition_text);
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
    co_await timer.async_wait(kNoThrow);
  }
  const std::string leader_header = fmt::format("{} {}", leader.id, leader.url);
  if (leader.id == self) {
    call.leader_header = leader_header;
    co_return std::nullopt;
  }
  if (!call.request[kForwardedHeader].empty()) {
    Reply reply = error_reply(
        {http::status::misdirected_request, 42101,
         fmt::format("Broker {} does not lead {}-{} (broker {} does); a forwarded request is "
                     "not forwarded again",
                     self, topic, partition_text, leader.id)});
    reply.message.set(kLeaderHeader, leader_header);
    co_return reply;
  }
  Reply reply;
  if (call.broker->config().cluster_request_routing == "redirect") {
    reply = error_reply({http::status::temporary_redirect, 30701,
                         fmt::format("{}-{} is led by broker {} at {}", topic, partition_text,
                                     leader.id, leader.url)});
    std::string location = leader.url;
    if (!location.empty() && location.back() == '/') location.pop_back();
    location += std::string_view(call.request.target());
    reply.message.set(http::field::location, location);
  } else {
    reply = co_await send_to_broker(call, leader.id, leader.url, call.request);
  }
  reply.message.set(kLeaderHeader, leader_header);
  co_return reply;
}

// A consumer-group call (docs/CLUSTER.md, "Consumer groups across brokers"): served by the
// group's coordinator, the leader of its partition of the offsets topic, which rebuilds the
// partition's groups when it has just taken it over. The first instance of the cluster
// creates the offsets topic (replicated), wherever it arrives.
asio::awaitable<std::optional<Reply>> route_to_coordinator(const Route& route, Call& call,
                                                           cluster::ClusterNode& node) {
  const std::string& group = call.params[static_cast<size_t>(route.group_param)];
  auto& groups = call.broker->groups();
  const bool creates = route.method == http::verb::post && route.pattern == "/consumers/{}";
  if (creates && !node.view()->topics.contains(broker::kOffsetsTopic)) {
    auto ensure = [&groups] { return groups.ensure_offsets_topic(); };
    if (auto r = co_await on_worker(call.broker->worker(), ensure); !r) {
      co_return error_reply(to_api_error(r.error(), broker::kOffsetsTopic));
    }
  }
  const int32_t partition = broker::offsets_partition_for(group);
  int32_t epoch = -1;
  auto routed = co_await route_partition(call, node, std::string(broker::kOffsetsTopic), partition,
                                         std::to_string(partition), creates, true, &epoch);
  if (routed || epoch < 0) co_return routed;
  if (auto r = groups.take_over(partition, epoch); !r) {
    co_return error_reply(to_api_error(r.error(), broker::kOffsetsTopic));
  }
  co_return std::nullopt;
}

}  // namespace

asio::awaitable<std::optional<Reply>> route_to_leader(const Route& route, Call& call) {
  auto* node = call.ctx.cluster.load(std::memory_order_acquire);
  if (node == nullptr) co_return std::nullopt;
  const bool by_partition = route.partition_param >= 0 && route.topic_param >= 0;
  if (!by_partition && route.group_param < 0) co_return std::nullopt;
  // Only brokers forward: a request that says it was forwarded must carry the cluster's token.
  if (!call.request[kForwardedHeader].empty() && !has_cluster_token(call)) {
    co_return missing_cluster_token();
  }
  if (!by_partition) co_return co_await route_to_coordinator(route, call, *node);
  const std::string& topic = call.params[static_cast<size_t>(route.topic_param)];
  const std::string& partition_text = call.params[static_cast<size_t>(route.partition_param)];
  auto partition = parse_int(partition_text, 0, INT32_MAX);
  if (!partition) co_return std::nullopt;  // the handler answers the bad parameter
  int32_t epoch = -1;
  co_return co_await route_partition(call, *node, topic, static_cast<int32_t>(*partition),
                                     partition_text, false, false, &epoch);
}

std::vector<RemoteLeader> led_elsewhere(const Call& call,
                                        std::span<const broker::TopicPartition> partitions) {
  std::vector<RemoteLeader> out;
  auto* node = call.ctx.cluster.load(std::memory_order_acquire);
  if (node == nullptr) return out;
  const auto view = node->view();
  const int32_t self = call.broker->config().broker_id;
  for (const auto& tp : partitions) {
    if (!view->topics.contains(tp.topic)) continue;
    const auto* state = view->partition(tp.topic, tp.partition);
    if (state != nullptr && state->leader == self) continue;
    RemoteLeader leader{tp, -1, {}};
    if (state != nullptr && state->leader >= 0 && view->brokers.contains(state->leader)) {
      leader.id = state->leader;
      leader.url = view->brokers.at(state->leader).registration.url;
    }
    out.push_back(std::move(leader));
  }
  return out;
}

namespace {

ApiError unreachable(const RemoteLeader& leader, std::string_view why) {
  if (leader.id < 0) {
    return {http::status::service_unavailable, 50302,
            fmt::format("No leader for {}-{}; retry", leader.tp.topic, leader.tp.partition)};
  }
  return {http::status::service_unavailable, 50302,
          fmt::format("Cannot read {}-{} from broker {} at {}, its leader: {}; retry",
                      leader.tp.topic, leader.tp.partition, leader.id, leader.url, why)};
}

// The message of an error answer ("message" of its JSON body), or its status line.
std::string answer_message(const Reply& reply) {
  simdjson::dom::parser parser;
  const auto& body = reply.message.body();
  std::string_view message;
  if (!parser.parse(body.data(), body.size())["message"].get(message)) return std::string(message);
  return fmt::format("HTTP {}", reply.message.result_int());
}

// GET `target` on the leader, forwarded as from this broker.
asio::awaitable<Reply> get_from(const Call& call, const RemoteLeader& leader, std::string target,
                                std::string_view accept) {
  Request request{http::verb::get, target, 11};
  request.set(http::field::accept, accept);
  Call as_broker = call;  // this broker reads for a consumer it has already authorized
  as_broker.context.broker = true;
  co_return co_await send_to_broker(as_broker, leader.id, leader.url, std::move(request));
}

std::optional<int64_t> header_offset(const Reply& reply, std::string_view name) {
  auto parsed = parse_int(reply.message[name], 0, INT64_MAX);
  if (!parsed) return std::nullopt;
  return *parsed;
}

}  // namespace

asio::awaitable<ApiResult<broker::ConsumerGroups::RemoteBounds>> leader_bounds(
    const Call& call, std::span<const RemoteLeader> leaders) {
  broker::ConsumerGroups::RemoteBounds out;
  for (const auto& leader : leaders) {
    if (leader.id < 0) co_return unreachable(leader, "");
    const Reply reply = co_await get_from(
        call, leader,
        fmt::format("/topics/{}/partitions/{}/offsets", leader.tp.topic, leader.tp.partition),
        "application/vnd.kafka.v2+json");
    if (reply.message.result() != http::status::ok) {
      co_return unreachable(leader, answer_message(reply));
    }
    simdjson::dom::parser parser;
    const auto& body = reply.message.body();
    const auto doc = parser.parse(body.data(), body.size());
    int64_t start = -1;
    int64_t high_watermark = -1;
    if (doc["beginning_offset"].get(start) || doc["end_offset"].get(high_watermark) || start < 0 ||
        high_watermark < start) {
      co_return unreachable(leader, "its offsets answer is malformed");
    }
    out.emplace(leader.tp, broker::ConsumerGroups::Bounds{Offset{start}, Offset{high_watermark}});
  }
  co_return out;
}

asio::awaitable<ApiResult<Offset>> leader_offset_for_time(const Call& call,
                                                          const RemoteLeader& leader,
                                                          int64_t timestamp_ms) {
  if (leader.id < 0) co_return unreachable(leader, "");
  const Reply reply =
      co_await get_from(call, leader,
                        fmt::format("/topics/{}/partitions/{}/offsets?timestamp={}",
                                    leader.tp.topic, leader.tp.partition, timestamp_ms),
                        "application/vnd.kafka.v2+json");
  if (reply.message.result() != http::status::ok) {
    co_return unreachable(leader, answer_message(reply));
  }
  simdjson::dom::parser parser;
  const auto& body = reply.message.body();
  int64_t offset = -1;
  if (parser.parse(body.data(), body.size())["offset"].get(offset) || offset < 0) {
    co_return unreachable(leader, "its offsets answer is malformed");
  }
  co_return Offset{offset};
}

asio::awaitable<ApiResult<std::string>> leader_batches(const Call& call, const RemoteLeader& leader,
                                                       Offset offset, uint64_t max_bytes,
                                                       int64_t wait_ms) {
  if (leader.id < 0) co_return unreachable(leader, "");
  Reply reply = co_await get_from(
      call, leader,
      fmt::format("/topics/{}/partitions/{}/records?offset={}&max_bytes={}&timeout={}",
                  leader.tp.topic, leader.tp.partition, offset.value,
                  std::max<uint64_t>(max_bytes, 1), std::max<int64_t>(wait_ms, 0)),
      kRawBatch);
  if (reply.message.result() == http::status::range_not_satisfiable) {
    co_return ApiError{http::status::range_not_satisfiable, 41601, answer_message(reply)};
  }
  if (reply.message.result() != http::status::ok) {
    co_return unreachable(leader, answer_message(reply));
  }
  if (!header_offset(reply, "X-Sluice-High-Watermark")) {
    co_return unreachable(leader, "its answer has no high watermark");
  }
  co_return std::move(reply.message.body());
}

}  // namespace sluice::net
