// The Kafka REST Proxy v2 consumer API: instances of consumer groups that subscribe or are
// assigned partitions, fetch records (long-polling across their partitions), seek, commit and
// read committed offsets. Group coordination lives in broker::ConsumerGroups; this file only
// translates HTTP; net/rest/consumer_body.h parses the request bodies.
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "broker/consumer_groups.h"
#include "broker/errors.h"
#include "broker/offsets_store.h"
#include "common/json_writer.h"
#include "net/rest/consumer_body.h"
#include "net/rest/durable.h"
#include "net/rest/handler_util.h"
#include "net/rest/leader_routing.h"
#include "net/rest/record_render.h"
#include "net/rest/router.h"

namespace sluice::net {
namespace {

using consumer_body::as_string;
using consumer_body::field;
using consumer_body::kMaxFetchBytes;
using consumer_body::kMaxTimeoutMs;
using consumer_body::OffsetEntry;
using consumer_body::parse_body;
using consumer_body::parse_instance_config;
using consumer_body::parse_offsets;
using consumer_body::parse_partitions;
using consumer_body::parse_timestamps;
using consumer_body::unprocessable;
namespace dom = simdjson::dom;
using broker::ConsumerErrc;
using broker::ConsumerGroups;
using broker::TopicPartition;

constexpr int64_t kDefaultMaxBytes = 1 << 20;

Reply no_content() {
  Reply reply;
  reply.message.result(http::status::no_content);
  return reply;
}

Reply ok_json(std::string body) { return json_reply(http::status::ok, std::move(body), kKafkaV2); }

// Cluster mode: the group's coordinator (the router sent the call here) appends each change of
// an instance and each commit to the group's partition of the offsets topic, as acks=all.
// Before the change, too few in-sync replicas refuse it (503 / 50303) with nothing appended.
// The partition's log, to acknowledge the change on; null when standalone, where instance
// changes are not written.
ApiResult<std::shared_ptr<broker::PartitionLog>> admit_group_change(const Call& call,
                                                                    std::string_view group) {
  auto* replicas = call.ctx.replicas.load(std::memory_order_acquire);
  if (replicas == nullptr || call.ctx.cluster.load(std::memory_order_acquire) == nullptr) {
    return std::shared_ptr<broker::PartitionLog>();
  }
  const int32_t partition = broker::offsets_partition_for(group);
  auto log = call.broker->topics().partition(broker::kOffsetsTopic, partition);
  if (!log) return std::shared_ptr<broker::PartitionLog>();  // the change reports it
  if (auto ec = replicas->admit(**log)) {
    ApiError e = to_api_error(ec, fmt::format("{}-{}", broker::kOffsetsTopic, partition));
    if (ec == broker::Errc::not_enough_replicas) {
      e.message = "Not enough in-sync replicas for " + replicas->describe_isr(**log);
    }
    return e;
  }
  return std::move(*log);
}

// acks=all for what a change appended to `log` (nothing for null): durable here, then, in
// cluster mode, confirmed by the partition's in-sync replicas.
asio::awaitable<ApiResult<void>> acknowledge_group_change(
    const Call& call, const std::shared_ptr<broker::PartitionLog>& log) {
  if (!log) co_return ApiResult<void>{};
  const Offset end = log->end_offset();
  const auto name = fmt::format("{}-{}", broker::kOffsetsTopic, log->partition());
  auto& committer = call.broker->committer();
  auto flush = [&](auto done) { committer.request(*log, done); };
  if (auto ec = co_await await_completion<std::error_code>(flush)) {
    co_return to_api_error(ec, broker::kOffsetsTopic);
  }
  auto* replicas = call.ctx.replicas.load(std::memory_order_acquire);
  if (replicas == nullptr || call.ctx.cluster.load(std::memory_order_acquire) == nullptr) {
    co_return ApiResult<void>{};
  }
  auto confirm = [&](auto done) { replicas->confirm(*log, end, done); };
  if (auto ec = co_await await_completion<std::error_code>(confirm)) {
    ApiError e = to_api_error(ec, name);
    if (ec == broker::Errc::not_confirmed) {
      e.message =
          fmt::format("Replication of {} not confirmed; the change may still take effect", name);
    }
    co_return e;
  }
  co_return ApiResult<void>{};
}

// Runs `change` (a change of the group's instances or commits, returning a result) as
// admit_group_change and acknowledge_group_change describe: 204, or the error.
template <typename Change>
asio::awaitable<Reply> group_change(const Call& call, Change change) {
  auto log = admit_group_change(call, call.params[0]);
  if (!log) co_return error_reply(log.error());
  if (auto r = change(); !r) co_return error_reply(to_api_error(r.error()));
  if (auto acked = co_await acknowledge_group_change(call, *log); !acked) {
    co_return error_reply(acked.error());
  }
  co_return no_content();
}

std::string generated_instance_name() {
  std::random_device rd;
  return fmt::format("rest-consumer-{:08x}{:08x}", rd(), rd());
}

asio::awaitable<Reply> create_instance(Call& call) {
  thread_local dom::parser parser;
  auto parsed = parse_body(call, parser);
  if (!parsed) co_return error_reply(parsed.error());
  const auto& body = *parsed;
  broker::InstanceConfig config;
  if (auto r = parse_instance_config(body, config); !r) co_return error_reply(r.error());
  if (config.name.empty()) config.name = generated_instance_name();
  const std::string& group = call.params[0];
  if (group.size() > broker::kMaxGroupNameLength) {
    co_return error_reply(
        {http::status::bad_request, 40003,
         fmt::format("Consumer group names are at most {} bytes", broker::kMaxGroupNameLength)});
  }
  auto& groups = call.broker->groups();
  if (!groups.has_offsets_topic()) {
    // The first instance creates the offsets topic, whose directories are synced.
    auto ensure = [&groups] { return groups.ensure_offsets_topic(); };
    if (auto r = co_await on_worker(call.broker->worker(), ensure); !r) {
      co_return error_reply(to_api_error(r.error(), broker::kOffsetsTopic));
    }
  }
  auto log = admit_group_change(call, group);
  if (!log) co_return error_reply(log.error());
  if (auto r = groups.create(group, config); !r) {
    co_return error_reply(to_api_error(r.error()));
  }
  if (auto acked = co_await acknowledge_group_change(call, *log); !acked) {
    co_return error_reply(acked.error());
  }
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("instance_id").value(config.name);
  w.key("base_uri")
      .value(fmt::format("{}/consumers/{}/instances/{}", call.base_url(),
                         encode_path_segment(group), encode_path_segment(config.name)));
  w.end_object();
  co_return ok_json(std::move(out));
}

asio::awaitable<Reply> delete_instance(Call& call) {
  return group_change(
      call, [&call] { return call.broker->groups().remove(call.params[0], call.params[1]); });
}

// READ on each topic a consumer subscribes to, is assigned, fetches or commits (Kafka's
// check besides READ on the group, which the route makes).
ApiResult<void> authorize_reads(const Call& call, const std::vector<std::string>& topics) {
  for (const auto& t : topics) {
    if (auto may = authorize(call, broker::AclOperation::read, broker::AclResourceType::topic, t);
        !may) {
      return may;
    }
  }
  return {};
}
ApiResult<void> authorize_reads(const Call& call, const std::vector<TopicPartition>& partitions) {
  for (const auto& tp : partitions) {
    if (auto may =
            authorize(call, broker::AclOperation::read, broker::AclResourceType::topic, tp.topic);
        !may) {
      return may;
    }
  }
  return {};
}

asio::awaitable<Reply> subscribe(Call& call) {
  thread_local dom::parser parser;
  auto parsed = parse_body(call, parser);
  if (!parsed) co_return error_reply(parsed.error());
  const auto& body = *parsed;
  std::vector<std::string> topics;
  std::string pattern;
  if (body) {
    auto list = field(*body, "topics");
    auto regex = field(*body, "topic_pattern");
    if (list && regex) {
      co_return error_reply(to_api_error(ConsumerErrc::illegal_state));
    }
    if (list) {
      dom::array array;
      if (list->get_array().get(array)) {
        co_return error_reply(unprocessable(42203, "'topics' must be an array of topic names"));
      }
      for (dom::element t : array) {
        auto name = as_string(t);
        if (!name) {
          co_return error_reply(unprocessable(42203, "'topics' must be an array of topic names"));
        }
        if (auto valid = check_topic_name(*name); !valid) co_return error_reply(valid.error());
        topics.push_back(std::move(*name));
      }
    } else if (regex) {
      auto s = as_string(*regex);
      if (!s || s->empty()) {
        co_return error_reply(unprocessable(42203, "'topic_pattern' must be a non-empty string"));
      }
      pattern = std::move(*s);
    }
  }
  if (topics.empty() && pattern.empty()) {
    co_return error_reply(
        unprocessable(42203, "Give 'topics' (a non-empty array) or 'topic_pattern'"));
  }
  if (auto may = authorize_reads(call, topics); !may) co_return error_reply(may.error());
  co_return co_await group_change(call, [&] {
    return call.broker->groups().subscribe(call.params[0], call.params[1], std::move(topics),
                                           std::move(pattern));
  });
}

asio::awaitable<Reply> get_subscription(Call& call) {
  auto topics = call.broker->groups().subscription(call.params[0], call.params[1]);
  if (!topics) co_return error_reply(to_api_error(topics.error()));
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("topics").begin_array();
  for (const auto& t : *topics) w.value(t);
  w.end_array().end_object();
  co_return ok_json(std::move(out));
}

asio::awaitable<Reply> unsubscribe(Call& call) {
  return group_change(
      call, [&call] { return call.broker->groups().unsubscribe(call.params[0], call.params[1]); });
}

std::string render_partitions(std::string_view key, const std::vector<TopicPartition>& parts) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key(key).begin_array();
  for (const auto& tp : parts) {
    w.begin_object().key("topic").value(tp.topic).key("partition").value(tp.partition).end_object();
  }
  w.end_array().end_object();
  return out;
}

// The 'partitions' array that the body must give (assign, seek to the beginning or the end).
ApiResult<std::vector<TopicPartition>> required_partitions(Call& call) {
  thread_local dom::parser parser;
  auto parsed = parse_body(call, parser);
  if (!parsed) return parsed.error();
  if (!*parsed) return unprocessable(42203, "Give 'partitions'");
  std::vector<TopicPartition> partitions;
  if (auto r = parse_partitions(**parsed, "partitions", partitions); !r) return r.error();
  return partitions;
}

asio::awaitable<Reply> assign(Call& call) {
  auto partitions = required_partitions(call);
  if (!partitions) co_return error_reply(partitions.error());
  if (auto may = authorize_reads(call, *partitions); !may) co_return error_reply(may.error());
  co_return co_await group_change(call, [&] {
    return call.broker->groups().assign(call.params[0], call.params[1], std::move(*partitions));
  });
}

asio::awaitable<Reply> get_assignment(Call& call) {
  auto parts = call.broker->groups().assignment(call.params[0], call.params[1]);
  if (!parts) co_return error_reply(to_api_error(parts.error()));
  co_return ok_json(render_partitions("partitions", *parts));
}

// Whether the Accept header allows the instance's format (absent or a wildcard does).
bool accepts(std::string_view accept, RecordFormat format) {
  if (accept.empty()) return true;
  const auto wanted = format == RecordFormat::json ? kJsonV2 : kBinaryV2;
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    const auto type = media_type(accept.substr(0, comma));
    if (type == wanted || type == "*/*" || type == "application/*") return true;
    if (comma == std::string_view::npos) break;
    accept.remove_prefix(comma + 1);
  }
  return false;
}

