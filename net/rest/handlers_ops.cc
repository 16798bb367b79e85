// Operations endpoints: liveness, readiness, metrics and the recovery report. They answer
// from the first second, while recovery still runs.
#include <cctype>

#include "net/rest/handler_util.h"
#include "net/rest/router.h"

namespace sluice::net {
namespace {

asio::awaitable<Reply> healthz(Call&) {
  co_return json_reply(http::status::ok, R"({"status":"ok"})");
}

asio::awaitable<Reply> readyz(Call& call) {
  if (call.ctx.broker.load() == nullptr) {
    co_return json_reply(http::status::service_unavailable,
                         R"({"status":"recovering","ready":false})");
  }
  co_return json_reply(http::status::ok, R"({"status":"ready","ready":true})");
}

asio::awaitable<Reply> metrics(Call& call) {
  const std::string recovery = call.ctx.recovery_metrics ? call.ctx.recovery_metrics() : "";
  co_return json_reply(
      http::status::ok,
      call.ctx.metrics.render(call.ctx.broker.load(), call.ctx.cluster.load(), recovery),
      "text/plain; version=0.0.4; charset=utf-8");
}

asio::awaitable<Reply> recovery_report(Call& call) {
  if (!call.ctx.recovery_json) {
    co_return error_reply({http::status::not_found, 40400, "No recovery has run"});
  }
  std::string body = call.ctx.recovery_json();
  // Once the broker serves, what the background scrub found since (docs/OPERATIONS.md).
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.pop_back();
  if (auto* broker = call.ctx.broker.load(std::memory_order_acquire);
      broker != nullptr && !body.empty() && body.back() == '}') {
    body.pop_back();
    body += ",\n  \"scrub\": " + broker->scrubber().to_json() + "\n}\n";
  }
  co_return json_reply(http::status::ok, std::move(body));
}

}  // namespace

void add_ops_routes(std::vector<Route>& routes) {
  routes.push_back({http::verb::get, "/healthz", healthz, false, Api::ops});
  routes.push_back({http::verb::get, "/readyz", readyz, false, Api::ops});
  routes.push_back({http::verb::get, "/status/ready", readyz, false, Api::ops});
  routes.push_back({http::verb::get, "/metrics", metrics, false, Api::ops});
  routes.push_back({http::verb::get, "/v1/recovery", recovery_report, false, Api::ops});
}

}  // namespace sluice::net
