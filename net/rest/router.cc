#include "net/rest/router.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <chrono>
#include <iterator>

#include "common/json_writer.h"
#include "common/text.h"
#include "net/rest/handler_util.h"
#include "net/rest/leader_routing.h"

namespace sluice::net {
namespace {

// Query strings are form-encoded: '+' is a space.
const boost::urls::encoding_opts kQueryEncoding(/*space_as_plus=*/true);

ApiResult<void> check_access(const Access& access, const Call& call) {
  if (access.rule != Access::Rule::resource) return {};
  const std::string_view name = access.name_param < 0
                                    ? broker::kClusterResourceName
                                    : std::string_view(call.params[size_t(access.name_param)]);
  return authorize(call, access.operation, access.type, name);
}

}  // namespace

void trust_forwarded_principal(Call& call) {
  if (call.broker == nullptr || !is_cluster_token(call.request[kClusterTokenHeader],
                                                  call.broker->config().cluster_auth_token)) {
    return;
  }
  const std::string_view principal = call.request[kPrincipalHeader];
  if (principal.empty() || call.request[kForwardedHeader].empty()) {
    call.context.broker = true;
    return;
  }
  call.context.principal = std::string(principal);
  call.context.peer_address = std::string(call.request[kClientAddressHeader]);
}

std::optional<Target> parse_target(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return std::nullopt;
  const boost::urls::url_view& url = *parsed;
  Target out;
  const auto segments = url.encoded_segments();
  for (auto it = segments.begin(); it != segments.end(); ++it) {
    const boost::urls::pct_string_view segment = *it;
    if (segment.empty()) {
      // A trailing slash is accepted ("/offsets/" as REST Proxy does); other empty segments not.
      if (std::next(it) == segments.end() && it != segments.begin()) break;
      return std::nullopt;
    }
    out.segments.push_back(segment.decode());
  }
  for (const auto& param : url.params(kQueryEncoding)) {
    if (param.key.empty() && !param.has_value) continue;  // "a=1&&b=2"
    out.query[param.key] = param.value;
  }
  return out;
}

ApiResult<void> check_route_params(const Route& route, const Call& call) {
  if (route.cluster_param >= 0) {
    const auto& cluster = call.params[static_cast<size_t>(route.cluster_param)];
    if (cluster != call.broker->cluster_id()) {
      return ApiError{http::status::not_found, 40404,
                      fmt::format("Cluster '{}' not found", cluster)};
    }
  }
  if (route.topic_param >= 0) {
    return check_topic_name(call.params[static_cast<size_t>(route.topic_param)]);
  }
  return {};
}

std::optional<std::string_view> Call::query_param(std::string_view name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string Call::base_url() const {
  // A forwarded request names the host its client used (send_to_broker).
  auto host = request[kForwardedHostHeader];
  if (host.empty() || request[kForwardedHeader].empty()) host = request[http::field::host];
  return fmt::format("http://{}", host.empty() ? "localhost" : host);
}

Router::Router(ApiContext& ctx) : ctx_(ctx) {
  add_ops_routes(routes_);
  add_v2_metadata_routes(routes_);
  add_v3_cluster_routes(routes_);
  add_v1_cluster_routes(routes_);
  add_v3_topic_routes(routes_);
  add_v3_group_routes(routes_);
  add_produce_routes(routes_);
  add_fetch_routes(routes_);
  add_consumer_routes(routes_);
  add_acl_routes(routes_);
  for (auto& route : routes_) {
    if (route.pattern.starts_with("/v3/")) route.api = Api::v3;
    auto access = access_of(route.method, route.pattern);
    if (!access) {
      throw std::logic_error(fmt::format("route {} {} has no access rule (net/rest/access.cc)",
                                         std::string_view(http::to_string(route.method)),
                                         route.pattern));
    }
    access_.push_back(*access);
  }
}

Router::Match Router::match(http::verb method, const std::vector<std::string>& segments) const {
  Match result;
  for (size_t r = 0; r < routes_.size(); ++r) {
    const Route& route = routes_[r];
    std::string_view pattern = route.pattern.substr(1);
    std::vector<std::string> params;
    size_t i = 0;
    bool ok = true;
    while (ok && !pattern.empty()) {
      const auto slash = pattern.find('/');
      const auto part = pattern.substr(0, slash);
      if (i >= segments.size()) {
        ok = false;
      } else if (part == "{}") {
        params.push_back(segments[i]);
      } else if (part != segments[i]) {
        ok = false;
      }
      ++i;
      pattern = slash == std::string_view::npos ? std::string_view{} : pattern.substr(slash + 1);
    }
    if (!ok || i != segments.size()) continue;
    if (route.method != method) {
      result.path_matched = true;
      continue;
    }
    result.route = &route;
    result.access = &access_[r];
    result.params = std::move(params);
    return result;
  }
  return result;
}

asio::awaitable<Reply> Router::handle(Request request, RequestContext context) {
  const auto start = std::chrono::steady_clock::now();
  std::string_view route_name = "unmatched";
  Api api = Api::v2;
  Reply reply;
  try {
    auto target = parse_target(request.target());
    if (!target) {
      reply = error_reply({http::status::bad_request, 400,
                           "Malformed request path: bad percent-encoding or empty segment"});
    } else if (std::any_of(target->segments.begin(), target->segments.end(),
                           has_control_characters)) {
      reply = error_reply(
          {http::status::bad_request, 400, "Path segments must not contain control characters"});
    } else if (auto v1 = refuse_v1_media_types(request); !v1) {
      reply = error_reply(v1.error());
    } else if (auto m =
                   match(request.method() == http::verb::head ? http::verb::get : request.method(),
                         target->segments);
               !m.route) {
      reply = m.path_matched ? error_reply({http::status::method_not_allowed, 405,
                                            fmt::format("Method {} not allowed on {}",
                                                        std::string_view(request.method_string()),
                                                        std::string_view(request.target()))})
                             : error_reply({http::status::not_found, 404, "HTTP 404 Not Found"});
      if (!target->segments.empty() && target->segments.front() == "v3") api = Api::v3;
    } else {
      route_name = m.route->pattern;
      api = m.route->api;
      broker::Broker* broker = ctx_.broker.load(std::memory_order_acquire);
      if (api == Api::v2 && !accepts_v2(request[http::field::accept])) {
        reply = error_reply(
            {http::status::not_acceptable, 406,
             fmt::format("HTTP 406 Not Acceptable: use {} or application/json", kKafkaV2)});
      } else if (m.route->needs_ready && broker == nullptr) {
        reply = error_reply({http::status::service_unavailable, 50301,
                             "Broker is recovering its logs; retry shortly (see /v1/recovery)"});
      } else {
        Call call{request,
                  ctx_,
                  broker,
                  std::move(m.params),
                  std::move(target->query),
                  /*leader_header=*/{},
                  context};
        trust_forwarded_principal(call);
        if (auto checked = check_route_params(*m.route, call); !checked) {
          reply = error_reply(checked.error());
        } else if (auto allowed = check_access(*m.access, call); !allowed) {
          reply = error_reply(allowed.error());
        } else if (auto routed = co_await route_to_leader(*m.route, call); routed) {
          reply = std::move(*routed);
        } else {
          reply = co_await m.route->handler(call);
          if (!call.leader_header.empty()) reply.message.set(kLeaderHeader, call.leader_header);
        }
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("{} {}: internal error: {}", std::string_view(request.method_string()),
                  std::string_view(request.target()), e.what());
    reply = error_reply({http::status::internal_server_error, 50002,
                         "Internal server error (the broker log has the cause)"});
  } catch (...) {
    // Not every throw is a std::exception; none may escape into the session coroutine.
    spdlog::error("{} {}: internal error: unknown exception",
                  std::string_view(request.method_string()), std::string_view(request.target()));
    reply = error_reply({http::status::internal_server_error, 50002,
                         "Internal server error (the broker log has the cause)"});
  }
  reply.message.set(http::field::server, "sluice");
  // Every 503 (recovering, no leader, not coordinator, too few replicas) is worth a retry.
  if (reply.message.result() == http::status::service_unavailable &&
      reply.message[http::field::retry_after].empty()) {
    reply.message.set(http::field::retry_after, "1");
  }
  // REST Proxy v2 labels an error with the v2 media type the request negotiated, not JSON.
  if (api == Api::v2 && reply.message.result_int() >= 400 &&
      reply.message[http::field::content_type] == "application/json") {
    reply.message.set(http::field::content_type, v2_error_media_type(request[http::field::accept]));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t bytes_out =
      reply.file_body ? reply.file_body->length : reply.message.body().size();
  ctx_.metrics.record_request(route_name, reply.message.result_int(), seconds,
                              request.body().size(), bytes_out);
  spdlog::debug("{} {} {} {} {:.3f}ms {}B", std::string_view(request.method_string()),
                std::string_view(request.target()), reply.message.result_int(), context.principal,
                seconds * 1e3, bytes_out);
  co_return reply;
}

}  // namespace sluice::net