// Whether a fetch can answer now: some partition has records past its position (and, for
// fetch.min.bytes > 1, that many bytes in all).
bool records_ready(const std::vector<ConsumerGroups::FetchTarget>& targets, int64_t min_bytes) {
  uint64_t bytes = 0;
  for (const auto& t : targets) {
    const Offset upto = t.log->high_watermark();
    if (upto <= t.position) continue;
    if (min_bytes <= 1) return true;
    auto slice = t.log->read(t.position, static_cast<uint64_t>(min_bytes) - bytes, upto);
    if (slice) bytes += slice->length;
    if (bytes >= static_cast<uint64_t>(min_bytes)) return true;
  }
  return false;
}

// Waits until records_ready or the deadline; one waiter registered on every partition, so an
// append to any of them wakes it. Without partitions it just waits out the deadline.
asio::awaitable<void> wait_for_records(ApiContext& ctx,
                                       const std::vector<ConsumerGroups::FetchTarget>& targets,
                                       int64_t min_bytes,
                                       std::chrono::steady_clock::time_point deadline) {
  auto executor = co_await asio::this_coro::executor;
  while (!records_ready(targets, min_bytes) && std::chrono::steady_clock::now() < deadline) {
    auto waiter = std::make_shared<FetchWaiters::Waiter>(executor);
    for (const auto& t : targets) ctx.waiters.add(t.log.get(), waiter);
    // Re-check after registering: an append in between would otherwise be missed.
    if (!records_ready(targets, min_bytes)) {
      waiter->timer.expires_at(deadline);
      co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    for (const auto& t : targets) ctx.waiters.remove(t.log.get(), waiter);
  }
}

asio::awaitable<Reply> records(Call& call) {
  auto& groups = call.broker->groups();
  // Cluster mode: the partitions other brokers lead are read through their leaders, and their
  // positions are checked against those leaders' offsets.
  std::vector<RemoteLeader> remote;
  ConsumerGroups::RemoteBounds bounds;
  if (auto assigned = groups.assignment(call.params[0], call.params[1])) {
    if (auto may = authorize_reads(call, *assigned); !may) co_return error_reply(may.error());
    remote = led_elsewhere(call, *assigned);
    if (!remote.empty()) {
      auto found = co_await leader_bounds(call, remote);
      if (!found) co_return error_reply(found.error());
      bounds = std::move(*found);
    }
  }
  auto plan = groups.begin_fetch(call.params[0], call.params[1], bounds);
  if (!plan) co_return error_reply(to_api_error(plan.error()));
  const auto format = plan->config.format == broker::ConsumerFormat::json ? RecordFormat::json
                                                                          : RecordFormat::binary;
  if (!accepts(call.header(http::field::accept), format)) {
    co_return error_reply(
        {http::status::not_acceptable, 40601,
         fmt::format("The requested embedded data format does not match the deserializer for "
                     "this consumer instance: use {}",
                     format == RecordFormat::json ? kJsonV2 : kBinaryV2)});
  }
  const std::string_view media = format == RecordFormat::json ? kJsonV2 : kBinaryV2;
  // From here on errors carry the instance's embedded format, as REST Proxy labels them.
  const auto fail = [media](const ApiError& e) {
    Reply reply = error_reply(e);
    reply.message.set(http::field::content_type, media);
    return reply;
  };
  const auto timeout = int_query(
      call, "timeout",
      plan->config.request_timeout_ms.value_or(call.broker->config().consumer_request_timeout_ms),
      0, kMaxTimeoutMs);
  if (!timeout) co_return fail(timeout.error());
  const auto max_bytes = int_query(call, "max_bytes", kDefaultMaxBytes, 1, kMaxFetchBytes);
  if (!max_bytes) co_return fail(max_bytes.error());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(*timeout);

  std::vector<ConsumerGroups::FetchTarget> local;
  size_t remote_targets = 0;
  for (const auto& t : plan->targets) {
    if (t.remote) {
      ++remote_targets;
    } else {
      local.push_back(t);
    }
  }
  auto leader_of = [&](const broker::TopicPartition& tp) -> const RemoteLeader& {
    return *std::find_if(remote.begin(), remote.end(),
                         [&](const RemoteLeader& r) { return r.tp == tp; });
  };
  // Only the leader of the one partition assigned can be long-polled; with several, or local
  // partitions beside them, the wait is in steps of kRemoteWaitStep.
  constexpr auto kRemoteWaitStep = std::chrono::milliseconds(100);
  const bool one_remote_only = remote_targets == 1 && local.empty();

  const auto limit = static_cast<uint64_t>(*max_bytes);
  const size_t n = plan->targets.size();
  // Start at a different partition each time, so one busy partition cannot starve the others.
  const size_t first = n == 0 ? 0 : call.ctx.round_robin.fetch_add(1) % n;
  std::string body;
  std::string part;
  std::vector<ConsumerGroups::Advance> advances;
  std::optional<ApiError> not_json;
  std::optional<ApiError> remote_error;
  for (int pass = 0;; ++pass) {
    const auto now = std::chrono::steady_clock::now();
    if (remote_targets == 0) {
      co_await wait_for_records(call.ctx, local, plan->config.fetch_min_bytes, deadline);
    } else if (pass > 0 && !one_remote_only) {
      co_await wait_for_records(call.ctx, local, plan->config.fetch_min_bytes,
                                std::min(deadline, now + kRemoteWaitStep));
    }
    const int64_t remote_wait_ms =
        pass > 0 && one_remote_only
            ? std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                       deadline - std::chrono::steady_clock::now())
                                       .count())
            : 0;
    body = "[";
    advances.clear();
    not_json.reset();
    remote_error.reset();
    uint64_t used = 0;
    for (size_t i = 0; i < n && used < limit; ++i) {
      const auto& t = plan->targets[(first + i) % n];
      Offset next;
      part.clear();
      uint64_t read_bytes = 0;
      if (t.remote) {
        auto batches = co_await leader_batches(call, leader_of(t.tp), t.position, limit - used,
                                               remote_wait_ms);
        if (!batches) {
          // Retention on the leader moved its start past the position: the next fetch resets
          // it. Any other failure is answered when no partition has records.
          if (batches.error().error_code != 41601) remote_error = batches.error();
          continue;
        }
        if (batches->empty()) continue;
        auto rendered = render_batches(std::as_bytes(std::span(*batches)), t.position, t.tp.topic,
                                       t.tp.partition, format, part);
        if (!rendered) {
          if (rendered.error().error_code != kNotJson) {
            remote_error = ApiError{
                http::status::bad_gateway, 50201,
                fmt::format("Broker {}, the leader of {}-{}, sent what is not a record batch: {}",
                            leader_of(t.tp).id, t.tp.topic, t.tp.partition,
                            rendered.error().message)};
            continue;
          }
          not_json = rendered.error();
          continue;
        }
        next = *rendered;
        read_bytes = batches->size();
      } else {
        const Offset upto = t.log->high_watermark();
        if (upto <= t.position) continue;
        auto slice = t.log->read(t.position, limit - used, upto);
        if (!slice) {
          // Retention moved the start past the position: the next fetch resets it.
          if (slice.error() == broker::Errc::offset_out_of_range) continue;
          co_return fail(
              to_api_error(slice.error(), fmt::format("{}-{}", t.tp.topic, t.tp.partition)));
        }
        // At least one batch per reply, but never past max_bytes after the first.
        if (slice->empty() || (used > 0 && slice->length > limit - used)) continue;
        auto rendered =
            render_records(*slice, t.position, t.tp.topic, t.tp.partition, format, part);
        if (!rendered) {
          if (rendered.error().error_code != kNotJson) co_return fail(rendered.error());
          // A record that is not JSON at this partition's position: answer the other
          // partitions' records if there are any, and this error only when there are none.
          not_json = rendered.error();
          continue;
        }
        next = *rendered;
        read_bytes = slice->length;
      }
      if (part.size() > 2) {
        if (body.size() > 1) body += ',';
        body.append(part, 1, part.size() - 2);
      }
      used += read_bytes;
      if (next > t.position) advances.push_back({t.tp, t.position, next});
    }
    body += ']';
    if (body.size() > 2 || remote_targets == 0 || (one_remote_only && pass > 0) ||
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
  }
  if (body.size() == 2 && not_json) co_return fail(*not_json);
  if (body.size() == 2 && remote_error) co_return fail(*remote_error);
  // A request forwarded by a broker that has died since (its connection closed) answers
  // nobody: the positions stay where they were, so that the client, which seeks back to what it
  // has, reads these records rather than never. (Only forwarded requests: a client that merely
  // half-closes its side after a request would otherwise never move on.)
  if (call.request[kForwardedHeader].empty() || !client_gone(call.context)) {
    groups.end_fetch(call.params[0], call.params[1], *plan, advances);
  }
  co_return json_reply(http::status::ok, std::move(body), media);
}

