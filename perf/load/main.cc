// sluice-load: an HTTP (and RESP) load generator for Sluice and the peers it is compared with.
#include <fmt/format.h>

#include <boost/beast/http.hpp>
#include <charconv>
#include <cstdio>
#include <exception>
#include <memory>

#include "perf/load/options.h"
#include "perf/load/runner.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using sluice::load::Mode;
using sluice::load::Options;

struct SyncReply {
  unsigned status = 0;
  std::string body;
};

// One blocking request on a fresh connection, for setting up a run.
std::optional<SyncReply> sync_request(const Options& o, http::verb method, std::string target,
                                      std::string body = {}) {
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    const std::string host = o.host == "localhost" ? "127.0.0.1" : o.host;
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address(host), o.port));
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, fmt::format("{}:{}", o.host, o.port));
    if (!body.empty()) request.set(http::field::content_type, "application/json");
    request.body() = std::move(body);
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return SyncReply{response.result_int(), std::move(response.body())};
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice-load: %s %s: %s\n", std::string(http::to_string(method)).c_str(),
                 target.c_str(), e.what());
    return std::nullopt;
  }
}

// The integer after "name": in a JSON text; -1 when absent.
int64_t json_int(std::string_view text, std::string_view name) {
  const auto key = fmt::format("\"{}\":", name);
  const auto at = text.find(key);
  if (at == std::string_view::npos) return -1;
  int64_t value = -1;
  const char* begin = text.data() + at + key.size();
  std::from_chars(begin, text.data() + text.size(), value);
  return value;
}

std::string json_text(std::string_view text, std::string_view name) {
  const auto key = fmt::format("\"{}\":\"", name);
  const auto at = text.find(key);
  if (at == std::string_view::npos) return {};
  const auto start = at + key.size();
  return std::string(text.substr(start, text.find('"', start) - start));
}

// Learns the cluster id, creates the topic with the partitions asked for (an existing topic is
// kept) and finds where fetches start. False when the broker cannot be reached.
bool prepare_sluice(const Options& o, std::string& cluster_id, std::vector<int64_t>& offsets) {
  auto clusters = sync_request(o, http::verb::get, "/v3/clusters");
  if (!clusters) return false;
  cluster_id = json_text(clusters->body, "cluster_id");
  const bool reads = o.mode == Mode::fetch || o.mode == Mode::consume;
  if (!reads && !cluster_id.empty()) {
    sync_request(
        o, http::verb::post, fmt::format("/v3/clusters/{}/topics", cluster_id),
        fmt::format(R"({{"topic_name":"{}","partitions_count":{}}})", o.topic, o.partitions));
  }
  for (int p = 0; p < o.partitions; ++p) {
    auto reply = sync_request(o, http::verb::get,
                              fmt::format("/topics/{}/partitions/{}/offsets", o.topic, p));
    int64_t offset = 0;
    if (reply && reply->status == 200) {
      const bool from_end = o.mode == Mode::e2e || o.tail;
      offset = json_int(reply->body, from_end ? "end_offset" : "beginning_offset");
    } else if (reads) {
      std::fprintf(stderr, "sluice-load: topic %s partition %d not found\n", o.topic.c_str(), p);
      return false;
    }
    offsets.push_back(offset < 0 ? 0 : offset);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = sluice::load::parse_options(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  auto& options = parsed.options;
  std::string cluster_id;
  std::vector<int64_t> offsets;
  const bool sluice_mode = options->mode == Mode::produce || options->mode == Mode::fetch ||
                           options->mode == Mode::consume || options->mode == Mode::e2e;
  if (sluice_mode && !prepare_sluice(*options, cluster_id, offsets)) return 1;
  std::unique_ptr<sluice::load::Runner> runner;
  try {
    runner = std::make_unique<sluice::load::Runner>(*options, cluster_id, offsets);
  } catch (const std::exception& e) {
    // A --tls-ca file that is not a PEM CA, an address that is not one.
    std::fprintf(stderr, "sluice-load: %s\n", e.what());
    return 1;
  }
  runner->run();
  std::printf("%s\n", runner->result_json().c_str());
  return 0;
}
