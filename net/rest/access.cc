// What each route needs the principal to be allowed (authorizer.enable): the one table, so
// that a new route without a rule stops the Router from starting rather than being open. The
// checks follow Kafka's: produce needs WRITE on the topic, reads READ, metadata DESCRIBE,
// topic administration CREATE / DELETE / DESCRIBE_CONFIGS / ALTER_CONFIGS, consumer groups
// READ on the group (and the handlers add READ on each topic a consumer reads or commits),
// the ACL API DESCRIBE or ALTER on the cluster.

#include <fmt/format.h>

#include <array>

#include "net/rest/router.h"

namespace sluice::net {
namespace {

using broker::AclOperation;
using broker::AclResourceType;
using Rule = Access::Rule;

struct Entry {
  http::verb method;
  std::string_view pattern;
  Access access;
};

constexpr Access kOpen{};
constexpr Access kInHandler{Rule::in_handler};
constexpr Access on_cluster(AclOperation op) {
  return {Rule::resource, op, AclResourceType::cluster, -1};
}
constexpr Access on_topic(AclOperation op, int param) {
  return {Rule::resource, op, AclResourceType::topic, param};
}
constexpr Access on_group(AclOperation op, int param) {
  return {Rule::resource, op, AclResourceType::group, param};
}

constexpr auto get = http::verb::get;
constexpr auto post = http::verb::post;
constexpr auto put = http::verb::put;
constexpr auto del = http::verb::delete_;
constexpr auto kRead = AclOperation::read;
constexpr auto kWrite = AclOperation::write;
constexpr auto kDescribe = AclOperation::describe;

constexpr std::array kTable{
    // Probes and the API's root answer without credentials or with any.
    Entry{get, "/healthz", kOpen},
    Entry{get, "/readyz", kOpen},
    Entry{get, "/status/ready", kOpen},
    Entry{get, "/", kOpen},
    Entry{post, "/", kOpen},
    // What the cluster is made of, as Kafka's metadata shows every client.
    Entry{get, "/brokers", kOpen},
    Entry{get, "/v3/clusters", kOpen},
    Entry{get, "/v3/clusters/{}", kOpen},
    Entry{get, "/v3/clusters/{}/brokers", kOpen},
    Entry{get, "/v3/clusters/{}/brokers/{}", kOpen},
    // Operations.
    Entry{get, "/metrics", on_cluster(kDescribe)},
    Entry{get, "/v1/recovery", on_cluster(kDescribe)},
    Entry{get, "/v1/cluster", on_cluster(kDescribe)},
    // Replication between brokers (another broker passes with its cluster token).
    Entry{get, "/v1/replica/topics/{}/partitions/{}", on_cluster(AclOperation::all)},
    Entry{get, "/v1/replica/topics/{}/partitions/{}/segments/{}", on_cluster(AclOperation::all)},
    // v2 metadata; the topic list shows only what the principal may describe.
    Entry{get, "/topics", kInHandler},
    Entry{get, "/topics/{}", on_topic(kDescribe, 0)},
    Entry{get, "/topics/{}/partitions", on_topic(kDescribe, 0)},
    Entry{get, "/topics/{}/partitions/{}", on_topic(kDescribe, 0)},
    // Produce (the handler adds CREATE when the topic is created on the way).
    Entry{post, "/topics/{}", on_topic(kWrite, 0)},
    Entry{post, "/topics/{}/partitions/{}", on_topic(kWrite, 0)},
    Entry{post, "/topics/{}/partitions/{}/records", on_topic(kWrite, 0)},
    Entry{post, "/v3/clusters/{}/topics/{}/records", on_topic(kWrite, 1)},
    // Fetch.
    Entry{get, "/topics/{}/partitions/{}/records", on_topic(kRead, 0)},
    Entry{get, "/topics/{}/partitions/{}/offsets", on_topic(kDescribe, 0)},
    // v3 topics: CREATE on the cluster or on the topic named in the body.
    Entry{get, "/v3/clusters/{}/topics", kInHandler},
    Entry{post, "/v3/clusters/{}/topics", kInHandler},
    Entry{get, "/v3/clusters/{}/topics/{}", on_topic(kDescribe, 1)},
    Entry{del, "/v3/clusters/{}/topics/{}", on_topic(AclOperation::delete_, 1)},
    Entry{get, "/v3/clusters/{}/topics/{}/configs", on_topic(AclOperation::describe_configs, 1)},
    Entry{get, "/v3/clusters/{}/topics/{}/configs/{}", on_topic(AclOperation::describe_configs, 1)},
    Entry{put, "/v3/clusters/{}/topics/{}/configs/{}", on_topic(AclOperation::alter_configs, 1)},
    Entry{del, "/v3/clusters/{}/topics/{}/configs/{}", on_topic(AclOperation::alter_configs, 1)},
    Entry{post, "/v3/clusters/{}/topics/{}/configs:alter",
          on_topic(AclOperation::alter_configs, 1)},
    Entry{get, "/v3/clusters/{}/topics/{}/partitions", on_topic(kDescribe, 1)},
    Entry{get, "/v3/clusters/{}/topics/{}/partitions/{}", on_topic(kDescribe, 1)},
    Entry{get, "/v3/clusters/{}/topics/{}/partitions/{}/replicas", on_topic(kDescribe, 1)},
    Entry{get, "/v3/clusters/{}/topics/{}/partitions/{}/replicas/{}", on_topic(kDescribe, 1)},
    // v3 consumer groups; the list shows only the groups the principal may describe.
    Entry{get, "/v3/clusters/{}/consumer-groups", kInHandler},
    Entry{get, "/v3/clusters/{}/consumer-groups/{}", on_group(kDescribe, 1)},
    Entry{get, "/v3/clusters/{}/consumer-groups/{}/consumers", on_group(kDescribe, 1)},
    Entry{get, "/v3/clusters/{}/consumer-groups/{}/consumers/{}", on_group(kDescribe, 1)},
    Entry{get, "/v3/clusters/{}/consumer-groups/{}/lags", on_group(kDescribe, 1)},
    Entry{get, "/v3/clusters/{}/consumer-groups/{}/lags/{}/partitions/{}", on_group(kDescribe, 1)},
    Entry{get, "/v3/clusters/{}/consumer-groups/{}/lag-summary", on_group(kDescribe, 1)},
    // v2 consumers: READ on the group; subscribing, assigning, fetching and committing also
    // need READ on each topic (the handlers check it).
    Entry{post, "/consumers/{}", on_group(kRead, 0)},
    Entry{del, "/consumers/{}/instances/{}", on_group(kRead, 0)},
    Entry{post, "/consumers/{}/instances/{}/subscription", on_group(kRead, 0)},
    Entry{get, "/consumers/{}/instances/{}/subscription", on_group(kRead, 0)},
    Entry{del, "/consumers/{}/instances/{}/subscription", on_group(kRead, 0)},
    Entry{post, "/consumers/{}/instances/{}/assignments", on_group(kRead, 0)},
    Entry{get, "/consumers/{}/instances/{}/assignments", on_group(kRead, 0)},
    Entry{get, "/consumers/{}/instances/{}/records", on_group(kRead, 0)},
    Entry{post, "/consumers/{}/instances/{}/positions", on_group(kRead, 0)},
    Entry{post, "/consumers/{}/instances/{}/positions/beginning", on_group(kRead, 0)},
    Entry{post, "/consumers/{}/instances/{}/positions/end", on_group(kRead, 0)},
    Entry{post, "/consumers/{}/instances/{}/offsets", on_group(kRead, 0)},
    Entry{get, "/consumers/{}/instances/{}/offsets", on_group(kRead, 0)},
    // The ACL API.
    Entry{get, "/v3/clusters/{}/acls", on_cluster(kDescribe)},
    Entry{post, "/v3/clusters/{}/acls", on_cluster(AclOperation::alter)},
    Entry{post, "/v3/clusters/{}/acls:batch", on_cluster(AclOperation::alter)},
    Entry{del, "/v3/clusters/{}/acls", on_cluster(AclOperation::alter)},
};

}  // namespace

std::optional<Access> access_of(http::verb method, std::string_view pattern) {
  for (const auto& e : kTable) {
    if (e.method == method && e.pattern == pattern) return e.access;
  }
  return std::nullopt;
}

namespace {

bool permitted(const ApiContext& ctx, const RequestContext& context, broker::AclOperation op,
               broker::AclResourceType type, std::string_view name) {
  const auto* authorizer = ctx.authorizer.get();
  return authorizer == nullptr || context.broker ||
         authorizer->allowed(context.principal, context.peer_address, op, type, name);
}

}  // namespace

bool permitted(const Call& call, broker::AclOperation op, broker::AclResourceType type,
               std::string_view name) {
  return permitted(call.ctx, call.context, op, type, name);
}

ApiResult<void> authorize(const ApiContext& ctx, const RequestContext& context,
                          broker::AclOperation op, broker::AclResourceType type,
                          std::string_view name) {
  if (permitted(ctx, context, op, type, name)) return {};
  return ApiError{http::status::forbidden, 40301,
                  fmt::format("Not authorized: {} may not {} {} '{}'", context.principal,
                              broker::to_string(op), broker::to_string(type), name)};
}

ApiResult<void> authorize(const Call& call, broker::AclOperation op, broker::AclResourceType type,
                          std::string_view name) {
  return authorize(call.ctx, call.context, op, type, name);
}

ApiResult<void> authorize_auto_create(const Call& call, std::string_view topic) {
  if (!permitted(call, AclOperation::create, AclResourceType::cluster,
                 broker::kClusterResourceName)) {
    const auto* node = call.ctx.cluster.load(std::memory_order_acquire);
    const bool exists = node != nullptr ? node->view()->topics.contains(topic)
                                        : bool(call.broker->topics().partitions(topic));
    if (!exists) return authorize(call, AclOperation::create, AclResourceType::topic, topic);
  }
  return {};
}

}  // namespace sluice::net
