// Stateless fetch by offset with long-poll, and offset lookups (by position or by time).
#include <fmt/format.h>

#include <chrono>

#include "broker/errors.h"
#include "common/base64.h"
#include "common/json_writer.h"
#include "net/rest/handler_util.h"
#include "net/rest/leader_routing.h"
#include "net/rest/record_render.h"
#include "net/rest/router.h"

namespace sluice::net {
namespace {

constexpr int64_t kDefaultMaxBytes = 1 << 20;
constexpr int64_t kMaxMaxBytes = 64 << 20;
constexpr int64_t kMaxTimeoutMs = 300000;

// The format a records reply is rendered in, from the Accept header; nullopt: 406.
std::optional<RecordFormat> accepted_format(std::string_view accept) {
  if (accept.empty()) return RecordFormat::binary;
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    const auto type = media_type(accept.substr(0, comma));
    if (type == kJsonV2) return RecordFormat::json;
    if (type == kBinaryV2 || type == "*/*" || type == "application/*" || type == kKafkaV2) {
      return RecordFormat::binary;
    }
    if (type == kRawBatch) return RecordFormat::raw;
    if (comma == std::string_view::npos) break;
    accept.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

ApiError out_of_range(const broker::PartitionLog& log, int64_t offset) {
  return {
      http::status::range_not_satisfiable, 41601,
      fmt::format("Offset {} is out of range for {}-{}: valid offsets are [{}, {}]", offset,
                  log.topic(), log.partition(), log.start_offset().value, log.end_offset().value)};
}

// Whether a fetch at `offset` can be answered now: records exist before `upto` (the high
// watermark for consumers, the log end for followers) and, when min_bytes asks for more than
// one batch's worth, enough bytes.
bool fetch_ready(const broker::PartitionLog& log, Offset offset, int64_t min_bytes,
                 bool committed) {
  const Offset upto = committed ? log.high_watermark() : log.end_offset();
  if (upto <= offset) return false;
  if (min_bytes <= 1) return true;
  auto slice = log.read(offset, static_cast<uint64_t>(min_bytes), upto);
  return slice && slice->length >= static_cast<uint64_t>(min_bytes);
}

// Waits until fetch_ready or the deadline; woken by appends and high-watermark moves, never
// polling.
asio::awaitable<void> long_poll(ApiContext& ctx, const broker::PartitionLog& log, Offset offset,
                                int64_t min_bytes, std::chrono::steady_clock::time_point deadline,
                                bool committed = true) {
  auto executor = co_await asio::this_coro::executor;
  while (!ctx.waiters.shutting_down() && !fetch_ready(log, offset, min_bytes, committed) &&
         std::chrono::steady_clock::now() < deadline) {
    auto waiter = ctx.waiters.add(&log, executor);
    // Re-check after registering: an append or a shutdown in between would otherwise be missed.
    if (!ctx.waiters.shutting_down() && !fetch_ready(log, offset, min_bytes, committed)) {
      waiter->timer.expires_at(deadline);
      co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    ctx.waiters.remove(&log, waiter);
  }
}

asio::awaitable<Reply> fetch_records(Call& call) {
  auto ref = find_partition(call, call.params[0], call.params[1]);
  if (!ref) co_return error_reply(ref.error());
  auto& log = **ref;
  const auto format = accepted_format(call.header(http::field::accept));
  if (!format) {
    co_return error_reply(
        {http::status::not_acceptable, 406,
         fmt::format("HTTP 406 Not Acceptable: use {}, {} or {}", kJsonV2, kBinaryV2, kRawBatch)});
  }
  const auto offset = int_query(call, "offset", std::nullopt, INT64_MIN, INT64_MAX);
  if (!offset) co_return error_reply(offset.error());
  const auto timeout = int_query(call, "timeout", call.broker->config().consumer_request_timeout_ms,
                                 0, kMaxTimeoutMs);
  if (!timeout) co_return error_reply(timeout.error());
  const auto max_bytes = int_query(call, "max_bytes", kDefaultMaxBytes, 1, kMaxMaxBytes);
  if (!max_bytes) co_return error_reply(max_bytes.error());
  const auto min_bytes = int_query(call, "min_bytes", 1, 0, kMaxMaxBytes);
  if (!min_bytes) co_return error_reply(min_bytes.error());
  const Offset start{*offset};
  if (start < log.start_offset() || start > log.end_offset()) {
    co_return error_reply(out_of_range(log, start.value));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(*timeout);
  co_await long_poll(call.ctx, log, start, *min_bytes, deadline);
  const Offset high_watermark = log.high_watermark();
  auto slice = log.read(start, static_cast<uint64_t>(*max_bytes), high_watermark);
  if (!slice) {
    // Retention may have moved the start while we waited.
    if (slice.error() == broker::Errc::offset_out_of_range)
      co_return error_reply(out_of_range(log, start.value));
    co_return error_reply(
        to_api_error(slice.error(), fmt::format("{}-{}", log.topic(), log.partition())));
  }
  Offset next = slice->empty() ? start : slice->next_offset;
  Reply reply;
  if (*format == RecordFormat::raw) {
    reply = json_reply(http::status::ok, {}, kRawBatch);
    if (!slice->empty())
      reply.file_body = FileBody{slice->segment, slice->fd(), slice->position.value, slice->length};
  } else {
    std::string body;
    // Rendering may stop early, before a record that is not JSON: next says where.
    auto rendered = render_records(*slice, start, log.topic(), log.partition(), *format, body);
    if (!rendered) co_return error_reply(rendered.error());
    next = *rendered;
    reply = json_reply(http::status::ok, std::move(body),
                       *format == RecordFormat::json ? kJsonV2 : kBinaryV2);
  }
  reply.message.set("X-Sluice-Next-Offset", std::to_string(next.value));
  reply.message.set("X-Sluice-High-Watermark", std::to_string(high_watermark.value));
  reply.message.set("X-Sluice-Log-Start-Offset", std::to_string(log.start_offset().value));
  co_return reply;
}

// GET /v1/replica/topics/{t}/partitions/{p}: a follower's fetch of raw batches from the leader
// (docs/CLUSTER.md, "Follower fetch"), checked in this order: a leader epoch older than the
// partition's is fenced (409 / 40905); a newer one, or a broker that does not lead it, is
// misdirected (421 / 42101); a follower whose last epoch is unknown here or ends before its
// fetch offset has diverged (409 / 40904 with diverging_epoch and its end_offset); an offset below
// the log start is 416 / 41601. The answer runs to the log end, long-polling when there is
// nothing yet, with the leader's epoch, log start and end in headers.
asio::awaitable<Reply> replica_fetch(Call& call) {
  auto* node = call.ctx.cluster.load(std::memory_order_acquire);
  if (node == nullptr) {
    co_return error_reply(
        {http::status::not_found, 40401, "Replica fetches are for brokers of a cluster"});
  }
  if (!has_cluster_token(call)) co_return missing_cluster_token();
  auto ref = find_partition(call, call.params[0], call.params[1]);
  if (!ref) co_return error_reply(ref.error());
  auto& log = **ref;
  const auto offset = int_query(call, "offset", std::nullopt, 0, INT64_MAX);
  if (!offset) co_return error_reply(offset.error());
  const auto epoch = int_query(call, "leader_epoch", std::nullopt, 0, INT32_MAX);
  if (!epoch) co_return error_reply(epoch.error());
  const auto last_epoch = int_query(call, "last_epoch", -1, -1, INT32_MAX);
  if (!last_epoch) co_return error_reply(last_epoch.error());
  const auto max_wait = int_query(call, "max_wait_ms", 500, 0, 30000);
  if (!max_wait) co_return error_reply(max_wait.error());
  const auto max_bytes = int_query(call, "max_bytes", kDefaultMaxBytes, 1, kMaxMaxBytes);
  if (!max_bytes) co_return error_reply(max_bytes.error());
  const auto replica = int_query(call, "replica", -1, -1, INT32_MAX);
  if (!replica) co_return error_reply(replica.error());
  const auto broker_epoch = int_query(call, "broker_epoch", 0, 0, INT64_MAX);
  if (!broker_epoch) co_return error_reply(broker_epoch.error());
  const auto flushed = int_query(call, "flushed", 0, 0, INT64_MAX);
  if (!flushed) co_return error_reply(flushed.error());
  const std::string name = fmt::format("{}-{}", log.topic(), log.partition());
  const int32_t self = call.broker->config().broker_id;
  const auto view = node->view();
  const auto* state = view->partition(log.topic(), log.partition());
  const int32_t current = state ? state->leader_epoch : -1;
  if (*epoch < current) {
    co_return error_reply(
        {http::status::conflict, 40905,
         fmt::format("Fenced: leader epoch {} of {} is older than its current epoch {}", *epoch,
                     name, current)});
  }
  if (state == nullptr || *epoch > current || state->leader != self) {
    co_return error_reply(
        {http::status::misdirected_request, 42101,
         fmt::format("Broker {} does not lead {} at epoch {}", self, name, *epoch)});
  }
  if (*last_epoch >= 0) {
    const int64_t leader_end = log.end_offset().value;
    const auto end = log.epochs().end_offset_for(static_cast<int32_t>(*last_epoch), leader_end);
    if (!end || end->first != *last_epoch || end->second < *offset) {
      // The follower cuts at this end offset, or earlier where its own history left the
      // diverging epoch (LeaderEpochs::divergence_point): it may hold later epochs than this
      // log knows, written below this end.
      const int32_t diverging = end ? end->first : -1;
      const int64_t cut = end ? end->second : leader_end;
      std::string body;
      JsonWriter w(body);
      w.begin_object().key("error_code").value(int64_t{40904});
      w.key("message").value(
          fmt::format("The log diverged from {}'s leader: epoch {} ends at offset {} here", name,
                      *last_epoch, cut));
      w.key("diverging_epoch").value(diverging).key("end_offset").value(cut).end_object();
      co_return json_reply(http::status::conflict, std::move(body));
    }
  }
  const Offset start{*offset};
  if (start < log.start_offset() || start > log.end_offset()) {
    Reply reply = error_reply(out_of_range(log, start.value));
    reply.message.set("X-Sluice-Log-Start-Offset", std::to_string(log.start_offset().value));
    co_return reply;
  }
  // The fetch is the follower's acknowledgement: it holds everything before `offset`, and has
  // made everything before `flushed` durable.
  if (auto* replicas = call.ctx.replicas.load(std::memory_order_acquire);
      replicas && *replica >= 0) {
    replicas->follower_fetched(log, {static_cast<int32_t>(*replica), *broker_epoch,
                                     static_cast<int32_t>(*epoch), start, Offset{*flushed}});
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(*max_wait);
  co_await long_poll(call.ctx, log, start, 1, deadline, false);
  auto slice = log.read(start, static_cast<uint64_t>(*max_bytes));
  if (!slice) {
    if (slice.error() == broker::Errc::offset_out_of_range)
      co_return error_reply(out_of_range(log, start.value));
    co_return error_reply(to_api_error(slice.error(), name));
  }
  Reply reply = json_reply(http::status::ok, {}, kRawBatch);
  if (!slice->empty()) {
    reply.file_body = FileBody{slice->segment, slice->fd(), slice->position.value, slice->length};
    // The follower rolls where this segment begins, so that sealed segments are the same
    // files on every replica.
    reply.message.set("X-Sluice-Segment-Base", std::to_string(slice->segment->base_offset().value));
  }
  reply.message.set("X-Sluice-Next-Offset",
                    std::to_string(slice->empty() ? start.value : slice->next_offset.value));
  reply.message.set("X-Sluice-High-Watermark", std::to_string(log.high_watermark().value));
  reply.message.set("X-Sluice-Log-Start-Offset", std::to_string(log.start_offset().value));
  reply.message.set("X-Sluice-Leader-Epoch", std::to_string(current));
  co_return reply;
}

// GET /v1/replica/topics/{t}/partitions/{p}/segments/{base}?position=P: a sealed segment's
// bytes from P to its end, for a replica that repairs its copy of that segment (docs/CLUSTER.md,
// "Repair from a replica"). Any replica answers, leading or not; only brokers may ask (the
// cluster token). 404 / 40410 when no sealed segment starts at `base` here; 416 / 41602 for a
// position past its end. X-Sluice-Segment-Size and X-Sluice-Segment-Next-Offset say what the
// whole segment holds.
asio::awaitable<Reply> replica_segment(Call& call) {
  if (call.ctx.cluster.load(std::memory_order_acquire) == nullptr) {
    co_return error_reply(
        {http::status::not_found, 40401, "Replica segments are for brokers of a cluster"});
  }
  if (!has_cluster_token(call)) co_return missing_cluster_token();
  auto ref = find_partition(call, call.params[0], call.params[1]);
  if (!ref) co_return error_reply(ref.error());
  auto& log = **ref;
  const std::string name = fmt::format("{}-{}", log.topic(), log.partition());
  const auto& text = call.params[2];
  const auto base = parse_int(text, 0, INT64_MAX);
  auto segment = base ? log.sealed_segment(Offset{*base}) : nullptr;
  if (!segment) {
    co_return error_reply({http::status::not_found, 40410,
                           fmt::format("No sealed segment of {} starts at offset '{}' here", name,
                                       std::string_view(text).substr(0, 32))});
  }
  const uint64_t size = segment->size_bytes();
  const auto position = int_query(call, "position", 0, 0, INT64_MAX);
  if (!position) co_return error_reply(position.error());
  if (static_cast<uint64_t>(*position) > size) {
    co_return error_reply({http::status::range_not_satisfiable, 41602,
                           fmt::format("Position {} lies past the end of segment {} of {} ({})",
                                       *position, *base, name, size)});
  }
  Reply reply = json_reply(http::status::ok, {}, kRawBatch);
  const auto from = static_cast<uint64_t>(*position);
  if (from < size) reply.file_body = FileBody{segment, segment->fd(), from, size - from};
  reply.message.set("X-Sluice-Segment-Size", std::to_string(size));
  reply.message.set("X-Sluice-Segment-Next-Offset", std::to_string(segment->next_offset().value));
  co_return reply;
}

asio::awaitable<Reply> partition_offsets(Call& call) {
  auto ref = find_partition(call, call.params[0], call.params[1]);
  if (!ref) co_return error_reply(ref.error());
  auto& log = **ref;
  std::string body;
  JsonWriter w(body);
  if (!call.query_param("timestamp")) {
    w.begin_object().key("beginning_offset").value(log.start_offset().value);
    w.key("end_offset").value(log.high_watermark().value).end_object();
    co_return json_reply(http::status::ok, std::move(body), kKafkaV2);
  }
  const auto ts = int_query(call, "timestamp", std::nullopt, -2, INT64_MAX);
  if (!ts) co_return error_reply(ts.error());
  Offset found = log.high_watermark();
  if (*ts == -2) {
    found = log.start_offset();
  } else if (*ts >= 0) {
    auto r = log.offset_for_timestamp(*ts);
    if (!r)
      co_return error_reply(
          to_api_error(r.error(), fmt::format("{}-{}", log.topic(), log.partition())));
    // None that new (or none consumers may see yet): the high watermark, where the next
    // record will become visible.
    if (*r && **r < found) found = **r;
  }
  w.begin_object().key("offset").value(found.value).key("timestamp").value(*ts).end_object();
  co_return json_reply(http::status::ok, std::move(body), kKafkaV2);
}

}  // namespace

void add_fetch_routes(std::vector<Route>& routes) {
  routes.push_back(
      partition_route(http::verb::get, "/topics/{}/partitions/{}/records", fetch_records));
  routes.push_back(
      partition_route(http::verb::get, "/topics/{}/partitions/{}/offsets", partition_offsets));
  routes.push_back({.method = http::verb::get,
                    .pattern = "/v1/replica/topics/{}/partitions/{}",
                    .handler = replica_fetch,
                    .api = Api::ops,
                    .topic_param = 0});
  routes.push_back({.method = http::verb::get,
                    .pattern = "/v1/replica/topics/{}/partitions/{}/segments/{}",
                    .handler = replica_segment,
                    .api = Api::ops,
                    .topic_param = 0});
}

}  // namespace sluice::net
