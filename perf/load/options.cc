#include "perf/load/options.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace sluice::load {
namespace {

constexpr const char* kModes =
    "modes:\n"
    "  produce  POST records to Sluice (--format json|binary|v3|raw)\n"
    "  fetch    GET records by offset (--format json|raw; --tail to long-poll at the end)\n"
    "  consume  one consumer-group instance per connection, subscribed to --topic, fetching\n"
    "           records (--format json|binary; --group NAME; from the earliest offset, or\n"
    "           only new records with --tail; records re-delivered after a rebalance count)\n"
    "  e2e      produce time-stamped records while one tailing fetcher per partition measures\n"
    "           produce-to-fetch latency (--format json|binary|raw for the producers)\n"
    "  resp     Redis Streams over RESP (--resp-op xadd|xrange, --topic is the stream key)\n"
    "  http     plain HTTP to --url (GET, or POST with --method POST --body-size N; GET\n"
    "           --range-bytes N --range-span S walks S bytes of the resource N at a time)\n"
    "Prints a JSON result on stdout; a live progress line on stderr when it is a terminal.\n";

bool is_loopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

template <class T>
bool to_number(std::string_view text, T& out) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end;
}

bool parse_url(std::string_view url, Options& o) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string_view rest = url.substr(scheme_end + 3);
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  o.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos || authority.ends_with(']')) {
    o.host = std::string(authority);
    return true;
  }
  o.host = std::string(authority.substr(0, colon));
  return to_number(authority.substr(colon + 1), o.port);
}

// Checks the combinations of options; false after printing why.
bool check(Options& o) {
  auto refuse = [](std::string_view why) {
    fmt::print(stderr, "sluice-load: {}\n", why);
    return false;
  };
  if (!is_loopback(o.host)) return refuse(fmt::format("refusing non-loopback host '{}'", o.host));
  if (o.host == "[::1]") o.host = "::1";
  if (o.mode == Mode::fetch && o.format != "json" && o.format != "raw") {
    return refuse("fetch takes --format json or raw");
  }
  if (o.mode == Mode::consume && o.format != "json" && o.format != "binary") {
    return refuse("consume takes --format json or binary");
  }
  if (o.mode == Mode::e2e && o.format == "v3") {
    return refuse("e2e producers take --format json, binary or raw");
  }
  if (o.in_flight > 1 && o.mode != Mode::produce && o.mode != Mode::http) {
    return refuse("--in-flight applies to produce and http");
  }
  if (o.in_flight > 1 && o.range_bytes > 0) {
    return refuse("--in-flight does not combine with --range-bytes");
  }
  if ((o.range_bytes > 0) != (o.range_span > 0) ||
      (o.range_bytes > 0 && (o.mode != Mode::http || o.method != "GET"))) {
    return refuse("--range-bytes and --range-span go together, with http GET");
  }
  return true;
}

}  // namespace

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::produce:
      return "produce";
    case Mode::fetch:
      return "fetch";
    case Mode::consume:
      return "consume";
    case Mode::e2e:
      return "e2e";
    case Mode::resp:
      return "resp";
    case Mode::http:
      return "http";
  }
  return "?";
}

ParsedOptions parse_options(int argc, char** argv) {
  Options o;
  o.progress = ::isatty(STDERR_FILENO) == 1;
  CLI::App app("Load generator for Sluice and its peers (Redis, nginx); loopback only.",
               "sluice-load");
  app.footer(kModes);
  std::string mode;
  std::vector<std::string> modes;
  for (Mode m : {Mode::produce, Mode::fetch, Mode::consume, Mode::e2e, Mode::resp, Mode::http}) {
    modes.emplace_back(mode_name(m));
  }
  app.add_option("MODE", mode, "What to load (below)")->required()->check(CLI::IsMember(modes));
  std::string url;
  app.add_option("--url", url,
                 "http://127.0.0.1:8080[/path] or redis://127.0.0.1:6379; loopback only");
  app.add_option("--topic", o.topic, "Topic (resp: stream key)")->capture_default_str();
  app.add_option("--format", o.format, "Body format")
      ->check(CLI::IsMember({"json", "binary", "v3", "raw"}))
      ->capture_default_str();
  app.add_option("--group", o.group, "consume: the group (default sluice-load-<pid>)")
      ->check(CLI::Validator(
          [](std::string& v) { return v.empty() ? std::string("must not be empty") : ""; }, ""));
  app.add_option("--record-size", o.record_size, "Value bytes per record")
      ->check(CLI::Range(24, std::numeric_limits<int>::max()))
      ->capture_default_str();
  app.add_option("--records-per-request", o.records_per_request,
                 "Produce batch; resp XADD pipeline depth or XRANGE COUNT")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--partitions", o.partitions)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--connections", o.connections)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--in-flight", o.in_flight,
                 "Requests sent on a connection before its replies (produce, http)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--threads", o.threads)->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--acks", o.acks, "Default: the broker's")
      ->check(CLI::IsMember({"0", "1", "all"}));
  app.add_option("--rate", o.rate, "Requests/s over all connections; 0 closed loop")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--duration", o.duration_s, "Seconds, at most 3600")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  app.add_option("--records", o.max_records, "Stop after this many records; 0 none")
      ->capture_default_str();
  app.add_option("--max-bytes", o.max_bytes)
      ->check(CLI::Range(int64_t{1}, std::numeric_limits<int64_t>::max()))
      ->capture_default_str();
  app.add_flag("--tail", o.tail, "fetch, consume: only new records, long-polling at the end");
  app.add_option("--timeout-ms", o.timeout_ms)
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--method", o.method, "http")
      ->check(CLI::IsMember({"GET", "POST"}))
      ->capture_default_str();
  app.add_option("--body-size", o.body_size, "http POST body bytes");
  app.add_option("--range-bytes", o.range_bytes, "http GET: bytes per ranged request")
      ->check(CLI::PositiveNumber);
  app.add_option("--range-span", o.range_span, "http GET: bytes the ranges walk, then wrap")
      ->check(CLI::PositiveNumber);
  app.add_option("--resp-op", o.resp_op)
      ->check(CLI::IsMember({"xadd", "xrange"}))
      ->capture_default_str();
  app.add_option("--tls-port", o.tls_port,
                 "Send the load over TLS to this port (an https listener); setup uses --url")
      ->check(CLI::Range(1, 65535));
  app.add_option("--tls-ca", o.tls_ca,
                 "With --tls-port: the CA file (PEM) to verify it with; its certificate must then "
                 "name the address it connects to (an IP SAN). Without it, nothing is verified")
      ->check(CLI::ExistingFile);
  app.add_option("--label", o.label, "Copied into the JSON result");
  bool no_progress = false;
  app.add_flag("--no-progress", no_progress, "No progress line on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return {std::nullopt, app.exit(e)};
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return {std::nullopt, 2};
  }
  for (Mode m : {Mode::produce, Mode::fetch, Mode::consume, Mode::e2e, Mode::resp, Mode::http}) {
    if (mode == mode_name(m)) o.mode = m;
  }
  if (o.mode == Mode::resp) o.port = 6379;
  if (!url.empty() && !parse_url(url, o)) {
    fmt::print(stderr, "sluice-load: bad value '{}' for --url\n", url);
    return {std::nullopt, 2};
  }
  if (no_progress) o.progress = false;
  if (!check(o)) return {std::nullopt, 2};
  if (o.mode == Mode::consume && o.group.empty()) {
    o.group = fmt::format("sluice-load-{}", ::getpid());
  }
  return {o, 0};
}

}  // namespace sluice::load
