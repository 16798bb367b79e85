#include "perf/load/options.h"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <string>

namespace sluice::load {
namespace {

constexpr const char* kUsage =
    "usage: sluice-load MODE [--key value | --key=value]...\n"
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
    "options (defaults in brackets):\n"
    "  --url http://127.0.0.1:8080[/path] | redis://127.0.0.1:6379   loopback only\n"
    "  --topic load  --partitions 1  --record-size 100  --records-per-request 1\n"
    "  --connections 8  --in-flight 1 (HTTP pipelining depth; produce, http)  --threads 1\n"
    "  --acks (broker default)  --rate 0 (req/s; 0 closed loop)\n"
    "  --duration 10 (s)  --records 0 (stop after this many records; 0 none)\n"
    "  --max-bytes 1048576  --tail  --timeout-ms 500  --label NAME  --no-progress\n"
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

bool parse_mode(std::string_view text, Mode& mode) {
  for (Mode m : {Mode::produce, Mode::fetch, Mode::consume, Mode::e2e, Mode::resp, Mode::http}) {
    if (text == mode_name(m)) {
      mode = m;
      return true;
    }
  }
  return false;
}

// Applies one --key value; false with a message on stderr when the key or value is bad.
bool apply(Options& o, std::string_view key, std::string_view value) {
  bool ok = true;
  if (key == "url") {
    ok = parse_url(value, o);
  } else if (key == "topic") {
    o.topic = value;
  } else if (key == "format") {
    o.format = value;
    ok = value == "json" || value == "binary" || value == "v3" || value == "raw";
  } else if (key == "in-flight") {
    ok = to_number(value, o.in_flight) && o.in_flight >= 1 && o.in_flight <= 1024;
  } else if (key == "group") {
    o.group = value;
    ok = !value.empty();
  } else if (key == "record-size") {
    ok = to_number(value, o.record_size) && o.record_size >= 24;
  } else if (key == "records-per-request") {
    ok = to_number(value, o.records_per_request) && o.records_per_request >= 1;
  } else if (key == "partitions") {
    ok = to_number(value, o.partitions) && o.partitions >= 1;
  } else if (key == "connections") {
    ok = to_number(value, o.connections) && o.connections >= 1;
  } else if (key == "threads") {
    ok = to_number(value, o.threads) && o.threads >= 1;
  } else if (key == "acks") {
    o.acks = value;
    ok = value == "0" || value == "1" || value == "all";
  } else if (key == "rate") {
    ok = to_number(value, o.rate) && o.rate >= 0;
  } else if (key == "duration") {
    ok = to_number(value, o.duration_s) && o.duration_s > 0 && o.duration_s <= 3600;
  } else if (key == "records") {
    ok = to_number(value, o.max_records);
  } else if (key == "max-bytes") {
    ok = to_number(value, o.max_bytes) && o.max_bytes >= 1;
  } else if (key == "timeout-ms") {
    ok = to_number(value, o.timeout_ms) && o.timeout_ms >= 0;
  } else if (key == "method") {
    o.method = value;
    ok = value == "GET" || value == "POST";
  } else if (key == "body-size") {
    ok = to_number(value, o.body_size);
  } else if (key == "range-bytes") {
    ok = to_number(value, o.range_bytes) && o.range_bytes > 0;
  } else if (key == "range-span") {
    ok = to_number(value, o.range_span) && o.range_span > 0;
  } else if (key == "resp-op") {
    o.resp_op = value;
    ok = value == "xadd" || value == "xrange";
  } else if (key == "label") {
    o.label = value;
  } else {
    std::fprintf(stderr, "sluice-load: unknown option --%.*s\n%s", static_cast<int>(key.size()),
                 key.data(), kUsage);
    return false;
  }
  if (!ok) {
    std::fprintf(stderr, "sluice-load: bad value '%.*s' for --%.*s\n",
                 static_cast<int>(value.size()), value.data(), static_cast<int>(key.size()),
                 key.data());
  }
  return ok;
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

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  o.progress = ::isatty(STDERR_FILENO) == 1;
  if (argc < 2 || std::string_view(argv[1]) == "--help" || !parse_mode(argv[1], o.mode)) {
    std::fputs(kUsage, stderr);
    return std::nullopt;
  }
  if (o.mode == Mode::resp) o.port = 6379;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("--")) {
      std::fprintf(stderr, "sluice-load: unexpected argument '%s'\n%s", argv[i], kUsage);
      return std::nullopt;
    }
    arg.remove_prefix(2);
    if (arg == "tail") {
      o.tail = true;
      continue;
    }
    if (arg == "no-progress") {
      o.progress = false;
      continue;
    }
    std::string_view value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::fprintf(stderr, "sluice-load: --%s needs a value\n", argv[i] + 2);
      return std::nullopt;
    }
    if (!apply(o, arg, value)) return std::nullopt;
  }
  if (!is_loopback(o.host)) {
    std::fprintf(stderr, "sluice-load: refusing non-loopback host '%s'\n", o.host.c_str());
    return std::nullopt;
  }
  if (o.host == "[::1]") o.host = "::1";
  if (o.mode == Mode::fetch && o.format != "json" && o.format != "raw") {
    std::fputs("sluice-load: fetch takes --format json or raw\n", stderr);
    return std::nullopt;
  }
  if (o.mode == Mode::consume && o.format != "json" && o.format != "binary") {
    std::fputs("sluice-load: consume takes --format json or binary\n", stderr);
    return std::nullopt;
  }
  if (o.mode == Mode::consume && o.group.empty())
    o.group = fmt::format("sluice-load-{}", ::getpid());
  if (o.mode == Mode::e2e && o.format == "v3") {
    std::fputs("sluice-load: e2e producers take --format json, binary or raw\n", stderr);
    return std::nullopt;
  }
  if (o.in_flight > 1 && o.mode != Mode::produce && o.mode != Mode::http) {
    std::fputs("sluice-load: --in-flight applies to produce and http\n", stderr);
    return std::nullopt;
  }
  if (o.in_flight > 1 && o.range_bytes > 0) {
    std::fputs("sluice-load: --in-flight does not combine with --range-bytes\n", stderr);
    return std::nullopt;
  }
  if ((o.range_bytes > 0) != (o.range_span > 0) ||
      (o.range_bytes > 0 && (o.mode != Mode::http || o.method != "GET"))) {
    std::fputs("sluice-load: --range-bytes and --range-span go together, with http GET\n", stderr);
    return std::nullopt;
  }
  return o;
}

}  // namespace sluice::load
