#include "cluster/segment_repair.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/clock.h"
#include "common/http_url.h"
#include "net/http/client_stream.h"

namespace sluice::cluster {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// The source's copy of the damaged range, or why there is none.
struct Copy {
  std::string bytes;
  std::string problem;
};

asio::awaitable<Copy> fetch_copy(const recovery::SegmentDamage& damage, const RepairSource& source,
                                 const std::string& token, std::shared_ptr<asio::ssl::context> tls,
                                 std::chrono::milliseconds timeout) {
  const auto address = parse_http_url(source.url);
  if (!address) co_return Copy{{}, fmt::format("an unusable URL '{}'", source.url)};
  net::ClientStream stream(co_await asio::this_coro::executor);
  if (auto ec = co_await stream.connect(*address, timeout, std::move(tls))) {
    co_return Copy{{}, fmt::format("cannot reach {}: {}", source.url, ec.message())};
  }
  http::request<http::empty_body> request{
      http::verb::get,
      fmt::format("/v1/replica/topics/{}/partitions/{}/segments/{}?position={}", damage.topic,
                  damage.partition, damage.base.value, damage.position),
      11};
  request.set(http::field::host, address->host + ":" + address->port_text());
  request.set(http::field::accept, "application/vnd.sluice.batch");
  if (!token.empty()) request.set("X-Sluice-Cluster-Token", token);
  stream.expires_after(timeout);
  auto [wec, written] = co_await http::async_write(stream, request, kNoThrow);
  if (wec) co_return Copy{{}, fmt::format("asking {}: {}", source.url, wec.message())};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(damage.file_size - damage.position + 1);
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, kNoThrow);
  if (rec) co_return Copy{{}, fmt::format("reading {}'s answer: {}", source.url, rec.message())};
  auto response = parser.release();
  if (response.result_int() != 200) {
    co_return Copy{{},
                   fmt::format("{} answered {}: {}", source.url, response.result_int(),
                               response.body().substr(0, 200))};
  }
  const auto size = response["X-Sluice-Segment-Size"];
  if (size != std::to_string(damage.file_size)) {
    co_return Copy{{},
                   fmt::format("its copy holds {} bytes, this one {}",
                               std::string_view(size).substr(0, 20), damage.file_size)};
  }
  co_return Copy{std::move(response.body()), {}};
}

}  // namespace

std::vector<RepairSource> repair_sources(
    const PartitionState& state, int32_t self,
    const std::function<std::optional<std::string>(int32_t)>& url_of) {
  std::vector<RepairSource> out;
  for (const auto& member : state.isr) {
    const int32_t id = member.first;
    auto url = id == self ? std::nullopt : url_of(id);
    if (!url) continue;
    RepairSource source{id, std::move(*url)};
    if (id == state.leader) {
      out.insert(out.begin(), std::move(source));
    } else {
      out.push_back(std::move(source));
    }
  }
  return out;
}

recovery::RepairOutcome repair_from(const recovery::SegmentDamage& damage,
                                    const std::vector<RepairSource>& sources,
                                    const std::string& cluster_token,
                                    const std::shared_ptr<asio::ssl::context>& tls,
                                    std::chrono::milliseconds timeout) {
  if (sources.empty()) return {std::nullopt, "no other in-sync replica to copy from"};
  std::string why;
  for (const auto& source : sources) {
    asio::io_context io;
    auto future = asio::co_spawn(io, fetch_copy(damage, source, cluster_token, tls, timeout),
                                 asio::use_future);
    io.run();
    Copy copy = future.get();
    std::string problem = std::move(copy.problem);
    if (problem.empty()) {
      const auto bytes = std::as_bytes(std::span(copy.bytes.data(), copy.bytes.size()));
      if (auto bad = recovery::check_replacement(damage, bytes)) {
        problem = "its copy has " + *bad;
      } else if (auto r = recovery::write_replacement(
                     damage, bytes, fmt::format("repaired from broker {}", source.broker),
                     wall_clock_ms());
                 !r) {
        return {std::nullopt, fmt::format("cannot write the copy of broker {}: {}", source.broker,
                                          r.error().message())};
      } else {
        return {source.broker, {}};
      }
    }
    why += fmt::format("{}broker {}: {}", why.empty() ? "" : "; ", source.broker, problem);
  }
  return {std::nullopt, why};
}

}  // namespace sluice::cluster