// Body: "offsets" [{topic, partition, offset}], "timestamps" [{topic, partition, timestamp}]
// or both, as REST Proxy takes them. A timestamp seeks to the first record at or after it, or
// to the end when there is none (Kafka's offsetsForTimes finds none: REST Proxy seeks to end).
asio::awaitable<Reply> seek(Call& call) {
  thread_local dom::parser parser;
  auto parsed = parse_body(call, parser);
  if (!parsed) co_return error_reply(parsed.error());
  const auto& body = *parsed;
  const bool by_offset = body && field(*body, "offsets");
  const bool by_time = body && field(*body, "timestamps");
  if (!by_offset && !by_time) {
    co_return error_reply(unprocessable(42203, "Give 'offsets' or 'timestamps'"));
  }
  std::vector<OffsetEntry> entries;
  if (by_offset) {
    if (auto r = parse_offsets(*body, "offsets", entries); !r) co_return error_reply(r.error());
  }
  std::vector<consumer_body::TimestampEntry> times;
  if (by_time) {
    if (auto r = parse_timestamps(*body, "timestamps", times); !r) co_return error_reply(r.error());
  }
  std::vector<std::pair<TopicPartition, int64_t>> offsets;
  for (auto& e : entries) offsets.emplace_back(std::move(e.tp), e.offset);
  for (auto& t : times) {
    // Another broker's partition: its leader finds the offset.
    if (auto remote = led_elsewhere(call, std::span(&t.tp, 1)); !remote.empty()) {
      auto found = co_await leader_offset_for_time(call, remote.front(), t.timestamp_ms);
      if (!found) co_return error_reply(found.error());
      offsets.emplace_back(std::move(t.tp), found->value);
      continue;
    }
    auto ref = find_partition(call, t.tp.topic, std::to_string(t.tp.partition));
    if (!ref) co_return error_reply(ref.error());
    auto found = (*ref)->offset_for_timestamp(t.timestamp_ms);
    if (!found) {
      co_return error_reply(
          to_api_error(found.error(), fmt::format("{}-{}", t.tp.topic, t.tp.partition)));
    }
    offsets.emplace_back(std::move(t.tp), found->value_or((*ref)->high_watermark()).value);
  }
  auto r = call.broker->groups().seek(call.params[0], call.params[1], offsets);
  if (!r) co_return error_reply(to_api_error(r.error()));
  co_return no_content();
}

