#pragma once

// etcd's v3 JSON gateway, as bytes: the request bodies Sluice sends and the answers it reads.
// No I/O here, so every parser can be fuzzed (tests/fuzz/etcd_fuzz.cc).
//
// The gateway's quirks (docs/CLUSTER.md, "etcd over HTTP"): keys and values are base64; int64
// values (revisions, lease ids, TTLs) come as JSON strings; zero, false and empty values are
// left out (an absent `succeeded` is false, an absent event `type` is PUT); a watch answers
// one JSON object per line; unary errors are {"error","message","code"} with a gRPC code.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/result.h"

namespace sluice::cluster {

// Why an etcd call failed, as far as the caller needs to act on it.
enum class EtcdErrc {
  unreachable = 1,    // no endpoint answered within the timeout
  bad_answer,         // an answer that is not what the gateway sends (malformed, wrong shape)
  lease_not_found,    // gRPC NotFound: the lease expired or was revoked
  invalid_request,    // gRPC InvalidArgument (3) and other 4xx answers
  permission_denied,  // gRPC PermissionDenied (7)
  unavailable,        // gRPC Unavailable (14), 5xx: etcd is up but cannot serve (no quorum)
  watch_canceled,     // a watch that etcd canceled (compaction) or closed
};
const std::error_category& etcd_category() noexcept;
inline std::error_code make_error_code(EtcdErrc e) noexcept {
  return {static_cast<int>(e), etcd_category()};
}

// The header every answer carries; `revision` is the store's revision when it answered.
struct EtcdHeader {
  int64_t revision = 0;
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  int64_t raft_term = 0;
};

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct RangeAnswer {
  EtcdHeader header;
  std::vector<KeyValue> kvs;
  int64_t count = 0;
};

// A compare of a transaction: `target` of `key` against `number` (revisions, version) or
// `value`.
struct Compare {
  enum class Target { create, mod, version, value };
  enum class Op { equal, greater, less, not_equal };
  std::string key;
  Target target = Target::create;
  Op op = Op::equal;
  int64_t number = 0;
  std::string value;
};

// One operation of a transaction's branch.
struct TxnOp {
  enum class Kind { range, put, del };
  Kind kind = Kind::range;
  std::string key;
  std::string range_end;  // range and delete: empty for one key
  std::string value;      // put
  int64_t lease = 0;      // put: 0 for none

  static TxnOp range(std::string key, std::string range_end = {}) {
    return {Kind::range, std::move(key), std::move(range_end), {}, 0};
  }
  static TxnOp put(std::string key, std::string value, int64_t lease = 0) {
    return {Kind::put, std::move(key), {}, std::move(value), lease};
  }
  static TxnOp del(std::string key, std::string range_end = {}) {
    return {Kind::del, std::move(key), std::move(range_end), {}, 0};
  }
};

struct Txn {
  std::vector<Compare> compare;
  std::vector<TxnOp> success;
  std::vector<TxnOp> failure;
};

// The branch that ran, and what each of its range operations found (in order; puts and
// deletes leave an empty answer in their place).
struct TxnAnswer {
  EtcdHeader header;
  bool succeeded = false;
  std::vector<RangeAnswer> responses;
};

// A lease grant or keepalive: ttl_s is 0 when the lease no longer exists.
struct LeaseAnswer {
  EtcdHeader header;
  int64_t id = 0;
  int64_t ttl_s = 0;
};

struct WatchEvent {
  enum class Type { put, del };
  Type type = Type::put;
  KeyValue kv;
  std::optional<KeyValue> prev_kv;
};

// One line of a watch stream.
struct WatchAnswer {
  EtcdHeader header;
  int64_t watch_id = 0;
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;  // with canceled: re-read from a range, then watch again
  std::string cancel_reason;
  std::vector<WatchEvent> events;
};

// The end of the range of every key that starts with `prefix` (its last byte plus one).
std::string prefix_end(std::string_view prefix);

// Request bodies.
std::string range_request(std::string_view key, std::string_view range_end = {},
                          int64_t revision = 0);
std::string put_request(std::string_view key, std::string_view value, int64_t lease = 0);
std::string delete_request(std::string_view key, std::string_view range_end = {});
std::string txn_request(const Txn& txn);
std::string lease_grant_request(int64_t ttl_s);
std::string lease_id_request(int64_t id);  // keepalive, revoke
std::string watch_request(std::string_view key, std::string_view range_end, int64_t start_revision,
                          bool prev_kv);

// Answers. A body that is not a well-formed answer of that call is EtcdErrc::bad_answer.
Result<RangeAnswer> parse_range(std::string_view body);
Result<EtcdHeader> parse_header_only(std::string_view body);  // put, delete, revoke
Result<TxnAnswer> parse_txn(std::string_view body);
Result<LeaseAnswer> parse_lease_grant(std::string_view body);
Result<LeaseAnswer> parse_lease_keepalive(std::string_view body);  // {"result":{...}}
// One line of a watch stream; an in-band error ({"error":{...}}) is EtcdErrc::unavailable.
Result<WatchAnswer> parse_watch_line(std::string_view line);

// The error an answer with HTTP status `status` stands for, from its body's gRPC code where it
// has one; `message` receives etcd's own words for the log.
std::error_code parse_error(int status, std::string_view body, std::string& message);

}  // namespace sluice::cluster

template <>
struct std::is_error_code_enum<sluice::cluster::EtcdErrc> : std::true_type {};
