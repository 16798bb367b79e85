// Confluent's v3 ACL API: GET, POST and DELETE /v3/clusters/{id}/acls (and POST acls:batch).
// The bindings are the authorizer's (broker/acl.h); the AclStore keeps them (a file in the data
// directory standalone, etcd in cluster mode).

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/url/url.hpp>

#include "common/json_writer.h"
#include "net/rest/durable.h"
#include "net/rest/handler_util.h"
#include "net/rest/router.h"
#include "net/rest/v3_common.h"

namespace sluice::net {
namespace {

using broker::AclBinding;
using broker::AclFilter;

ApiError bad_request(std::string message) {
  return {http::status::bad_request, 40002, std::move(message)};
}

// The ACL API without an authorizer: Kafka's SECURITY_DISABLED.
ApiResult<const broker::Authorizer*> enabled_authorizer(const Call& call) {
  const auto* authorizer = call.ctx.authorizer.get();
  if (authorizer == nullptr || !authorizer->enabled() || !call.ctx.acl_store) {
    return ApiError{http::status::bad_request, 40008,
                    "Security is disabled: ACLs need authorizer.enable=true"};
  }
  return authorizer;
}

// One enum field of a filter (query) or binding (body); `fallback` when absent.
template <class E>
ApiResult<E> enum_field(std::optional<std::string_view> text, std::string_view name,
                        std::optional<E> (*parse)(std::string_view), std::optional<E> fallback,
                        std::string_view allowed) {
  if (!text) {
    if (fallback) return *fallback;
    return bad_request(fmt::format("{}: required, one of {}", name, allowed));
  }
  auto value = parse(*text);
  if (!value) return bad_request(fmt::format("{}: '{}' is not one of {}", name, *text, allowed));
  return *value;
}

constexpr std::string_view kResourceTypes = "ANY, TOPIC, GROUP, CLUSTER";
constexpr std::string_view kPatternTypes = "ANY, MATCH, LITERAL, PREFIXED";
constexpr std::string_view kOperations =
    "ANY, ALL, READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS";
constexpr std::string_view kPermissions = "ANY, ALLOW, DENY";

ApiResult<AclFilter> filter_from_query(const Call& call) {
  AclFilter f;
  auto rt =
      enum_field(call.query_param("resource_type"), "resource_type",
                 broker::parse_acl_resource_type, {broker::AclResourceType::any}, kResourceTypes);
  if (!rt) return rt.error();
  auto pt =
      enum_field(call.query_param("pattern_type"), "pattern_type", broker::parse_acl_pattern_type,
                 {broker::AclPatternType::any}, kPatternTypes);
  if (!pt) return pt.error();
  auto op = enum_field(call.query_param("operation"), "operation", broker::parse_acl_operation,
                       {broker::AclOperation::any}, kOperations);
  if (!op) return op.error();
  auto pe = enum_field(call.query_param("permission"), "permission", broker::parse_acl_permission,
                       {broker::AclPermission::any}, kPermissions);
  if (!pe) return pe.error();
  f.resource_type = *rt;
  f.pattern_type = *pt;
  f.operation = *op;
  f.permission = *pe;
  if (auto v = call.query_param("resource_name")) f.resource_name = std::string(*v);
  if (auto v = call.query_param("principal")) f.principal = std::string(*v);
  if (auto v = call.query_param("host")) f.host = std::string(*v);
  return f;
}

ApiResult<AclBinding> binding_from_json(simdjson::dom::element item) {
  auto text = [&](const char* field) -> std::optional<std::string_view> {
    std::string_view s;
    if (item[field].get_string().get(s)) return std::nullopt;
    return s;
  };
  AclBinding b;
  auto rt = enum_field(text("resource_type"), "resource_type", broker::parse_acl_resource_type, {},
                       "TOPIC, GROUP, CLUSTER");
  if (!rt) return rt.error();
  auto pt = enum_field(text("pattern_type"), "pattern_type", broker::parse_acl_pattern_type, {},
                       "LITERAL, PREFIXED");
  if (!pt) return pt.error();
  auto op = enum_field(text("operation"), "operation", broker::parse_acl_operation, {},
                       kOperations.substr(5));
  if (!op) return op.error();
  auto pe =
      enum_field(text("permission"), "permission", broker::parse_acl_permission, {}, "ALLOW, DENY");
  if (!pe) return pe.error();
  for (const char* field : {"resource_name", "principal", "host"}) {
    if (!text(field)) return bad_request(fmt::format("{}: required string", field));
  }
  b.resource_type = *rt;
  b.pattern_type = *pt;
  b.operation = *op;
  b.permission = *pe;
  b.resource_name = std::string(*text("resource_name"));
  b.principal = std::string(*text("principal"));
  b.host = std::string(*text("host"));
  if (auto why = broker::invalid_acl(b)) return bad_request(*why);
  return b;
}

// "ALLOW User:alice WRITE TOPIC 'orders-' (PREFIXED) from host *", for the log.
std::string describe(const AclBinding& b) {
  return fmt::format("{} {} {} {} '{}' ({}) from host {}", broker::to_string(b.permission),
                     b.principal, broker::to_string(b.operation),
                     broker::to_string(b.resource_type), b.resource_name,
                     broker::to_string(b.pattern_type), b.host);
}

void write_binding(JsonWriter& w, const Call& call, const AclBinding& b) {
  boost::urls::url self(cluster_url(call) + "/acls");
  auto params = self.params();
  params.append({"resource_type", broker::to_string(b.resource_type)});
  params.append({"resource_name", b.resource_name});
  params.append({"pattern_type", broker::to_string(b.pattern_type)});
  params.append({"principal", b.principal});
  params.append({"host", b.host});
  params.append({"operation", broker::to_string(b.operation)});
  params.append({"permission", broker::to_string(b.permission)});
  w.begin_object().key("kind").value("KafkaAcl");
  w.key("metadata").begin_object().key("self").value(std::string_view(self.buffer())).end_object();
  w.key("cluster_id").value(call.broker->cluster_id());
  w.key("resource_type").value(broker::to_string(b.resource_type));
  w.key("resource_name").value(b.resource_name);
  w.key("pattern_type").value(broker::to_string(b.pattern_type));
  w.key("principal").value(b.principal);
  w.key("host").value(b.host);
  w.key("operation").value(broker::to_string(b.operation));
  w.key("permission").value(broker::to_string(b.permission));
  w.end_object();
}

std::string render_list(const Call& call, const std::vector<AclBinding>& acls) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("kind").value("KafkaAclList");
  w.key("metadata").begin_object().key("self").value(cluster_url(call) + "/acls");
  w.key("next").null().end_object().key("data").begin_array();
  for (const auto& b : acls) write_binding(w, call, b);
  w.end_array().end_object();
  return body;
}

// Stores `change` through the AclStore, on the broker's worker (a file sync or an etcd round
// trip); 500 / 50004 with the store's reason when it failed, and nothing changed.
asio::awaitable<ApiResult<void>> store(const Call& call, const broker::AclStore::Change& change) {
  auto& acls = *call.ctx.acl_store;
  auto update = [&] { return acls.update(change); };
  auto failed = co_await on_worker(call.broker->worker(), update);
  if (failed) {
    spdlog::error("ACL change not stored: {}", *failed);
    co_return ApiError{http::status::internal_server_error, 50004,
                       fmt::format("The ACLs were not changed: {}", *failed)};
  }
  co_return ApiResult<void>{};
}

// Adds each binding not stored yet (a binding stored already is left as it is, as Kafka does).
asio::awaitable<ApiResult<void>> add(const Call& call, std::vector<AclBinding> added) {
  auto result = co_await store(call, [&](const std::vector<AclBinding>& current) {
    auto next = current;
    for (const auto& b : added) {
      if (std::find(next.begin(), next.end(), b) == next.end()) next.push_back(b);
    }
    return next;
  });
  if (result) {
    for (const auto& b : added) {
      spdlog::info("ACL added by {}: {}", call.context.principal, describe(b));
    }
  }
  co_return result;
}

asio::awaitable<Reply> list_acls(Call& call) {
  if (auto on = enabled_authorizer(call); !on) co_return error_reply(on.error());
  auto filter = filter_from_query(call);
  if (!filter) co_return error_reply(filter.error());
  std::vector<AclBinding> found;
  for (const auto& b : *call.ctx.authorizer->acls()) {
    if (filter->matches(b)) found.push_back(b);
  }
  co_return json_reply(http::status::ok, render_list(call, found));
}

// POST acls: one binding (201). POST acls:batch: {"data":[binding, ...]} (204), all stored or
// none (one invalid binding refuses the batch).
asio::awaitable<Reply> create_acls(Call& call, bool batch) {
  if (auto on = enabled_authorizer(call); !on) co_return error_reply(on.error());
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto body = parse_v3_body(call, parser, doc); !body) co_return error_reply(body.error());
  std::vector<AclBinding> bindings;
  if (!batch) {
    auto binding = binding_from_json(doc);
    if (!binding) co_return error_reply(binding.error());
    bindings.push_back(std::move(*binding));
  } else {
    simdjson::dom::array data;
    if (doc["data"].get_array().get(data)) {
      co_return error_reply(bad_request("data: required array of ACLs"));
    }
    for (auto item : data) {
      auto binding = binding_from_json(item);
      if (!binding) {
        co_return error_reply(
            bad_request(fmt::format("data[{}]: {}", bindings.size(), binding.error().message)));
      }
      bindings.push_back(std::move(*binding));
    }
  }
  if (auto r = co_await add(call, std::move(bindings)); !r) co_return error_reply(r.error());
  Reply reply = json_reply(batch ? http::status::no_content : http::status::created, "");
  reply.message.erase(http::field::content_type);
  co_return reply;
}

