#include "cluster/metadata.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <charconv>
#include <limits>

#include "common/json_writer.h"

namespace sluice::cluster {
namespace {

namespace dom = simdjson::dom;

const std::error_code kBad = make_error_code(EtcdErrc::bad_answer);

Result<dom::object> parse_object(std::string_view json) {
  thread_local dom::parser parser;
  dom::element root;
  if (parser.parse(json.data(), json.size(), true).get(root)) return kBad;
  dom::object o;
  if (root.get_object().get(o)) return kBad;
  return o;
}

std::optional<int32_t> parse_id(std::string_view s) {
  int32_t id = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size() || id < 0) return std::nullopt;
  return id;
}

}  // namespace

std::string KeyLayout::controller(int64_t lease) const {
  return fmt::format("{}{:016x}", controllers(), static_cast<uint64_t>(lease));
}

std::string to_json(const BrokerRegistration& b) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .key("id")
      .value(b.id)
      .key("url")
      .value(b.url)
      .key("incarnation")
      .value(b.incarnation)
      .key("clean_start")
      .value(b.clean_start)
      .end_object();
  return out;
}

Result<BrokerRegistration> parse_broker_registration(std::string_view json) {
  auto o = parse_object(json);
  if (!o) return o.error();
  BrokerRegistration b;
  int64_t id = 0;
  std::string_view url;
  std::string_view incarnation;
  if (o->at_key("id").get_int64().get(id) || id < 0 || id > std::numeric_limits<int32_t>::max() ||
      o->at_key("url").get_string().get(url) ||
      o->at_key("incarnation").get_string().get(incarnation)) {
    return kBad;
  }
  b.id = static_cast<int32_t>(id);
  b.url = std::string(url);
  b.incarnation = std::string(incarnation);
  bool clean = false;
  if (!o->at_key("clean_start").get_bool().get(clean)) b.clean_start = clean;
  return b;
}

std::string cluster_id_json(std::string_view id) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("cluster_id").value(id).end_object();
  return out;
}

Result<std::string> parse_cluster_id(std::string_view json) {
  auto o = parse_object(json);
  if (!o) return o.error();
  std::string_view id;
  if (o->at_key("cluster_id").get_string().get(id) || id.empty()) return kBad;
  return std::string(id);
}

ClusterView build_view(const KeyLayout& layout, const std::map<std::string, KeyValue>& keys,
                       int64_t revision, size_t* skipped) {
  ClusterView view;
  view.revision = revision;
  size_t bad = 0;
  const std::string brokers = layout.brokers();
  const std::string controllers = layout.controllers();
  for (const auto& [key, kv] : keys) {
    if (key == layout.cluster()) {
      if (auto id = parse_cluster_id(kv.value)) {
        view.cluster_id = std::move(*id);
      } else {
        ++bad;
      }
    } else if (key.starts_with(brokers)) {
      auto id = parse_id(std::string_view(key).substr(brokers.size()));
      auto registration = parse_broker_registration(kv.value);
      if (!id || !registration || registration->id != *id) {
        ++bad;
        continue;
      }
      view.brokers[*id] = BrokerInfo{std::move(*registration), kv.create_revision};
    } else if (key.starts_with(controllers)) {
      auto id = parse_id(kv.value);
      if (!id) {
        ++bad;
        continue;
      }
      if (!view.controller || kv.create_revision < view.controller_epoch) {
        view.controller = *id;
        view.controller_epoch = kv.create_revision;
      }
    }
  }
  if (skipped) *skipped = bad;
  return view;
}

}  // namespace sluice::cluster
