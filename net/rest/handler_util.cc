#include "net/rest/handler_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/throw_exception.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "broker/errors.h"
#include "broker/topic_registry.h"
#include "cluster/etcd_codec.h"
#include "index/errors.h"
#include "segment/errors.h"

namespace sluice::net {

ApiError to_api_error(std::error_code ec, std::string_view what) {
  using B = broker::Errc;
  if (ec.category() == broker::error_category()) {
    switch (static_cast<B>(ec.value())) {
      // REST Proxy's wording first, then the name.
      case B::topic_not_found:
        return {http::status::not_found, 40401,
                fmt::format("Topic not found. Topic '{}' does not exist.", what)};
      case B::partition_not_found:
        return {http::status::not_found, 40402,
                fmt::format("Partition not found. Topic '{}' has no such partition.", what)};
      case B::offset_out_of_range:
        return {http::status::range_not_satisfiable, 41601,
                fmt::format("Offset out of range for {}", what)};
      case B::topic_exists:
        return {http::status::conflict, 40901, fmt::format("Topic '{}' already exists", what)};
      case B::invalid_topic_name:
        return {http::status::bad_request, 40005, fmt::format("Invalid topic name '{}'", what)};
      case B::invalid_partition_count:
        return {http::status::bad_request, 40006,
                fmt::format("Partition count must be between 1 and {}", broker::kMaxPartitions)};
      case B::invalid_config:
        return {http::status::bad_request, 40007, "Invalid topic configuration"};
      case B::empty_batch:
        return {http::status::unprocessable_entity, 42206, "No records"};
      case B::record_too_large:
        return {http::status::payload_too_large, 41302,
                fmt::format("Batch larger than max.message.bytes of {}", what)};
      case B::shutting_down:
        // REST Proxy's retriable error: 500 / 50003 (status x 100 + sub-code).
        return {http::status::internal_server_error, 50003, "Broker is shutting down; retry"};
      case B::internal_topic:
        return {
            http::status::forbidden, 40301,
            fmt::format("Topic '{}' is internal to the broker: it can be read, not changed", what)};
      case B::log_offline:
        return {http::status::internal_server_error, 50002,
                fmt::format("Partition {} is offline after a failed fdatasync", what)};
      case B::not_enough_replicas:
        return {http::status::service_unavailable, 50303,
                fmt::format("Not enough in-sync replicas for {}", what)};
      case B::not_leader:
        return {http::status::service_unavailable, 50302,
                fmt::format("This broker may have lost the leadership of {} (its etcd lease may "
                            "have expired); nothing was appended; retry",
                            what)};
      case B::not_confirmed:
        return {http::status::service_unavailable, 50304,
                fmt::format("Replication of {} not confirmed; the records may still appear", what)};
      case B::not_at_log_end:
      case B::stale_epoch:
        return {http::status::conflict, 40904, fmt::format("{} for {}", ec.message(), what)};
    }
  }
  using C = broker::ConsumerErrc;
  if (ec.category() == broker::consumer_error_category()) {
    switch (static_cast<C>(ec.value())) {
      case C::instance_not_found:
        return {http::status::not_found, 40403, "Consumer instance not found."};
      case C::instance_exists:
        return {http::status::conflict, 40902,
                "Consumer with specified consumer ID already exists in the specified consumer "
                "group."};
      case C::illegal_state:
        return {http::status::conflict, 40903,
                what.empty() ? "Illegal state: subscription to topics, partitions and pattern are "
                               "mutually exclusive."
                             : std::string(what)};
      case C::invalid_pattern:
        return {http::status::unprocessable_entity, 42203, std::string(what)};
      case C::invalid_offset:
        return {http::status::unprocessable_entity, 42206, std::string(what)};
      case C::not_coordinator:
        return {http::status::service_unavailable, 50302,
                "This broker no longer coordinates the consumer group (the leadership of its "
                "offsets partition moved, or its etcd lease lapsed); nothing was changed; retry"};
    }
  }
  if (ec.category() == cluster::etcd_category()) {
    return {http::status::service_unavailable, 50305,
            fmt::format("The cluster's metadata store (etcd) did not answer ({}); retry",
                        ec.message())};
  }
  if (ec.category() == segment::error_category()) {
    return {http::status::unprocessable_entity, 42206,
            fmt::format("Invalid record batch: {}", ec.message())};
  }
  if (ec == std::errc::no_space_on_device) {
    return {http::status::insufficient_storage, 50701,
            fmt::format("No space left on device for {}", what)};
  }
  return {http::status::internal_server_error, 50002,
          fmt::format("Internal error on {}: {}", what, ec.message())};
}

ApiError to_api_error(const broker::DetailedError& error, std::string_view what) {
  if (error.code() == broker::Errc::invalid_config && !error.detail().empty()) {
    return {http::status::bad_request, 40002, error.detail()};
  }
  return to_api_error(error.code(), error.detail().empty() ? what : error.detail());
}

std::vector<BrokerEntry> cluster_brokers(const Call& call) {
  std::vector<BrokerEntry> out;
  if (auto* node = call.ctx.cluster.load(std::memory_order_acquire)) {
    for (const auto& [id, b] : node->view()->brokers) out.push_back({id, b.registration.url, true});
    return out;
  }
  out.push_back({call.broker->config().broker_id, call.ctx.advertised_url, true});
  return out;
}

std::optional<int32_t> controller_id(const Call& call) {
  if (auto* node = call.ctx.cluster.load(std::memory_order_acquire))
    return node->view()->controller;
  return call.broker->config().broker_id;
}

PartitionPlacement partition_placement(const Call& call, std::string_view topic,
                                       int32_t partition) {
  const int32_t self = call.broker->config().broker_id;
  if (auto* node = call.ctx.cluster.load(std::memory_order_acquire)) {
    const auto view = node->view();
    auto t = view->topics.find(topic);
    if (t != view->topics.end() && partition >= 0 && partition < t->second.partitions()) {
      PartitionPlacement out;
      const auto* state = view->partition(topic, partition);
      out.leader = state ? state->leader : -1;
      for (int32_t b : t->second.replicas[static_cast<size_t>(partition)]) {
        out.replicas.push_back({b, b == out.leader, state != nullptr && state->in_isr(b)});
      }
      return out;
    }
  }
  return {self, {{self, true, true}}};
}

std::optional<int64_t> parse_int(std::string_view s, int64_t min, int64_t max) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  if (value < min || value > max) return std::nullopt;
  return value;
}