asio::awaitable<Reply> create_acl(Call& call) { co_return co_await create_acls(call, false); }
asio::awaitable<Reply> create_acls_batch(Call& call) { co_return co_await create_acls(call, true); }

// Removes every binding the query's filter matches and answers them. resource_type is
// required (ANY deletes across types), so that an empty query cannot wipe every ACL by mistake.
asio::awaitable<Reply> delete_acls(Call& call) {
  if (auto on = enabled_authorizer(call); !on) co_return error_reply(on.error());
  if (!call.query_param("resource_type")) {
    co_return error_reply(bad_request(
        fmt::format("resource_type: required, one of {} (ANY matches all)", kResourceTypes)));
  }
  auto filter = filter_from_query(call);
  if (!filter) co_return error_reply(filter.error());
  std::vector<AclBinding> removed;
  auto r = co_await store(call, [&](const std::vector<AclBinding>& current) {
    removed.clear();
    std::vector<AclBinding> kept;
    for (const auto& b : current) (filter->matches(b) ? removed : kept).push_back(b);
    return kept;
  });
  if (!r) co_return error_reply(r.error());
  for (const auto& b : removed) {
    spdlog::info("ACL removed by {}: {}", call.context.principal, describe(b));
  }
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("data").begin_array();
  for (const auto& b : removed) write_binding(w, call, b);
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body));
}

}  // namespace

void add_acl_routes(std::vector<Route>& routes) {
  routes.push_back(v3_route(http::verb::get, "/v3/clusters/{}/acls", list_acls));
  routes.push_back(v3_route(http::verb::post, "/v3/clusters/{}/acls", create_acl));
  routes.push_back(v3_route(http::verb::post, "/v3/clusters/{}/acls:batch", create_acls_batch));
  routes.push_back(v3_route(http::verb::delete_, "/v3/clusters/{}/acls", delete_acls));
}

}  // namespace sluice::net
