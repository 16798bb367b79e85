#include "cluster/metadata.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "cluster/json.h"
#include "common/json_writer.h"
#include "common/topic_name.h"

namespace sluice::cluster {
namespace {

namespace dom = simdjson::dom;
using detail::parse_object;

const std::error_code kBad = make_error_code(EtcdErrc::bad_answer);

std::optional<int32_t> parse_id(std::string_view s) {
  int32_t id = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size() || id < 0) return std::nullopt;
  return id;
}

bool int32_array(dom::element e, std::vector<int32_t>& out) {
  dom::array a;
  if (e.get_array().get(a)) return false;
  for (dom::element v : a) {
    int64_t n = 0;
    if (v.get_int64().get(n) || n < 0 || n > std::numeric_limits<int32_t>::max()) return false;
    out.push_back(static_cast<int32_t>(n));
  }
  return true;
}

}  // namespace

bool PartitionState::in_isr(int32_t broker) const {
  for (const auto& [id, epoch] : isr) {
    if (id == broker) return true;
  }
  return false;
}

const PartitionState* ClusterView::partition(std::string_view topic, int32_t p) const {
  auto it = partitions.find({std::string(topic), p});
  return it == partitions.end() ? nullptr : &it->second;
}

std::string to_json(const TopicAssignment& t) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("id").value(t.id).key("partitions").value(t.partitions());
  w.key("replicas").begin_array();
  for (const auto& r : t.replicas) {
    w.begin_array();
    for (int32_t b : r) w.value(b);
    w.end_array();
  }
  w.end_array().key("configs").begin_object();
  for (const auto& [k, v] : t.configs) w.key(k).value(v);
  w.end_object().end_object();
  return out;
}

Result<TopicAssignment> parse_topic_assignment(std::string_view json) {
  auto o = parse_object(json);
  if (!o) return o.error();
  TopicAssignment t;
  std::string_view id;
  int64_t partitions = 0;
  dom::array replicas;
  if (o->at_key("id").get_string().get(id) || o->at_key("partitions").get_int64().get(partitions) ||
      o->at_key("replicas").get_array().get(replicas) || partitions < 1 ||
      partitions > std::numeric_limits<int32_t>::max()) {
    return kBad;
  }
  t.id = std::string(id);
  for (dom::element r : replicas) {
    std::vector<int32_t> list;
    if (!int32_array(r, list) || list.empty()) return kBad;
    // A broker holds at most one replica of a partition.
    auto sorted = list;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return kBad;
    t.replicas.push_back(std::move(list));
  }
  if (t.partitions() != partitions) return kBad;
  dom::object configs;
  if (!o->at_key("configs").get_object().get(configs)) {
    for (auto field : configs) {
      std::string_view value;
      if (field.value.get_string().get(value)) return kBad;
      t.configs.emplace(std::string(field.key), std::string(value));
    }
  }
  return t;
}

std::string to_json(const PartitionState& p) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("topic_id").value(p.topic_id).key("leader").value(p.leader);
  w.key("leader_epoch").value(p.leader_epoch).key("isr").begin_array();
  for (const auto& [id, epoch] : p.isr) w.begin_array().value(id).value(epoch).end_array();
  w.end_array().end_object();
  return out;
}

Result<PartitionState> parse_partition_state(std::string_view json) {
  auto o = parse_object(json);
  if (!o) return o.error();
  PartitionState p;
  std::string_view id;
  int64_t leader = 0;
  int64_t epoch = 0;
  dom::array isr;
  if (o->at_key("topic_id").get_string().get(id) || o->at_key("leader").get_int64().get(leader) ||
      o->at_key("leader_epoch").get_int64().get(epoch) || o->at_key("isr").get_array().get(isr) ||
      leader < -1 || leader > std::numeric_limits<int32_t>::max() || epoch < 0 ||
      epoch > std::numeric_limits<int32_t>::max()) {
    return kBad;
  }
  p.topic_id = std::string(id);
  p.leader = static_cast<int32_t>(leader);
  p.leader_epoch = static_cast<int32_t>(epoch);
  for (dom::element member : isr) {
    dom::array pair;
    int64_t broker = 0;
    int64_t broker_epoch = 0;
    if (member.get_array().get(pair) || pair.size() != 2 || pair.at(0).get_int64().get(broker) ||
        pair.at(1).get_int64().get(broker_epoch) || broker < 0 ||
        broker > std::numeric_limits<int32_t>::max()) {
      return kBad;
    }
    p.isr.emplace_back(static_cast<int32_t>(broker), broker_epoch);
  }
  return p;
}

std::vector<std::vector<int32_t>> assign_replicas(const std::vector<int32_t>& brokers,
                                                  int32_t partitions, int32_t replication_factor,
                                                  size_t start) {
  std::vector<std::vector<int32_t>> out;
  const size_t n = brokers.size();
  for (int32_t p = 0; p < partitions; ++p) {
    const size_t first = (start + static_cast<size_t>(p)) % n;
    const size_t second_shift = static_cast<size_t>(p) / n;
    std::vector<int32_t> replicas{brokers[first]};
    // Kafka's replicaIndex: each later replica 1..n-1 places after the first, so none repeats.
    for (int32_t r = 1; r < replication_factor; ++r) {
      const size_t shift = 1 + (second_shift + static_cast<size_t>(r) - 1) % (n - 1);
      replicas.push_back(brokers[(first + shift) % n]);
    }
    out.push_back(std::move(replicas));
  }
  return out;
}

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
      .key("storage_revision")
      .value(b.storage_revision)
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
  int64_t storage = 0;
  if (!o->at_key("storage_revision").get_int64().get(storage) && storage > 0) {
    b.storage_revision = storage;
  }
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
  const std::string topics = layout.topics();
  const std::string partitions = layout.partitions();
  for (const auto& [key, kv] : keys) {
    if (key == layout.acls()) {
      view.acls = kv.value;
      view.acls_mod_revision = kv.mod_revision;
    } else if (key == layout.cluster()) {
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
        view.controller_key = key;
      }
    } else if (key.starts_with(topics)) {
      const std::string_view name = std::string_view(key).substr(topics.size());
      auto t = parse_topic_assignment(kv.value);
      if (!t || !is_valid_topic_name(name)) {
        ++bad;
        continue;
      }
      t->mod_revision = kv.mod_revision;
      view.topics.emplace(std::string(name), std::move(*t));
    } else if (key.starts_with(partitions)) {
      const std::string_view rest = std::string_view(key).substr(partitions.size());
      const auto slash = rest.rfind('/');
      auto state = parse_partition_state(kv.value);
      const auto p =
          slash == std::string_view::npos ? std::nullopt : parse_id(rest.substr(slash + 1));
      if (!state || !p) {
        ++bad;
        continue;
      }
      state->mod_revision = kv.mod_revision;
      view.partitions.emplace(std::pair{std::string(rest.substr(0, slash)), *p}, std::move(*state));
    }
  }
  if (skipped) *skipped = bad;
  return view;
}

}  // namespace sluice::cluster
