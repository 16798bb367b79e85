#pragma once

// Helpers the handler files share: parameter parsing and the one mapping from
// std::error_code to a REST Proxy error.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "broker/errors.h"
#include "broker/partition_log.h"
#include "common/result.h"
#include "net/http/message.h"
#include "net/rest/api_result.h"
#include "net/rest/router.h"

namespace sluice::net {

// The one place a std::error_code becomes an HTTP status, a REST Proxy error_code and a
// message. `what` names the object (topic, partition) for the message; for a consumer-group
// refusal (broker::ConsumerErrc) it is the broker's explanation, which becomes the message
// (REST Proxy's own wording where it has none).
ApiError to_api_error(std::error_code ec, std::string_view what = {});
// The same for a refusal with a detail (broker::DetailedError): a bad topic config is 400 /
// 40002 with the detail naming the key, the value and what is allowed; any other refusal as
// its code, with the detail as `what` when there is one.
ApiError to_api_error(const broker::DetailedError& error, std::string_view what = {});
template <class E>
requires std::is_error_code_enum_v<E> ApiError to_api_error(E e, std::string_view what = {}) {
  return to_api_error(std::error_code(e), what);
}

// A broker of the cluster as the metadata endpoints show it: every registered broker in
// cluster mode, this one alone otherwise.
struct BrokerEntry {
  int32_t id = 0;
  std::string url;
  bool alive = true;
};
std::vector<BrokerEntry> cluster_brokers(const Call& call);
// The controller's broker id: etcd's elected one in cluster mode (none during an election),
// this broker otherwise.
std::optional<int32_t> controller_id(const Call& call);

// Where a partition lives, as the metadata endpoints show it: in cluster mode its replicas
// (preferred leader first) with who leads (-1: none) and who is in sync, as etcd holds them;
// otherwise this broker alone, leading.
struct ReplicaEntry {
  int32_t broker = 0;
  bool leader = false;
  bool in_sync = false;
};
struct PartitionPlacement {
  int32_t leader = -1;
  std::vector<ReplicaEntry> replicas;
};
PartitionPlacement partition_placement(const Call& call, std::string_view topic, int32_t partition);

// Strict decimal integer in [min, max]; nullopt on anything else.
std::optional<int64_t> parse_int(std::string_view s, int64_t min, int64_t max);

// An integer query parameter: the default when absent, an error (400 / 40002 missing,
// 400 / 40003 malformed or out of range) naming it otherwise.
[[nodiscard]] ApiResult<int64_t> int_query(const Call& call, std::string_view name,
                                           std::optional<int64_t> fallback, int64_t min,
                                           int64_t max);

// Validates a topic name (path or body): 400 / 40005 naming the rule when it is not a Kafka
// topic name.
[[nodiscard]] ApiResult<void> check_topic_name(std::string_view topic);

// 404 / 40402 in REST Proxy's words, naming the topic and the partition asked for.
ApiError partition_not_found(std::string_view topic, std::string_view partition);

// Looks up a topic and partition (the name is checked here too: callers pass names from
// request bodies as well as paths), with the REST Proxy errors.
[[nodiscard]] ApiResult<std::shared_ptr<broker::PartitionLog>> find_partition(
    const Call& call, std::string_view topic, std::string_view partition_text);

// Percent-encodes a name for one path segment of a URL we hand out (base_uri, v3 links): all
// but RFC 3986's unreserved characters, so '/', '%' and spaces survive the round trip.
std::string encode_path_segment(std::string_view s);

// The media type of a Content-Type or Accept entry, lower-cased, without parameters.
std::string media_type(std::string_view header_value);

// Each media type of an Accept header, as media_type() gives them, in order.
std::vector<std::string> accept_list(std::string_view accept);

// REST Proxy v1 media types (application/vnd.kafka.v1+json, ...binary.v1+json, ...): 415 when
// the Content-Type or any Accept entry is one. Confluent removed v1 in 2021.
[[nodiscard]] ApiResult<void> refuse_v1_media_types(const Request& request);

// Whether a v2 route can answer a client with this Accept header (absent: yes): a wildcard,
// application/json or a Kafka v2 type. The handlers narrow it further.
bool accepts_v2(std::string_view accept);

// The media type a v2 error is labelled with, as REST Proxy negotiates it: the first Kafka v2
// type or application/json the client accepts; application/vnd.kafka.v2+json otherwise.
std::string v2_error_media_type(std::string_view accept);

inline constexpr std::string_view kJsonV2 = "application/vnd.kafka.json.v2+json";
inline constexpr std::string_view kBinaryV2 = "application/vnd.kafka.binary.v2+json";
inline constexpr std::string_view kKafkaV2 = "application/vnd.kafka.v2+json";
inline constexpr std::string_view kRawBatch = "application/vnd.sluice.batch";

}  // namespace sluice::net
