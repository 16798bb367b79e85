#pragma once

// Cluster mode: a request for a partition that another broker leads (docs/CLUSTER.md,
// "Requests that reach a non-leader").
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/consumer_groups.h"
#include "net/http/auth.h"
#include "net/http/message.h"
#include "net/rest/api_result.h"
#include "net/rest/router.h"

namespace sluice::net {

// The header that marks a forwarded request (its value: the forwarding broker's id). A
// forwarded request is never forwarded again: a broker that gets one for a partition it does
// not lead answers 421 / 42101.
inline constexpr std::string_view kForwardedHeader = "X-Sluice-Forwarded";
// On a forwarded request: the Host the client sent, for the links of the answer.
inline constexpr std::string_view kForwardedHostHeader = "X-Sluice-Forwarded-Host";
// On every answer about a partition in cluster mode: "<leader id> <leader url>".
inline constexpr std::string_view kLeaderHeader = "X-Sluice-Leader";
// The cluster's shared secret (cluster.auth.token), carried by every request one broker sends
// another: replica fetches and forwarded requests.
// kClusterTokenHeader (net/http/auth.h) carries cluster.auth.token.
// On a forwarded request: the principal the forwarding broker authenticated, and the client's
// address, so that the broker serving it authorizes as the first one would (trusted only with
// a cluster token). A forwarded request without them comes from the broker itself.
inline constexpr std::string_view kPrincipalHeader = "X-Sluice-Principal";
inline constexpr std::string_view kClientAddressHeader = "X-Sluice-Client-Address";

// Whether `call` carries this cluster's token; always true when none is configured. The
// comparison takes the same time wherever the first difference is.
bool has_cluster_token(const Call& call);
// 401 / 40101 for a request between brokers without the cluster's token.
Reply missing_cluster_token();

// For a route that names a partition (Route::partition_param), or a consumer group
// (Route::group_param: its coordinator, the leader of the group's partition of the offsets
// topic): nullopt when this broker serves it (standalone, or the leader), else the answer: the
// leader's own, forwarded to it (cluster.request.routing=forward), a 307 to it (redirect), 421 /
// 42101 for a forwarded request that reached a non-leader, or 503 / 50302 with Retry-After when the
// partition has had no leader for cluster.leader.wait.ms.
asio::awaitable<std::optional<Reply>> route_to_leader(const Route& route, Call& call);

// Sends `request` to broker `leader_id` at `leader_url`, marked as forwarded by this broker,
// and returns its answer: 503 / 50302 when nothing could be sent, 503 / 50304 for a POST sent
// without an answer (the records may still appear).
asio::awaitable<Reply> send_to_broker(const Call& call, int32_t leader_id,
                                      const std::string& leader_url, Request request);

// Consumer instances read the partitions other brokers lead through those leaders
// (docs/CLUSTER.md, "Consumer instances in a cluster").
struct RemoteLeader {
  broker::TopicPartition tp;
  int32_t id = -1;  // -1: the partition has no leader right now
  std::string url;
};
// Of `partitions`, those that another broker leads or that have no leader (cluster mode; none
// standalone, and none of a topic the cluster does not define).
std::vector<RemoteLeader> led_elsewhere(const Call& call,
                                        std::span<const broker::TopicPartition> partitions);
// The leader's log start and high watermark of each, or 503 / 50302 naming the first partition
// whose leader is missing or did not answer.
asio::awaitable<ApiResult<broker::ConsumerGroups::RemoteBounds>> leader_bounds(
    const Call& call, std::span<const RemoteLeader> leaders);
// The leader's first offset at or after `timestamp_ms` (its high watermark when there is none),
// as GET .../offsets?timestamp= answers it.
asio::awaitable<ApiResult<Offset>> leader_offset_for_time(const Call& call,
                                                          const RemoteLeader& leader,
                                                          int64_t timestamp_ms);
// Raw batches of `leader.tp` from `offset` up to the leader's high watermark, at most
// `max_bytes` (at least one batch), long-polling up to `wait_ms` there when there are none:
// the bytes as the leader sent them (render_batches validates them). 416 / 41601 when the
// offset is outside the leader's log, 503 / 50302 when the leader is missing or did not answer.
asio::awaitable<ApiResult<std::string>> leader_batches(const Call& call, const RemoteLeader& leader,
                                                       Offset offset, uint64_t max_bytes,
                                                       int64_t wait_ms);

}  // namespace sluice::net