asio::awaitable<Reply> seek_to_edge(Call& call, bool beginning) {
  auto partitions = required_partitions(call);
  if (!partitions) co_return error_reply(partitions.error());
  ConsumerGroups::RemoteBounds bounds;
  if (auto remote = led_elsewhere(call, *partitions); !remote.empty()) {
    auto found = co_await leader_bounds(call, remote);
    if (!found) co_return error_reply(found.error());
    bounds = std::move(*found);
  }
  auto r = call.broker->groups().seek_to_edge(call.params[0], call.params[1], *partitions,
                                              beginning, bounds);
  if (!r) co_return error_reply(to_api_error(r.error()));
  co_return no_content();
}

asio::awaitable<Reply> seek_beginning(Call& call) { return seek_to_edge(call, true); }
asio::awaitable<Reply> seek_end(Call& call) { return seek_to_edge(call, false); }

asio::awaitable<Reply> commit(Call& call) {
  thread_local dom::parser parser;
  auto parsed = parse_body(call, parser);
  if (!parsed) co_return error_reply(parsed.error());
  const auto& body = *parsed;
  std::vector<ConsumerGroups::Commit> commits;
  if (body) {
    const std::string_view key = field(*body, "offsets")      ? "offsets"
                                 : field(*body, "partitions") ? "partitions"
                                                              : "";
    std::vector<OffsetEntry> entries;
    if (!key.empty()) {
      if (auto r = parse_offsets(*body, key, entries); !r) co_return error_reply(r.error());
    }
    for (auto& e : entries) {
      // As REST Proxy: the offset sent is the last record consumed; the next one is stored.
      if (e.offset < -1 || e.offset == INT64_MAX) {
        co_return error_reply(
            unprocessable(42206, fmt::format("Offset {} for {}-{} is not a record offset", e.offset,
                                             e.tp.topic, e.tp.partition)));
      }
      commits.push_back({std::move(e.tp), e.offset + 1, std::move(e.metadata)});
    }
  }
  ConsumerGroups::RemoteBounds bounds;
  std::vector<TopicPartition> named;
  for (const auto& c : commits) named.push_back(c.tp);
  if (auto may = authorize_reads(call, named); !may) co_return error_reply(may.error());
  if (auto remote = led_elsewhere(call, named); !remote.empty()) {
    auto found = co_await leader_bounds(call, remote);
    if (!found) co_return error_reply(found.error());
    bounds = std::move(*found);
  }
  if (auto admitted = admit_group_change(call, call.params[0]); !admitted) {
    co_return error_reply(admitted.error());
  }
  auto log =
      call.broker->groups().commit(call.params[0], call.params[1], std::move(commits), bounds);
  // Refusals of the group come with their reason, a missing topic with its name and a failed
  // write (a full disk) with the offsets topic's.
  if (!log) co_return error_reply(to_api_error(log.error()));
  if (auto acked = co_await acknowledge_group_change(call, *log); !acked) {
    co_return error_reply(acked.error());
  }
  co_return ok_json({});
}

