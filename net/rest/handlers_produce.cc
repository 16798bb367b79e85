// Produce: REST Proxy v2 embedded JSON/binary, Sluice's raw batches, REST Proxy v3 records.
#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <ctime>
#include <map>

#include "broker/errors.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "net/rest/durable.h"
#include "net/rest/handler_util.h"
#include "net/rest/leader_routing.h"
#include "net/rest/produce_parser.h"
#include "net/rest/router.h"

namespace sluice::net {
namespace {

using broker::Acks;

// Whether an append error is one the client may retry as it is.
bool retriable(std::error_code ec) {
  return ec == std::errc::no_space_on_device || ec == broker::Errc::shutting_down;
}

struct RecordOutcome {
  int32_t partition = 0;
  int64_t offset = -1;
  int64_t timestamp_ms = -1;
  std::optional<std::string> error;  // set when the record was not stored
  bool retriable = false;
  // Cluster mode: 50302 (no leader: not stored), 50303 (too few in-sync replicas: not stored)
  // or 50304 (not confirmed: may appear), reported as the record's error_code; else 0.
  int64_t code = 0;
};

bool is_cluster_code(int64_t code) { return code == 50302 || code == 50303 || code == 50304; }

// The answer to an error of the broker's producer for `topic`-`partition`; too few in-sync
// replicas names the ISR and the minimum.
ApiError produce_error(const Call& call, std::error_code ec, std::string_view topic,
                       int32_t partition) {
  ApiError e = to_api_error(ec, fmt::format("{}-{}", topic, partition));
  if (ec == broker::Errc::not_enough_replicas) {
    if (auto* replicas = call.ctx.replicas.load(std::memory_order_acquire)) {
      if (auto log = call.broker->topics().partition(topic, partition)) {
        e.message = "Not enough in-sync replicas for " + replicas->describe_isr(**log);
      }
    }
  }
  return e;
}

// A record's outcome for an error of the broker's producer.
void fail_record(const Call& call, RecordOutcome& o, std::error_code ec, std::string_view topic) {
  ApiError e = produce_error(call, ec, topic, o.partition);
  o.error = std::move(e.message);
  o.retriable = retriable(ec) || is_cluster_code(e.error_code);
  if (is_cluster_code(e.error_code)) o.code = e.error_code;
}

// When every record failed with the same cluster code, the request fails with it (HTTP 503),
// as a single-partition request would; nullopt otherwise (200 with per-record errors).
std::optional<ApiError> whole_request_failure(const std::vector<RecordOutcome>& outcomes) {
  if (outcomes.empty() || outcomes.front().code == 0) return std::nullopt;
  for (const auto& o : outcomes) {
    if (o.code != outcomes.front().code) return std::nullopt;
  }
  return ApiError{http::status::service_unavailable, static_cast<int>(outcomes.front().code),
                  *outcomes.front().error};
}

// The acks query parameter, or the producer's default when absent.
ApiResult<Acks> parse_acks(const Call& call) {
  auto text = call.query_param("acks");
  if (!text) return call.broker->producer().default_acks();
  if (*text == "0") return Acks::none;
  if (*text == "1") return Acks::leader;
  if (*text == "all" || *text == "-1") return Acks::all;
  return ApiError{http::status::bad_request, 40003,
                  fmt::format("Query parameter 'acks' must be 0, 1 or all, got '{}'", *text)};
}

// Whether the client accepts a JSON reply.
bool accepts_json(std::string_view accept) {
  if (accept.empty()) return true;
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    const auto type = media_type(accept.substr(0, comma));
    if (type == "*/*" || type == "application/*" || type == "application/json" ||
        type == kKafkaV2 || type == "application/vnd.kafka+json" ||
        type == "application/vnd.kafka.v2+json") {
      return true;
    }
    if (comma == std::string_view::npos) break;
    accept.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view acks_text(Acks acks) {
  switch (acks) {
    case Acks::none:
      return "0";
    case Acks::leader:
      return "1";
    case Acks::all:
      return "all";
  }
  return "all";
}

// The outcomes of `indexes`, records sent to another broker as one raw batch, from its answer
// ({"partition", "batches":[{"base_offset","last_offset"}]} or an error).
void take_remote_answer(const Reply& reply, std::string_view topic, int32_t partition,
                        const ProduceRequest& request, const std::vector<size_t>& indexes,
                        int64_t now_ms, std::vector<RecordOutcome>& outcomes) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const auto& body = reply.message.body();
  const bool parsed = !parser.parse(body.data(), body.size()).get(doc);
  int64_t base = -1;
  if (reply.message.result_int() == 200 && parsed) {
    simdjson::dom::array batches;
    if (doc["batches"].get(batches) || batches.size() != 1 ||
        batches.at(0)["base_offset"].get(base)) {
      base = -1;
    }
  }
  std::string_view message;
  if (base < 0 && !(parsed && !doc["message"].get(message))) {
    message = "unreadable answer from the partition's leader";
  }
  int64_t code = 0;
  if (base < 0 && parsed && !doc["error_code"].get(code) && !is_cluster_code(code)) code = 0;
  for (size_t k = 0; k < indexes.size(); ++k) {
    auto& o = outcomes[indexes[k]];
    o.partition = partition;
    if (base >= 0) {
      o.offset = base + static_cast<int64_t>(k);
      const int64_t t = request.records[indexes[k]].input.timestamp_ms;
      o.timestamp_ms = t < 0 ? now_ms : t;
    } else {
      o.error =
          code != 0 ? std::string(message) : fmt::format("{}-{}: {}", topic, partition, message);
      o.retriable = reply.message.result_int() == 503;
      o.code = code;
    }
  }
}

// Cluster mode: a produce to a whole topic whose partitions other brokers lead. Each record's
// partition is chosen here as the producer would (its own, its key's hash, or round robin);
// this broker appends those it leads, and sends each other partition's records to its leader
// as one raw batch with the same acks.
asio::awaitable<ApiResult<std::vector<RecordOutcome>>> store_across_leaders(
    Call& call, std::string_view topic, const cluster::ClusterView& view, int32_t count,
    const ProduceRequest& request, Acks acks) {
  auto& producer = call.broker->producer();
  const int32_t self = call.broker->config().broker_id;
  std::map<int32_t, std::vector<size_t>> by_partition;
  for (size_t i = 0; i < request.records.size(); ++i) {
    const int32_t p = producer.pick_partition(request.records[i], count);
    if (p < 0 || p >= count) {
      co_return ApiError{
          http::status::not_found, 40402,
          fmt::format("Partition not found. Topic '{}' has no partition '{}' (it has {}).", topic,
                      p, count)};
    }
    by_partition[p].push_back(i);
  }
  std::vector<RecordOutcome> outcomes(request.records.size());
  std::vector<broker::ProduceRecord> local;
  std::vector<size_t> local_indexes;
  std::vector<int32_t> remote;
  // Records of a partition without a leader (or one not yet leading): nothing was appended.
  auto no_leader = [&](int32_t p, const std::vector<size_t>& indexes) {
    for (size_t i : indexes) {
      outcomes[i].partition = p;
      outcomes[i].error = fmt::format("No leader for {}-{}; retry", topic, p);
      outcomes[i].retriable = true;
      outcomes[i].code = 50302;
    }
  };
  auto* replicas = call.ctx.replicas.load(std::memory_order_acquire);
  for (const auto& [p, indexes] : by_partition) {
    const auto* state = view.partition(topic, p);
    if (state && state->leader == self) {
      // Named leader but not yet leading (an election a moment ago): wait for it as for a
      // leader, then nothing is appended.
      auto log = call.broker->topics().partition(topic, p);
      const auto deadline = std::chrono::steady_clock::now() +
                            std::chrono::milliseconds(call.broker->config().cluster_leader_wait_ms);
      while (replicas != nullptr && log && !replicas->serves(**log, state->leader_epoch, false) &&
             std::chrono::steady_clock::now() < deadline) {
        asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      if (replicas != nullptr && (!log || !replicas->serves(**log, state->leader_epoch, false))) {
        no_leader(p, indexes);
        continue;
      }
      for (size_t i : indexes) {
        local.push_back(request.records[i]);
        local.back().partition = p;
        local_indexes.push_back(i);
      }
    } else {
      remote.push_back(p);
    }
  }
  if (!local.empty()) {
    auto start = [&](auto done) { producer.produce(topic, std::nullopt, local, acks, done); };
    const broker::ProduceOutcome outcome = co_await await_completion<broker::ProduceOutcome>(start);
    for (size_t k = 0; k < local_indexes.size(); ++k) {
      auto& o = outcomes[local_indexes[k]];
      o.partition = local[k].partition.value_or(0);
      const std::error_code ec = outcome.error ? outcome.error : outcome.records[k].error;
      if (ec) {
        fail_record(call, o, ec, topic);
      } else {
        o.offset = outcome.records[k].offset;
        o.timestamp_ms = outcome.records[k].timestamp_ms;
      }
    }
  }
  segment::BatchBuilder builder;
  for (int32_t p : remote) {
    const auto& indexes = by_partition[p];
    const auto* state = view.partition(topic, p);
    const auto leader = state ? view.brokers.find(state->leader) : view.brokers.end();
    if (leader == view.brokers.end()) {
      no_leader(p, indexes);
      continue;
    }
    builder.reset();
    const int64_t now = wall_clock_ms();
    for (size_t i : indexes) {
      segment::RecordInput input = request.records[i].input;
      if (input.timestamp_ms < 0) input.timestamp_ms = now;
      builder.add(input);
    }
    const auto batch = builder.finish();
    Request forwarded{
        http::verb::post,
        fmt::format("/topics/{}/partitions/{}/records?acks={}", topic, p, acks_text(acks)), 11};
    forwarded.set(http::field::content_type, kRawBatch);
    forwarded.body().assign(reinterpret_cast<const char*>(batch.data()), batch.size());
    const Reply answer = co_await send_to_broker(
        call, state->leader, leader->second.registration.url, std::move(forwarded));
    take_remote_answer(answer, topic, p, request, indexes, now, outcomes);
  }
  uint64_t stored = 0;
  for (const auto& o : outcomes) stored += o.error ? 0 : 1;
  call.ctx.metrics.add_records_appended(stored);
  co_return outcomes;
}

// Stores the records through the broker's producer and waits for it; returns a request-level
// error (unknown topic or partition) or the outcomes, one per record.
asio::awaitable<ApiResult<std::vector<RecordOutcome>>> store_records(
    Call& call, std::string_view topic, std::optional<int32_t> path_partition,
    const ProduceRequest& request, Acks acks) {
  auto* node = call.ctx.cluster.load(std::memory_order_acquire);
  if (node != nullptr && !path_partition) {
    const auto view = node->view();
    if (auto t = view->topics.find(topic); t != view->topics.end()) {
      const int32_t count = t->second.partitions();
      co_return co_await store_across_leaders(call, topic, *view, count, request, acks);
    }
  }
  auto& producer = call.broker->producer();
  auto start = [&](auto done) {
    producer.produce(topic, path_partition, request.records, acks, done);
  };
  const broker::ProduceOutcome outcome = co_await await_completion<broker::ProduceOutcome>(start);
  if (outcome.error == broker::Errc::partition_not_found) {
    co_return ApiError{
        http::status::not_found, 40402,
        fmt::format("Partition not found. Topic '{}' has no partition '{}' (it has {}).", topic,
                    outcome.partition, outcome.partitions)};
  }
  if (outcome.error) co_return to_api_error(outcome.error, topic);
  std::vector<RecordOutcome> outcomes(outcome.records.size());
  uint64_t stored = 0;
  for (size_t i = 0; i < outcome.records.size(); ++i) {
    const auto& r = outcome.records[i];
    auto& o = outcomes[i];
    o.partition = r.partition;
    if (r.error) {
      fail_record(call, o, r.error, topic);
    } else {
      o.offset = r.offset;
      o.timestamp_ms = r.timestamp_ms;
      ++stored;
    }
  }
  call.ctx.metrics.add_records_appended(stored);
  co_return outcomes;
}

asio::awaitable<Reply> produce_v2(Call& call, std::optional<int32_t> path_partition) {
  const std::string_view topic = call.params[0];
  if (auto valid = check_topic_name(topic); !valid) co_return error_reply(valid.error());
  if (auto may = authorize_auto_create(call, topic); !may) co_return error_reply(may.error());
  const auto type = media_type(call.header(http::field::content_type));
  EmbeddedFormat format;
  if (type == kJsonV2 || type == "application/json") {
    format = EmbeddedFormat::json;
  } else if (type == kBinaryV2) {
    format = EmbeddedFormat::binary;
  } else {
    co_return error_reply({http::status::unsupported_media_type, 415,
                           fmt::format("HTTP 415 Unsupported Media Type: '{}'; use {} or {}", type,
                                       kJsonV2, kBinaryV2)});
  }
  if (!accepts_json(call.header(http::field::accept))) {
    co_return error_reply(
        {http::status::not_acceptable, 406,
         "HTTP 406 Not Acceptable: produce replies are application/vnd.kafka.v2+json"});
  }
  const auto acks = parse_acks(call);
  if (!acks) co_return error_reply(acks.error());
  ProduceRequest request;
  if (auto e = parse_produce_request(call.request.body(), format, request)) {
    co_return error_reply({static_cast<http::status>(e->http_status), e->error_code, e->message});
  }
  auto stored = co_await store_records(call, topic, path_partition, request, *acks);
  if (!stored) co_return error_reply(stored.error());
  const auto& outcomes = *stored;
  if (auto failed = whole_request_failure(outcomes)) co_return error_reply(*failed);
  std::string body;
  body.reserve(64 + outcomes.size() * 72);
  JsonWriter w(body);
  w.begin_object().key("key_schema_id").null().key("value_schema_id").null();
  w.key("offsets").begin_array();
  for (const auto& o : outcomes) {
    w.begin_object().key("partition").value(o.partition);
    if (o.error) {
      w.key("offset")
          .null()
          .key("error_code")
          .value(o.code != 0 ? o.code : int64_t{o.retriable ? 2 : 1});
      w.key("error").value(*o.error);
    } else {
      w.key("offset").value(o.offset).key("error_code").null().key("error").null();
    }
    w.end_object();
  }
  w.end_array().end_object();
  co_return json_reply(http::status::ok, std::move(body), kKafkaV2);
}

asio::awaitable<Reply> produce_to_topic(Call& call) { co_return co_await produce_v2(call, {}); }

asio::awaitable<Reply> produce_to_partition(Call& call) {
  auto p = parse_int(call.params[1], 0, INT32_MAX);
  if (!p) {
    co_return error_reply({http::status::not_found, 40402,
                           fmt::format("Partition not found. Topic '{}' has no partition '{}'.",
                                       call.params[0], call.params[1].substr(0, 20))});
  }
  co_return co_await produce_v2(call, static_cast<int32_t>(*p));
}

// Raw batches: the body is one or more batches in the on-disk format. All are validated
// before any is stored, so a bad batch never leaves the request half-applied.
asio::awaitable<Reply> produce_raw(Call& call) {
  const auto type = media_type(call.header(http::field::content_type));
  if (type != kRawBatch) {
    co_return error_reply({http::status::unsupported_media_type, 415,
                           fmt::format("HTTP 415 Unsupported Media Type: '{}'; this path takes {}",
                                       type, kRawBatch)});
  }
  const std::string_view topic = call.params[0];
  auto& producer = call.broker->producer();
  if (auto valid = check_topic_name(topic); !valid) co_return error_reply(valid.error());
  if (auto may = authorize_auto_create(call, topic); !may) co_return error_reply(may.error());
  const auto partition_number = parse_int(call.params[1], 0, INT32_MAX);
  if (!partition_number) co_return error_reply(partition_not_found(topic, call.params[1]));
  const auto partition = static_cast<int32_t>(*partition_number);
  if (auto ec = producer.check_target(topic, partition)) {
    co_return error_reply(ec == broker::Errc::partition_not_found
                              ? partition_not_found(topic, call.params[1])
                              : to_api_error(ec, topic));
  }
  const auto acks = parse_acks(call);
  if (!acks) co_return error_reply(acks.error());
  auto body = std::as_writable_bytes(std::span(call.request.body()));
  if (body.empty()) co_return error_reply({http::status::unprocessable_entity, 422, "Empty body"});
  std::vector<segment::ValidBatch> batches;
  for (size_t pos = 0; pos < body.size();) {
    auto batch = segment::ValidBatch::check(body.subspan(pos));
    if (!batch) {
      co_return error_reply(
          {http::status::unprocessable_entity, 42206,
           fmt::format("Invalid record batch at byte {}: {}", pos, batch.error().message())});
    }
    pos += batch->bytes().size();
    batches.push_back(*batch);
  }
  // Only a request that is valid creates the topic, as on the JSON produce paths.
  using Appended = std::pair<std::error_code, std::vector<broker::AppendResult>>;
  auto start = [&](auto done) {
    producer.produce_batches(topic, partition, batches, *acks,
                             [done](std::error_code ec, std::vector<broker::AppendResult> r) {
                               done(Appended{ec, std::move(r)});
                             });
  };
  const Appended appended = co_await await_completion<Appended>(start);
  if (appended.first) {
    co_return error_reply(produce_error(call, appended.first, topic, partition));
  }
  const auto& results = appended.second;
  std::string reply;
  JsonWriter w(reply);
  w.begin_object().key("partition").value(partition).key("batches").begin_array();
  uint64_t records = 0;
  for (const auto& r : results) {
    records += static_cast<uint64_t>(r.last_offset.value - r.base_offset.value + 1);
    w.begin_object().key("base_offset").value(r.base_offset.value);
    w.key("last_offset").value(r.last_offset.value).end_object();
  }
  w.end_array().end_object();
  call.ctx.metrics.add_records_appended(records);
  co_return json_reply(http::status::ok, std::move(reply));
}

std::string iso8601(int64_t ms) {
  const time_t seconds = ms / 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

// REST Proxy v3: one record, or a stream of concatenated records answered by one delivery
// report per record, in order.
// The request-level checks of a v3 produce, streamed or not, after the route's (cluster, topic).
ApiResult<Acks> check_v3_request(const Call& call) {
  if (auto v1 = refuse_v1_media_types(call.request); !v1) return v1.error();
  const auto type = media_type(call.header(http::field::content_type));
  if (type != "application/json") {
    return ApiError{
        http::status::unsupported_media_type, 415,
        fmt::format("HTTP 415 Unsupported Media Type: '{}'; use application/json", type)};
  }
  return parse_acks(call);
}

// One delivery report per record, in order, each a JSON object on its own line.
std::string render_v3_reports(const ProduceRequest& request,
                              const std::vector<RecordOutcome>& outcomes,
                              std::string_view cluster_id, std::string_view topic) {
  std::string body;
  auto size_of = [](JsonWriter& w, const std::optional<std::string_view>& data) {
    if (!data) {
      w.null();
      return;
    }
    w.begin_object().key("type").value("BINARY").key("size");
    w.value(static_cast<int64_t>(data->size())).end_object();
  };
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    const auto& input = request.records[i].input;
    JsonWriter w(body);
    w.begin_object();
    if (o.error) {
      w.key("error_code").value(int64_t{o.retriable ? 503 : 500}).key("message").value(*o.error);
    } else {
      w.key("error_code").value(int64_t{200}).key("cluster_id").value(cluster_id);
      w.key("topic_name").value(topic).key("partition_id").value(o.partition);
      w.key("offset").value(o.offset).key("timestamp").value(iso8601(o.timestamp_ms));
      w.key("key");
      size_of(w, input.key);
      w.key("value");
      size_of(w, input.value);
    }
    w.end_object();
    body += '\n';
  }
  return body;
}

// A parse or request-level failure inside a stream, as one report line.
std::string error_report(int error_code, std::string_view message) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("error_code").value(int64_t{error_code}).key("message").value(message);
  w.end_object();
  out += '\n';
  return out;
}

asio::awaitable<Reply> produce_v3(Call& call) {
  const auto acks = check_v3_request(call);
  if (!acks) co_return error_reply(acks.error());
  const std::string_view topic = call.params[1];
  if (auto may = authorize_auto_create(call, topic); !may) co_return error_reply(may.error());
  ProduceRequest request;
  if (auto e = parse_v3_records(call.request.body(), request)) {
    co_return error_reply({static_cast<http::status>(e->http_status), e->error_code, e->message});
  }
  auto stored = co_await store_records(call, topic, std::nullopt, request, *acks);
  if (!stored) co_return error_reply(stored.error());
  co_return json_reply(http::status::ok,
                       render_v3_reports(request, *stored, call.broker->cluster_id(), topic));
}

// Finds where complete top-level JSON values end in a growing buffer, scanning each byte once.
class JsonValueSplitter {
 public:
  // Bytes [0, result) of `data` hold only complete values (and whitespace).
  size_t complete_prefix(std::string_view data) {
    for (; scanned_ < data.size(); ++scanned_) {
      const char c = data[scanned_];
      if (in_string_) {
        if (escape_) {
          escape_ = false;
        } else if (c == '\\') {
          escape_ = true;
        } else if (c == '"') {
          in_string_ = false;
        }
      } else if (c == '"') {
        in_string_ = true;
      } else if (c == '{' || c == '[') {
        ++depth_;
      } else if ((c == '}' || c == ']') && --depth_ <= 0) {
        depth_ = 0;  // a stray closer is left for the parser to report
        complete_ = scanned_ + 1;
      }
    }
    return complete_;
  }
  // The first `n` bytes were consumed.
  void consumed(size_t n) {
    scanned_ -= n;
    complete_ -= n;
  }

