#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/acl.h"
#include "broker/acl_store.h"
#include "broker/broker.h"
#include "cluster/node.h"
#include "cluster/replicas.h"
#include "net/http/message.h"
#include "net/http/server.h"
#include "net/rest/api_result.h"
#include "net/rest/fetch_waiters.h"
#include "net/rest/metrics.h"

namespace sluice::net {

// Everything the handlers share. The broker pointer is null until recovery has finished; data
// endpoints answer 503 until then. Owned by the process; outlives the server.
struct ApiContext {
  std::atomic<broker::Broker*> broker{nullptr};
  // Cluster mode: this broker's membership (null for a standalone broker). Set before
  // `broker`, never changed after.
  std::atomic<cluster::ClusterNode*> cluster{nullptr};
  // Cluster mode: the replication of its partitions (followers' progress, high watermarks).
  std::atomic<cluster::ReplicaManager*> replicas{nullptr};
  // Where clients reach this broker (advertised.listeners, or the listener with the port it
  // bound). Set before `broker`.
  std::string advertised_url;
  Metrics metrics;
  FetchWaiters waiters;
  // The last recovery report as JSON, or the progress while recovery runs.
  std::function<std::string()> recovery_json;
  // Recovery figures in Prometheus text format, for /metrics.
  std::function<std::string()> recovery_metrics;
  std::atomic<uint64_t> round_robin{0};
  // authorizer.enable: decides each request (docs/SECURITY.md). Set before the server starts;
  // null or disabled: every principal may do everything.
  std::shared_ptr<const broker::Authorizer> authorizer;
  // Where the ACL API stores its changes (a file standalone, etcd in cluster mode). Set before
  // `broker`.
  std::shared_ptr<broker::AclStore> acl_store;
};

// One call being served: the request, its decoded path parameters and query.
struct Call {
  Request& request;
  ApiContext& ctx;
  broker::Broker* broker;           // non-null for routes that need readiness
  std::vector<std::string> params;  // the {placeholders} of the route, percent-decoded
  std::map<std::string, std::string, std::less<>> query;
  // Cluster mode: "<id> <url>" of the partition's leader (this broker) for the answer's
  // X-Sluice-Leader header; set by the routing before the handler runs.
  std::string leader_header;
  // Who sent the request (the authenticated principal), as the server established it.
  RequestContext context;

