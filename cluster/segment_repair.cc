#include "cluster/segment_repair.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/file_body.hpp>
#include <filesystem>
#include <span>

#include "common/clock.h"
#include "common/file.h"
#include "common/http_url.h"
#include "net/http/client_stream.h"

namespace sluice::cluster {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// The source's copy of the damaged range, or why there is none. The copy goes into `scratch`
// as it arrives: a segment's tail can be a GiB, too much to hold in memory.
asio::awaitable<std::string> fetch_copy(const recovery::SegmentDamage& damage,
                                        const RepairSource& source, const std::string& token,
                                        std::shared_ptr<asio::ssl::context> tls,
                                        std::chrono::milliseconds timeout,
                                        const std::filesystem::path& scratch) {
  const auto address = parse_http_url(source.url);
  if (!address) co_return fmt::format("an unusable URL '{}'", source.url);
  net::ClientStream stream(co_await asio::this_coro::executor);
  if (auto ec = co_await stream.connect(*address, timeout, std::move(tls))) {
    co_return fmt::format("cannot reach {}: {}", source.url, ec.message());
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
  if (wec) co_return fmt::format("asking {}: {}", source.url, wec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::file_body> parser;
  parser.body_limit(damage.file_size - damage.position + 1);
  beast::error_code oec;
  parser.get().body().open(scratch.c_str(), beast::file_mode::write, oec);
  if (oec) co_return fmt::format("cannot write {}: {}", scratch.string(), oec.message());
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, kNoThrow);
  parser.get().body().close();
  if (rec) co_return fmt::format("reading {}'s answer: {}", source.url, rec.message());
  const auto& response = parser.get();
  if (response.result_int() != 200) {
    std::string text(200, '\0');
    auto file = File::open(scratch, O_RDONLY);
    const auto n = file ? file->pread_full(std::as_writable_bytes(std::span(text)), 0)
                        : Result<size_t>(size_t{0});
    text.resize(n ? *n : 0);
    co_return fmt::format("{} answered {}: {}", source.url, response.result_int(), text);
  }
  const auto size = response["X-Sluice-Segment-Size"];
  if (size != std::to_string(damage.file_size)) {
    co_return fmt::format("its copy holds {} bytes, this one {}",
                          std::string_view(size).substr(0, 20), damage.file_size);
  }
  co_return std::string{};
}

// Maps the copy received into `path` for `into`.
Result<void> map_copy(const std::filesystem::path& path, ReadOnlyMapping& into) {
  auto file = File::open(path, O_RDONLY);
  if (!file) return file.error();
  auto size = file->size();
  if (!size) return size.error();
  return into.map(file->fd(), *size);
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
  // Each copy is received beside the quarantine (the partition's, on the same disk), and the
  // file is removed whatever happens.
  std::error_code dir_ec;
  std::filesystem::create_directories(damage.quarantine_dir, dir_ec);
  if (dir_ec) {
    return {std::nullopt,
            fmt::format("cannot make {}: {}", damage.quarantine_dir.string(), dir_ec.message())};
  }
  struct Scratch {
    std::filesystem::path path;
    ~Scratch() {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
  } scratch{damage.quarantine_dir / (damage.log_file.filename().string() + ".incoming")};
  std::string why;
  for (const auto& source : sources) {
    asio::io_context io;
    auto future =
        asio::co_spawn(io, fetch_copy(damage, source, cluster_token, tls, timeout, scratch.path),
                       asio::use_future);
    io.run();
    std::string problem = future.get();
    if (problem.empty()) {
      ReadOnlyMapping copy;
      if (auto mapped = map_copy(scratch.path, copy); !mapped) {
        problem =
            fmt::format("cannot read {}: {}", scratch.path.string(), mapped.error().message());
      } else if (auto bad = recovery::check_replacement(damage, copy.bytes())) {
        problem = "its copy has " + *bad;
      } else if (auto r = recovery::write_replacement(
                     damage, copy.bytes(), fmt::format("repaired from broker {}", source.broker),
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