 private:
  size_t scanned_ = 0;
  size_t complete_ = 0;
  int depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
};

// REST Proxy v3 streaming produce: records arrive as a chunked stream of concatenated JSON
// objects; each complete record is stored as soon as it has arrived and its report is sent
// back at once, in order, on the same connection.
class V3ProduceStream final : public StreamSession {
 public:
  V3ProduceStream(Request header, const RequestContext& context, ApiContext& ctx,
                  broker::Broker& broker, Target target, Acks acks)
      : header_(std::move(header)),
        call_{header_, ctx,    &broker, std::move(target.segments), std::move(target.query),
              {},      context},
        acks_(acks) {
    // Call's params are the whole path; keep the route's two placeholders.
    call_.params = {call_.params[2], call_.params[4]};
  }

  asio::awaitable<std::string> on_data(std::string_view data) override {
    carry_.append(data);
    const size_t n = splitter_.complete_prefix(carry_);
    if (n == 0) co_return std::string{};
    std::string records = carry_.substr(0, n);
    carry_.erase(0, n);
    splitter_.consumed(n);
    co_return co_await store(records);
  }

  asio::awaitable<std::string> on_end() override {
    if (carry_.find_first_not_of(" \t\r\n") == std::string::npos) co_return std::string{};
    std::string rest = std::move(carry_);
    carry_.clear();
    co_return co_await store(rest);  // reports why the unfinished record is malformed
  }