void throw_exception_from_error(const ApiError& error, const boost::source_location& location) {
  boost::throw_exception(std::logic_error("unchecked ApiResult: " + error.message), location);
}

ApiResult<int64_t> int_query(const Call& call, std::string_view name,
                             std::optional<int64_t> fallback, int64_t min, int64_t max) {
  auto text = call.query_param(name);
  if (!text) {
    if (fallback) return *fallback;
    return ApiError{http::status::bad_request, 40002,
                    fmt::format("Missing required query parameter '{}'", name)};
  }
  if (auto v = parse_int(*text, min, max)) return *v;
  return ApiError{http::status::bad_request, 40003,
                  fmt::format("Query parameter '{}' must be an integer in [{}, {}], got '{}'", name,
                              min, max, *text)};
}

ApiResult<void> check_topic_name(std::string_view topic) {
  if (broker::is_valid_topic_name(topic)) return {};
  return ApiError{http::status::bad_request, 40005,
                  fmt::format("Invalid topic name '{}': use 1 to {} characters of [a-zA-Z0-9._-], "
                              "not '.' or '..'",
                              topic.substr(0, 300), broker::kMaxTopicNameLength)};
}

ApiError partition_not_found(std::string_view topic, std::string_view partition) {
  return {http::status::not_found, 40402,
          fmt::format("Partition not found. Topic '{}' has no partition '{}'.", topic,
                      partition.substr(0, 20))};
}

ApiResult<std::shared_ptr<broker::PartitionLog>> find_partition(const Call& call,
                                                                std::string_view topic,
                                                                std::string_view partition_text) {
  if (auto valid = check_topic_name(topic); !valid) return valid.error();
  auto p = parse_int(partition_text, 0, INT32_MAX);
  auto log = p ? call.broker->topics().partition(topic, static_cast<int32_t>(*p))
               : Result<std::shared_ptr<broker::PartitionLog>>(broker::Errc::partition_not_found);
  if (!log && log.error() == broker::Errc::partition_not_found) {
    return partition_not_found(topic, partition_text);
  }
  if (!log) return to_api_error(log.error(), topic);
  return std::move(*log);
}

std::string encode_path_segment(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

std::string media_type(std::string_view header_value) {
  const auto semi = header_value.find(';');
  auto type = header_value.substr(0, semi);
  while (!type.empty() && type.front() == ' ') type.remove_prefix(1);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  std::string out(type);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::vector<std::string> accept_list(std::string_view accept) {
  std::vector<std::string> out;
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    if (auto type = media_type(accept.substr(0, comma)); !type.empty()) {
      out.push_back(std::move(type));
    }
    if (comma == std::string_view::npos) break;
    accept.remove_prefix(comma + 1);
  }
  return out;
}

namespace {

bool is_kafka_type(std::string_view type, std::string_view version) {
  constexpr std::string_view kPrefix = "application/vnd.kafka.";
  if (!type.starts_with(kPrefix)) return false;
  type.remove_prefix(kPrefix.size());
  // "v2+json" or "<format>.v2+json".
  if (type.starts_with(version)) return type.substr(version.size()) == "+json";
  const auto dot = type.find('.');
  return dot != std::string_view::npos && type.substr(dot + 1).starts_with(version) &&
         type.substr(dot + 1 + version.size()) == "+json";
}

}  // namespace

ApiResult<void> refuse_v1_media_types(const Request& request) {
  auto types = accept_list(request[http::field::accept]);
  types.insert(types.begin(), media_type(request[http::field::content_type]));
  for (const auto& type : types) {
    if (!is_kafka_type(type, "v1")) continue;
    return ApiError{http::status::unsupported_media_type, 415,
                    fmt::format("HTTP 415 Unsupported Media Type: '{}' is REST Proxy v1, which "
                                "Confluent removed in 2021; Sluice speaks v2 and v3 (use {}, {} "
                                "or {})",
                                type, kJsonV2, kBinaryV2, kKafkaV2)};
  }
  return {};
}

bool accepts_v2(std::string_view accept) {
  const auto types = accept_list(accept);
  if (types.empty()) return true;
  return std::any_of(types.begin(), types.end(), [](const std::string& type) {
    return type == "*/*" || type == "application/*" || type == "application/json" ||
           type == "application/vnd.kafka+json" || type == kRawBatch || is_kafka_type(type, "v2");
  });
}

std::string v2_error_media_type(std::string_view accept) {
  for (auto& type : accept_list(accept)) {
    if (type == "application/json" || is_kafka_type(type, "v2")) return type;
  }
  return std::string(kKafkaV2);
}

}  // namespace sluice::net
