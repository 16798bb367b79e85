#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::load {

enum class Mode { produce, fetch, consume, e2e, resp, http };

// Command-line settings of one run. Every run is bounded: by duration_s always, and by
// max_records when set.
struct Options {
  Mode mode = Mode::produce;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string path = "/";  // http mode: the request target
  std::string topic = "load";
  std::string format = "binary";  // produce: json|binary|v3|raw; fetch: json|raw;
                                  // consume: json|binary
  std::string group;              // consume: the consumer group; empty = sluice-load-<pid>
  int record_size = 100;          // value bytes per record
  int records_per_request = 1;    // produce batch; resp xadd pipeline depth; xrange COUNT
  int partitions = 1;
  int connections = 8;
  int in_flight = 1;  // produce and http: requests sent on a connection before its replies
  int threads = 1;
  std::string acks;  // empty: the broker's default
  double rate = 0;   // requests/s over all connections; 0 = closed loop
  double duration_s = 10;
  uint64_t max_records = 0;  // 0 = no record bound
  int64_t max_bytes = 1 << 20;
  bool tail = false;  // fetch: long-poll at the end instead of reading from the beginning
  int timeout_ms = 500;
  std::string method = "GET";  // http mode
  size_t body_size = 0;        // http mode POST body
  // http mode GET: ask for successive ranges of range_bytes, walking the first range_span
  // bytes of the resource from its start and wrapping; 0 = the whole resource each time.
  uint64_t range_bytes = 0;
  uint64_t range_span = 0;
  // Load over TLS: requests go to tls_port (an https listener of the same broker), trusting
  // the CA in tls_ca; the run's setup (cluster id, topic, offsets) still uses --url's port.
  uint16_t tls_port = 0;
  std::string tls_ca;
  std::string resp_op = "xadd";
  std::string label;
  bool progress = true;
};

// The options of a run, or none with the exit code: 0 after --help printed the usage, 2 after a
// usage error printed why on stderr.
struct ParsedOptions {
  std::optional<Options> options;
  int exit_code = 0;
};

// Parses argv (CLI11; `sluice-load --help` lists every option). Refuses any host that is not a
// loopback address: this tool only ever loads servers on this machine.
ParsedOptions parse_options(int argc, char** argv);

std::string_view mode_name(Mode mode);

}  // namespace sluice::load