asio::awaitable<Reply> committed_offsets(Call& call) {
  thread_local dom::parser parser;
  auto parsed = parse_body(call, parser);
  if (!parsed) co_return error_reply(parsed.error());
  const auto& body = *parsed;
  std::vector<TopicPartition> partitions;
  if (body && field(*body, "partitions")) {
    if (auto r = parse_partitions(*body, "partitions", partitions); !r) {
      co_return error_reply(r.error());
    }
  }
  auto offsets = call.broker->groups().committed(call.params[0], call.params[1], partitions);
  if (!offsets) co_return error_reply(to_api_error(offsets.error()));
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("offsets").begin_array();
  for (const auto& [tp, c] : *offsets) {
    w.begin_object().key("topic").value(tp.topic).key("partition").value(tp.partition);
    w.key("offset").value(c.offset).key("metadata").value(c.metadata).end_object();
  }
  w.end_array().end_object();
  co_return ok_json(std::move(out));
}

// Every consumer route names its group first: in cluster mode the group's coordinator serves it.
constexpr Route group_route(http::verb method, std::string_view pattern, RouteHandler handler) {
  return {.method = method, .pattern = pattern, .handler = handler, .group_param = 0};
}

}  // namespace

void add_consumer_routes(std::vector<Route>& routes) {
  constexpr auto post = http::verb::post;
  constexpr auto get = http::verb::get;
  constexpr auto del = http::verb::delete_;
  routes.push_back(group_route(post, "/consumers/{}", create_instance));
  routes.push_back(group_route(del, "/consumers/{}/instances/{}", delete_instance));
  routes.push_back(group_route(post, "/consumers/{}/instances/{}/subscription", subscribe));
  routes.push_back(group_route(get, "/consumers/{}/instances/{}/subscription", get_subscription));
  routes.push_back(group_route(del, "/consumers/{}/instances/{}/subscription", unsubscribe));
  routes.push_back(group_route(post, "/consumers/{}/instances/{}/assignments", assign));
  routes.push_back(group_route(get, "/consumers/{}/instances/{}/assignments", get_assignment));
  routes.push_back(group_route(get, "/consumers/{}/instances/{}/records", records));
  routes.push_back(group_route(post, "/consumers/{}/instances/{}/positions", seek));
  routes.push_back(
      group_route(post, "/consumers/{}/instances/{}/positions/beginning", seek_beginning));
  routes.push_back(group_route(post, "/consumers/{}/instances/{}/positions/end", seek_end));
  routes.push_back(group_route(post, "/consumers/{}/instances/{}/offsets", commit));
  routes.push_back(group_route(get, "/consumers/{}/instances/{}/offsets", committed_offsets));
}

}  // namespace sluice::net