  std::optional<std::string_view> query_param(std::string_view name) const;
  std::string_view header(http::field field) const { return request[field]; }
  // "http://<Host header>" for links in v3 responses and consumer base URIs.
  std::string base_url() const;
};

using RouteHandler = asio::awaitable<Reply> (*)(Call&);

// What the principal must be allowed before a route runs (authorizer.enable): `operation` on
// the resource of `type` named by the parameter `name_param` (the cluster when -1). `open`:
// nothing (health probes, the API root, broker lists); `in_handler`: the handler decides, as
// a listing that shows only what the principal may see or a create whose name is in the body.
struct Access {
  enum class Rule { open, resource, in_handler };
  Rule rule = Rule::open;
  broker::AclOperation operation = broker::AclOperation::all;
  broker::AclResourceType type = broker::AclResourceType::cluster;
  int name_param = -1;
};
// The access rule of the route `method` `pattern` (net/rest/access.cc, the one table of them);
// nullopt for a route the table does not know, which the Router refuses to start with.
std::optional<Access> access_of(http::verb method, std::string_view pattern);

// Which API a route belongs to, for media types: REST Proxy v2 negotiates Kafka v2 types and
// labels errors with them; v3 speaks application/json; the operations endpoints are our own.
enum class Api { v2, v3, ops };

// A route and the path checks the router makes before its handler runs, so that a handler
// starts from a cluster id that is this broker's and a topic name that is valid. The checks
// run in this order, after readiness:
// - cluster_param: the index of a {} that must be this broker's cluster id (404 / 40404);
// - topic_param: the index of a {} that must be a valid topic name (400 / 40005).
// -1 means no such parameter.
struct Route {
  http::verb method;
  std::string_view pattern;  // "/topics/{}/partitions/{}"; {} matches one path segment
  RouteHandler handler;
  bool needs_ready = true;  // answers 503 while recovery runs
  Api api = Api::v2;        // the Router marks "/v3/..." patterns v3
  int cluster_param = -1;
  int topic_param = -1;
  // Cluster mode: the parameter naming a partition of the topic at topic_param, for a request
  // that only the partition's leader can serve (net/rest/leader_routing.h).
  int partition_param = -1;
  // Cluster mode: the parameter naming a consumer group, for a request that only the group's
  // coordinator can serve.
  int group_param = -1;
};

// A route for one partition: /topics/{topic}/partitions/{partition}/... (leader only).
constexpr Route partition_route(http::verb method, std::string_view pattern, RouteHandler handler) {
  return {.method = method,
          .pattern = pattern,
          .handler = handler,
          .topic_param = 0,
          .partition_param = 1};
}

// A route under /v3/clusters/{}: its first parameter must be this cluster's id, and the one
// at `topic_param`, if any, a valid topic name.
constexpr Route v3_route(http::verb method, std::string_view pattern, RouteHandler handler,
                         int topic_param = -1) {
  return {.method = method,
          .pattern = pattern,
          .handler = handler,
          .api = Api::v3,
          .cluster_param = 0,
          .topic_param = topic_param};
}

// The checks `route` asks for on `call` (see Route); for a path that reaches a handler
// without the Router (the streaming produce), the caller runs them itself.
[[nodiscard]] ApiResult<void> check_route_params(const Route& route, const Call& call);

// Whether the call's principal may do `op` on the resource (always when authorization is
// off, and for another broker of the cluster).
bool permitted(const Call& call, broker::AclOperation op, broker::AclResourceType type,
               std::string_view name);
// 403 / 40301 naming the operation, the resource and the principal unless permitted.
[[nodiscard]] ApiResult<void> authorize(const Call& call, broker::AclOperation op,
                                        broker::AclResourceType type, std::string_view name);
// The same for a request that has no Call (the streaming produce).
[[nodiscard]] ApiResult<void> authorize(const ApiContext& ctx, const RequestContext& context,
                                        broker::AclOperation op, broker::AclResourceType type,
                                        std::string_view name);

// A produce that would create `topic` (it does not exist): CREATE on the cluster or on the
// topic, as Kafka asks for auto-creation; 403 / 40301 otherwise.
[[nodiscard]] ApiResult<void> authorize_auto_create(const Call& call, std::string_view topic);
// A request with the cluster's token comes from another broker: one it forwarded has the
// principal and address that broker authenticated; any other (a replica fetch, a forwarded
// read of its own) is the broker itself, with every right.
void trust_forwarded_principal(Call& call);

// Registered by each handler file.
void add_ops_routes(std::vector<Route>& routes);
void add_v2_metadata_routes(std::vector<Route>& routes);
void add_v3_cluster_routes(std::vector<Route>& routes);
void add_v1_cluster_routes(std::vector<Route>& routes);
void add_v3_topic_routes(std::vector<Route>& routes);
void add_v3_group_routes(std::vector<Route>& routes);
void add_produce_routes(std::vector<Route>& routes);
void add_fetch_routes(std::vector<Route>& routes);

// The streaming routes, for chunked requests (see StreamHandler): v3 records.
asio::awaitable<std::optional<StreamStart>> start_produce_stream(const Request& header,
                                                                 const RequestContext& context,
                                                                 ApiContext& ctx);
void add_consumer_routes(std::vector<Route>& routes);
void add_acl_routes(std::vector<Route>& routes);

// Maps requests to handlers: method + path pattern, percent-decoding each segment. Builds
// replies without touching sockets, so tests can run it on a bare io_context.
class Router {
 public:
  explicit Router(ApiContext& ctx);
  // Never throws: an unexpected exception becomes a 500 with the cause logged. `context`
  // says who sent the request (an anonymous principal when nobody authenticated it).
  asio::awaitable<Reply> handle(Request request, RequestContext context = {});

 private:
  struct Match {
    const Route* route = nullptr;
    const Access* access = nullptr;  // the route's
    std::vector<std::string> params;
    bool path_matched = false;  // some route has this path, with another method
  };
  Match match(http::verb method, const std::vector<std::string>& segments) const;

  ApiContext& ctx_;
  std::vector<Route> routes_;
  std::vector<Access> access_;  // routes_[i]'s access rule
};

// Splits an origin-form target "/a/b%2Fc?x=1" into decoded segments {"a", "b/c"} and the
// decoded query ('+' is a space there); nullopt when it is not a valid RFC 3986 origin-form
// (bad percent-encoding, characters a path may not hold) or has empty segments. One trailing
// slash is accepted, as REST Proxy does. Decodes once: "%252e" is the segment "%2e".
struct Target {
  std::vector<std::string> segments;
  std::map<std::string, std::string, std::less<>> query;
};
std::optional<Target> parse_target(std::string_view target);

}  // namespace sluice::net
