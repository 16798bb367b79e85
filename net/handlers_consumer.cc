// The Kafka REST Proxy v2 consumer API: instances of consumer groups that subscribe or are
// assigned partitions, fetch records (long-polling across their partitions), seek, commit and
// read committed offsets. Group coordination lives in broker::ConsumerGroups; this file only
// translates HTTP. Bodies are parsed with simdjson's DOM API (runtime CPU dispatch).
#include <fmt/format.h>
#include <simdjson.h>

#include <chrono>
#include <random>

#include "broker/consumer_groups.h"
#include "broker/errors.h"
#include "broker/offsets_store.h"
#include "net/durable.h"
#include "net/handler_util.h"
#include "net/json_writer.h"
#include "net/record_render.h"
#include "net/router.h"

namespace sluice::net {
namespace {

namespace dom = simdjson::dom;
using broker::ConsumerErrc;
using broker::ConsumerGroups;
using broker::TopicPartition;

constexpr int64_t kDefaultMaxBytes = 1 << 20;
constexpr int64_t kMaxMaxBytes = 64 << 20;
constexpr int64_t kMaxTimeoutMs = 300000;
constexpr size_t kMaxInstanceNameLength = 255;

ApiError consumer_error(std::error_code ec, std::string_view why) {
  if (ec.category() == broker::consumer_error_category()) {
    switch (static_cast<ConsumerErrc>(ec.value())) {
      case ConsumerErrc::instance_not_found:
        return {http::status::not_found, 40403, "Consumer instance not found."};
      case ConsumerErrc::instance_exists:
        return {http::status::conflict, 40902,
                "Consumer with specified consumer ID already exists in the specified consumer "
                "group."};
      case ConsumerErrc::illegal_state:
        return {http::status::conflict, 40903,
                why.empty() ? "Illegal state: subscription to topics, partitions and pattern are "
                              "mutually exclusive."
                            : std::string(why)};
      case ConsumerErrc::invalid_pattern:
        return {http::status::unprocessable_entity, 42203, std::string(why)};
      case ConsumerErrc::invalid_offset:
        return {http::status::unprocessable_entity, 42206, std::string(why)};
    }
  }
  return to_api_error(ec, why);
}

ApiError unprocessable(int code, std::string message) {
  return {http::status::unprocessable_entity, code, std::move(message)};
}

Reply no_content() {
  Reply reply;
  reply.message.result(http::status::no_content);
  return reply;
}

Reply ok_json(std::string body) { return json_reply(http::status::ok, std::move(body), kKafkaV2); }

bool has_control_characters(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// A request body: absent (empty or only whitespace), an object, or the error to answer.
struct Body {
  std::optional<dom::object> object;
  std::optional<ApiError> error;
};

Body parse_body(const Call& call, dom::parser& parser) {
  const std::string& text = call.request.body();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return {};
  const auto type = media_type(call.header(http::field::content_type));
  if (!type.empty() && type != kKafkaV2 && type != "application/json" &&
      type != "application/vnd.kafka+json") {
    return {std::nullopt,
            ApiError{http::status::unsupported_media_type, 415,
                     fmt::format("HTTP 415 Unsupported Media Type: send {}", kKafkaV2)}};
  }
  dom::element doc;
  if (auto e = parser.parse(text).get(doc)) {
    return {std::nullopt, ApiError{http::status::bad_request, 40001,
                                   fmt::format("Malformed JSON: {}", simdjson::error_message(e))}};
  }
  dom::object object;
  if (doc.get_object().get(object)) {
    return {std::nullopt, ApiError{http::status::bad_request, 40001,
                                   "Malformed request: the body must be a JSON object"}};
  }
  return {object, std::nullopt};
}

// The member `key` of `o`, absent when missing or null.
std::optional<dom::element> field(dom::object o, std::string_view key) {
  dom::element e;
  if (o.at_key(key).get(e) || e.is_null()) return std::nullopt;
  return e;
}

// An integer sent as a number or as a decimal string ("fetch.min.bytes":"1").
std::optional<int64_t> as_int(dom::element e) {
  int64_t n = 0;
  if (!e.get_int64().get(n)) return n;
  std::string_view s;
  if (!e.get_string().get(s)) return parse_int(s, INT64_MIN, INT64_MAX);
  return std::nullopt;
}

// A boolean sent as true/false or "true"/"false".
std::optional<bool> as_bool(dom::element e) {
  bool b = false;
  if (!e.get_bool().get(b)) return b;
  std::string_view s;
  if (!e.get_string().get(s)) {
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return std::nullopt;
}

std::optional<std::string> as_string(dom::element e) {
  std::string_view s;
  if (e.get_string().get(s)) return std::nullopt;
  return std::string(s);
}

// {"topic", "partition"} elements of an array member; partitions may be strings of digits.
std::optional<ApiError> parse_partitions(dom::object o, std::string_view key,
                                         std::vector<TopicPartition>& out) {
  auto list = field(o, key);
  dom::array array;
  if (!list || list->get_array().get(array)) {
    return unprocessable(42203, fmt::format("'{}' must be an array of {{topic, partition}}", key));
  }
  for (dom::element item : array) {
    dom::object p;
    if (item.get_object().get(p)) {
      return unprocessable(42203, fmt::format("'{}' entries must be objects", key));
    }
    auto topic = field(p, "topic");
    auto partition = field(p, "partition");
    auto name = topic ? as_string(*topic) : std::nullopt;
    auto number = partition ? as_int(*partition) : std::nullopt;
    if (!name || !number || *number < 0 || *number > INT32_MAX) {
      return unprocessable(
          42203, fmt::format("'{}' entries need a string topic and a partition >= 0", key));
    }
    if (auto e = check_topic_name(*name)) return e;
    out.push_back({std::move(*name), static_cast<int32_t>(*number)});
  }
  return std::nullopt;
}

// {"topic", "partition", "offset", "metadata"?} elements of an array member.
struct OffsetEntry {
  TopicPartition tp;
  int64_t offset = 0;
  std::string metadata;
};
std::optional<ApiError> parse_offsets(dom::object o, std::string_view key,
                                      std::vector<OffsetEntry>& out) {
  std::vector<TopicPartition> partitions;
  if (auto e = parse_partitions(o, key, partitions)) return e;
  dom::array array;
  if (o.at_key(key).get_array().get(array)) {
    return unprocessable(42203, fmt::format("'{}' must be an array", key));
  }
  size_t i = 0;
  for (dom::element item : array) {
    auto offset = field(item.get_object().value_unsafe(), "offset");
    auto number = offset ? as_int(*offset) : std::nullopt;
    if (!number) {
      return unprocessable(42206, fmt::format("'{}[{}].offset' must be an integer", key, i));
    }
    std::string metadata;
    if (auto m = field(item.get_object().value_unsafe(), "metadata")) {
      auto s = as_string(*m);
      if (!s)
        return unprocessable(42203, fmt::format("'{}[{}].metadata' must be a string", key, i));
      if (s->size() > broker::kMaxCommitMetadataBytes) {
        return unprocessable(42206, fmt::format("'{}[{}].metadata' is longer than {} bytes", key, i,
                                                broker::kMaxCommitMetadataBytes));
      }
      metadata = std::move(*s);
    }
    out.push_back({std::move(partitions[i]), *number, std::move(metadata)});
    ++i;
  }
  return std::nullopt;
}

// Percent-encodes a path segment for base_uri.
std::string encode_segment(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      fmt::format_to(std::back_inserter(out), "%{:02X}", c);
    }
  }
  return out;
}

std::string generated_instance_name() {
  std::random_device rd;
  return fmt::format("rest-consumer-{:08x}{:08x}", rd(), rd());
}

// The instance settings of a create body; 422 / 42204 names the bad one.
std::optional<ApiError> parse_instance_config(const std::optional<dom::object>& body,
                                              broker::InstanceConfig& config) {
  const auto bad = [](std::string_view key, std::string_view allowed) {
    return unprocessable(
        42204, fmt::format("Invalid consumer configuration: '{}' must be {}", key, allowed));
  };
  if (!body) return std::nullopt;
  auto name = field(*body, "name");
  if (!name) name = field(*body, "id");  // the v1 spelling
  if (name) {
    auto s = as_string(*name);
    if (!s || s->empty() || s->size() > kMaxInstanceNameLength) {
      return bad("name", fmt::format("a string of 1 to {} characters", kMaxInstanceNameLength));
    }
    if (has_control_characters(*s)) {
      return ApiError{http::status::bad_request, 40003,
                      "Consumer instance names must not contain control characters"};
    }
    config.name = std::move(*s);
  }
  if (auto f = field(*body, "format")) {
    auto s = as_string(*f);
    if (s == "json") {
      config.format = broker::ConsumerFormat::json;
    } else if (s == "binary") {
      config.format = broker::ConsumerFormat::binary;
    } else {
      return bad("format", "json or binary");
    }
  }
  if (auto r = field(*body, "auto.offset.reset")) {
    auto s = as_string(*r);
    if (s == "earliest" || s == "smallest") {
      config.reset = broker::OffsetReset::earliest;
    } else if (s == "latest" || s == "largest") {
      config.reset = broker::OffsetReset::latest;
    } else if (s == "none") {
      config.reset = broker::OffsetReset::none;
    } else {
      return bad("auto.offset.reset", "earliest, latest or none");
    }
  }
  if (auto a = field(*body, "auto.commit.enable")) {
    auto b = as_bool(*a);
    if (!b) return bad("auto.commit.enable", "true or false");
    config.auto_commit = *b;
  }
  if (auto m = field(*body, "fetch.min.bytes")) {
    auto n = as_int(*m);
    if (!n || *n < -1 || *n > kMaxMaxBytes) {
      return bad("fetch.min.bytes", fmt::format("an integer in [-1, {}]", kMaxMaxBytes));
    }
    config.fetch_min_bytes = std::max<int64_t>(*n, 1);
  }
  if (auto t = field(*body, "consumer.request.timeout.ms")) {
    auto n = as_int(*t);
    if (!n || *n < 0 || *n > kMaxTimeoutMs) {
      return bad("consumer.request.timeout.ms",
                 fmt::format("an integer in [0, {}]", kMaxTimeoutMs));
    }
    config.request_timeout_ms = *n;
  }
  return std::nullopt;
}

asio::awaitable<Reply> create_instance(Call& call) {
  thread_local dom::parser parser;
  auto body = parse_body(call, parser);
  if (body.error) co_return error_reply(*body.error);
  broker::InstanceConfig config;
  if (auto e = parse_instance_config(body.object, config)) co_return error_reply(*e);
  if (config.name.empty()) config.name = generated_instance_name();
  const std::string& group = call.params[0];
  if (group.size() > broker::kMaxGroupNameLength) {
    co_return error_reply(
        {http::status::bad_request, 40003,
         fmt::format("Consumer group names are at most {} bytes", broker::kMaxGroupNameLength)});
  }
  if (auto r = call.broker->groups().create(group, config); !r) {
    co_return error_reply(consumer_error(r.error(), {}));
  }
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("instance_id").value(config.name);
  w.key("base_uri")
      .value(fmt::format("{}/consumers/{}/instances/{}", call.base_url(), encode_segment(group),
                         encode_segment(config.name)));
  w.end_object();
  co_return ok_json(std::move(out));
}

asio::awaitable<Reply> delete_instance(Call& call) {
  if (auto r = call.broker->groups().remove(call.params[0], call.params[1]); !r) {
    co_return error_reply(consumer_error(r.error(), {}));
  }
  co_return no_content();
}

asio::awaitable<Reply> subscribe(Call& call) {
  thread_local dom::parser parser;
  auto body = parse_body(call, parser);
  if (body.error) co_return error_reply(*body.error);
  std::vector<std::string> topics;
  std::string pattern;
  if (body.object) {
    auto list = field(*body.object, "topics");
    auto regex = field(*body.object, "topic_pattern");
    if (list && regex) {
      co_return error_reply(consumer_error(ConsumerErrc::illegal_state, {}));
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
        if (auto e = check_topic_name(*name)) co_return error_reply(*e);
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
  std::string why;
  auto r = call.broker->groups().subscribe(call.params[0], call.params[1], std::move(topics),
                                           std::move(pattern), why);
  if (!r) co_return error_reply(consumer_error(r.error(), why));
  co_return no_content();
}

asio::awaitable<Reply> get_subscription(Call& call) {
  auto topics = call.broker->groups().subscription(call.params[0], call.params[1]);
  if (!topics) co_return error_reply(consumer_error(topics.error(), {}));
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("topics").begin_array();
  for (const auto& t : *topics) w.value(t);
  w.end_array().end_object();
  co_return ok_json(std::move(out));
}

asio::awaitable<Reply> unsubscribe(Call& call) {
  if (auto r = call.broker->groups().unsubscribe(call.params[0], call.params[1]); !r) {
    co_return error_reply(consumer_error(r.error(), {}));
  }
  co_return no_content();
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

asio::awaitable<Reply> assign(Call& call) {
  thread_local dom::parser parser;
  auto body = parse_body(call, parser);
  if (body.error) co_return error_reply(*body.error);
  std::vector<TopicPartition> partitions;
  if (!body.object) co_return error_reply(unprocessable(42203, "Give 'partitions'"));
  if (auto e = parse_partitions(*body.object, "partitions", partitions)) co_return error_reply(*e);
  auto r = call.broker->groups().assign(call.params[0], call.params[1], std::move(partitions));
  if (!r) co_return error_reply(consumer_error(r.error(), {}));
  co_return no_content();
}

asio::awaitable<Reply> get_assignment(Call& call) {
  auto parts = call.broker->groups().assignment(call.params[0], call.params[1]);
  if (!parts) co_return error_reply(consumer_error(parts.error(), {}));
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
    if (t.log->end_offset() <= t.position) continue;
    if (min_bytes <= 1) return true;
    auto slice = t.log->read(t.position, static_cast<uint64_t>(min_bytes) - bytes);
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
  std::string why;
  auto plan = groups.begin_fetch(call.params[0], call.params[1], why);
  if (!plan) co_return error_reply(consumer_error(plan.error(), why));
  const auto format = plan->config.format == broker::ConsumerFormat::json ? RecordFormat::json
                                                                          : RecordFormat::binary;
  if (!accepts(call.header(http::field::accept), format)) {
    co_return error_reply(
        {http::status::not_acceptable, 40601,
         fmt::format("The requested embedded data format does not match the deserializer for "
                     "this consumer instance: use {}",
                     format == RecordFormat::json ? kJsonV2 : kBinaryV2)});
  }
  const auto timeout = int_query(
      call, "timeout",
      plan->config.request_timeout_ms.value_or(call.broker->config().consumer_request_timeout_ms),
      0, kMaxTimeoutMs);
  if (timeout.error) co_return error_reply(*timeout.error);
  const auto max_bytes = int_query(call, "max_bytes", kDefaultMaxBytes, 1, kMaxMaxBytes);
  if (max_bytes.error) co_return error_reply(*max_bytes.error);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(*timeout.value);
  co_await wait_for_records(call.ctx, plan->targets, plan->config.fetch_min_bytes, deadline);

  const auto limit = static_cast<uint64_t>(*max_bytes.value);
  const size_t n = plan->targets.size();
  // Start at a different partition each time, so one busy partition cannot starve the others.
  const size_t first = n == 0 ? 0 : call.ctx.round_robin.fetch_add(1) % n;
  std::string body = "[";
  std::string part;
  std::vector<ConsumerGroups::Advance> advances;
  uint64_t used = 0;
  for (size_t i = 0; i < n && used < limit; ++i) {
    const auto& t = plan->targets[(first + i) % n];
    if (t.log->end_offset() <= t.position) continue;
    auto slice = t.log->read(t.position, limit - used);
    if (!slice) {
      // Retention moved the start past the position: the next fetch resets it.
      if (slice.error() == broker::Errc::offset_out_of_range) continue;
      co_return error_reply(
          to_api_error(slice.error(), fmt::format("{}-{}", t.tp.topic, t.tp.partition)));
    }
    // At least one batch per reply, but never past max_bytes after the first.
    if (slice->empty() || (used > 0 && slice->length > limit - used)) continue;
    part.clear();
    if (auto e = render_records(*slice, t.position, t.tp.topic, t.tp.partition, format, part)) {
      co_return error_reply(*e);
    }
    if (part.size() > 2) {
      if (body.size() > 1) body += ',';
      body.append(part, 1, part.size() - 2);
    }
    used += slice->length;
    advances.push_back({t.tp, t.position, slice->next_offset});
  }
  body += ']';
  groups.end_fetch(call.params[0], call.params[1], advances);
  co_return json_reply(http::status::ok, std::move(body),
                       format == RecordFormat::json ? kJsonV2 : kBinaryV2);
}

asio::awaitable<Reply> seek(Call& call) {
  thread_local dom::parser parser;
  auto body = parse_body(call, parser);
  if (body.error) co_return error_reply(*body.error);
  std::vector<OffsetEntry> entries;
  if (!body.object) co_return error_reply(unprocessable(42203, "Give 'offsets'"));
  if (auto e = parse_offsets(*body.object, "offsets", entries)) co_return error_reply(*e);
  std::vector<std::pair<TopicPartition, int64_t>> offsets;
  for (auto& e : entries) offsets.emplace_back(std::move(e.tp), e.offset);
  std::string why;
  auto r = call.broker->groups().seek(call.params[0], call.params[1], offsets, why);
  if (!r) co_return error_reply(consumer_error(r.error(), why));
  co_return no_content();
}

asio::awaitable<Reply> seek_to_edge(Call& call, bool beginning) {
  thread_local dom::parser parser;
  auto body = parse_body(call, parser);
  if (body.error) co_return error_reply(*body.error);
  std::vector<TopicPartition> partitions;
  if (!body.object) co_return error_reply(unprocessable(42203, "Give 'partitions'"));
  if (auto e = parse_partitions(*body.object, "partitions", partitions)) co_return error_reply(*e);
  std::string why;
  auto r = call.broker->groups().seek_to_edge(call.params[0], call.params[1], partitions, beginning,
                                              why);
  if (!r) co_return error_reply(consumer_error(r.error(), why));
  co_return no_content();
}

asio::awaitable<Reply> seek_beginning(Call& call) { return seek_to_edge(call, true); }
asio::awaitable<Reply> seek_end(Call& call) { return seek_to_edge(call, false); }

asio::awaitable<Reply> commit(Call& call) {
  thread_local dom::parser parser;
  auto body = parse_body(call, parser);
  if (body.error) co_return error_reply(*body.error);
  std::vector<ConsumerGroups::Commit> commits;
  if (body.object) {
    const std::string_view key = field(*body.object, "offsets")      ? "offsets"
                                 : field(*body.object, "partitions") ? "partitions"
                                                                     : "";
    std::vector<OffsetEntry> entries;
    if (!key.empty()) {
      if (auto e = parse_offsets(*body.object, key, entries)) co_return error_reply(*e);
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
  std::string why;
  auto log = call.broker->groups().commit(call.params[0], call.params[1], std::move(commits), why);
  if (!log) co_return error_reply(consumer_error(log.error(), why));
  if (*log) {
    if (auto ec = co_await await_durable(call.broker->committer(), **log)) {
      co_return error_reply(to_api_error(ec, broker::kOffsetsTopic));
    }
  }
  co_return ok_json({});
}

asio::awaitable<Reply> committed_offsets(Call& call) {
  thread_local dom::parser parser;
  auto body = parse_body(call, parser);
  if (body.error) co_return error_reply(*body.error);
  std::vector<TopicPartition> partitions;
  if (body.object && field(*body.object, "partitions")) {
    if (auto e = parse_partitions(*body.object, "partitions", partitions)) {
      co_return error_reply(*e);
    }
  }
  auto offsets = call.broker->groups().committed(call.params[0], call.params[1], partitions);
  if (!offsets) co_return error_reply(consumer_error(offsets.error(), {}));
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

}  // namespace

void add_consumer_routes(std::vector<Route>& routes) {
  constexpr auto post = http::verb::post;
  constexpr auto get = http::verb::get;
  constexpr auto del = http::verb::delete_;
  routes.push_back({post, "/consumers/{}", create_instance});
  routes.push_back({del, "/consumers/{}/instances/{}", delete_instance});
  routes.push_back({post, "/consumers/{}/instances/{}/subscription", subscribe});
  routes.push_back({get, "/consumers/{}/instances/{}/subscription", get_subscription});
  routes.push_back({del, "/consumers/{}/instances/{}/subscription", unsubscribe});
  routes.push_back({post, "/consumers/{}/instances/{}/assignments", assign});
  routes.push_back({get, "/consumers/{}/instances/{}/assignments", get_assignment});
  routes.push_back({get, "/consumers/{}/instances/{}/records", records});
  routes.push_back({post, "/consumers/{}/instances/{}/positions", seek});
  routes.push_back({post, "/consumers/{}/instances/{}/positions/beginning", seek_beginning});
  routes.push_back({post, "/consumers/{}/instances/{}/positions/end", seek_end});
  routes.push_back({post, "/consumers/{}/instances/{}/offsets", commit});
  routes.push_back({get, "/consumers/{}/instances/{}/offsets", committed_offsets});
}

}  // namespace sluice::net