 private:
  asio::awaitable<std::string> store(std::string& body) {
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) co_return std::string{};
    ProduceRequest request;
    if (auto e = parse_v3_records(body, request)) co_return error_report(e->error_code, e->message);
    auto stored = co_await store_records(call_, call_.params[1], std::nullopt, request, acks_);
    if (!stored) co_return error_report(stored.error().error_code, stored.error().message);
    co_return render_v3_reports(request, *stored, call_.broker->cluster_id(), call_.params[1]);
  }

  Request header_;
  Call call_;
  Acks acks_;
  std::string carry_;  // bytes of records not yet complete
  JsonValueSplitter splitter_;
};

// The v3 produce route; a streamed v3 produce reaches its handler without the Router, and
// makes the route's checks itself.
constexpr Route kV3ProduceRoute =
    v3_route(http::verb::post, "/v3/clusters/{}/topics/{}/records", produce_v3, 1);

}  // namespace

asio::awaitable<std::optional<StreamStart>> start_produce_stream(const Request& header,
                                                                 const RequestContext& context,
                                                                 ApiContext& ctx) {
  auto target = parse_target(header.target());
  // Only POST /v3/clusters/{c}/topics/{t}/records streams.
  if (header.method() != http::verb::post || !target || target->segments.size() != 6 ||
      target->segments[0] != "v3" || target->segments[1] != "clusters" ||
      target->segments[3] != "topics" || target->segments[5] != "records") {
    co_return std::nullopt;
  }
  broker::Broker* broker = ctx.broker.load(std::memory_order_acquire);
  if (broker == nullptr) {
    Reply reply = error_reply({http::status::service_unavailable, 50301,
                               "Broker is recovering its logs; retry shortly (see /v1/recovery)"});
    reply.message.set(http::field::retry_after, "1");
    co_return StreamStart{std::move(reply)};
  }
  Request head = header;
  Call probe{head,          ctx, broker, {target->segments[2], target->segments[4]},
             target->query, {},  context};
  trust_forwarded_principal(probe);
  if (auto path = check_route_params(kV3ProduceRoute, probe); !path) {
    co_return StreamStart{error_reply(path.error())};
  }
  if (auto may = authorize(probe, broker::AclOperation::write, broker::AclResourceType::topic,
                           target->segments[4]);
      !may) {
    co_return StreamStart{error_reply(may.error())};
  }
  if (auto may = authorize_auto_create(probe, target->segments[4]); !may) {
    co_return StreamStart{error_reply(may.error())};
  }
  const auto acks = check_v3_request(probe);
  if (!acks) co_return StreamStart{error_reply(acks.error())};
  // The first records create the topic where auto.create.topics.enable allows it.
  const auto& topic = target->segments[4];
  if (auto ec = broker->producer().check_target(topic, std::nullopt)) {
    co_return StreamStart{error_reply(to_api_error(ec, topic))};
  }
  co_return StreamStart{
      std::make_unique<V3ProduceStream>(header, context, ctx, *broker, std::move(*target), *acks)};
}

void add_produce_routes(std::vector<Route>& routes) {
  routes.push_back({http::verb::post, "/topics/{}", produce_to_topic});
  routes.push_back(
      partition_route(http::verb::post, "/topics/{}/partitions/{}", produce_to_partition));
  routes.push_back(
      partition_route(http::verb::post, "/topics/{}/partitions/{}/records", produce_raw));
  routes.push_back(kV3ProduceRoute);
}

}  // namespace sluice::net
