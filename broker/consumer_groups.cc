#include "broker/consumer_groups.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "broker/errors.h"
#include "common/clock.h"

namespace sluice::broker {
namespace {

bool is_internal(std::string_view topic) { return topic.starts_with("__"); }

}  // namespace

std::map<std::string, std::vector<TopicPartition>> assign_partitions(
    AssignmentStrategy strategy, const std::map<std::string, std::vector<std::string>>& topics_of,
    const std::map<std::string, int32_t>& partitions_of) {
  std::map<std::string, std::vector<TopicPartition>> out;
  std::map<std::string, std::vector<std::string>> members_of;  // topic -> sorted members
  for (const auto& [member, topics] : topics_of) {
    out[member];
    for (const auto& t : topics) {
      if (partitions_of.contains(t)) members_of[t].push_back(member);
    }
  }
  if (strategy == AssignmentStrategy::range) {
    for (const auto& [topic, members] : members_of) {
      const int32_t n = partitions_of.at(topic);
      const auto m = static_cast<int32_t>(members.size());
      int32_t next = 0;
      for (int32_t i = 0; i < m; ++i) {
        const int32_t count = n / m + (i < n % m ? 1 : 0);
        for (int32_t k = 0; k < count; ++k) out[members[i]].push_back({topic, next++});
      }
    }
    return out;
  }
  std::vector<std::string> all;
  for (const auto& [member, topics] : topics_of) all.push_back(member);
  size_t cursor = 0;
  for (const auto& [topic, members] : members_of) {
    const std::set<std::string> eligible(members.begin(), members.end());
    for (int32_t p = 0; p < partitions_of.at(topic); ++p) {
      while (!eligible.contains(all[cursor % all.size()])) ++cursor;
      out[all[cursor % all.size()]].push_back({topic, p});
      ++cursor;
    }
  }
  return out;
}

ConsumerGroups::ConsumerGroups(Options options, TopicRegistry& registry, TopicAdmin& admin)
    : options_(std::move(options)),
      registry_(registry),
      store_(registry, admin, options_.offsets_replication_factor) {}

ConsumerGroups::~ConsumerGroups() {
  {
    std::lock_guard lock(sweep_mu_);
    stopping_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

int64_t ConsumerGroups::now_ms() const {
  if (options_.clock_ms) return options_.clock_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Result<OffsetsStore::LoadResult> ConsumerGroups::load() {
  std::lock_guard lock(mu_);
  auto loaded = store_.load([this](OffsetCommit c) {
    groups_[c.group].committed[{c.topic, c.partition}] = {c.offset, std::move(c.metadata)};
  });
  if (loaded && loaded->skipped > 0) {
    spdlog::warn("{}: skipped {} records that are not offset commits", kOffsetsTopic,
                 loaded->skipped);
  }
  return loaded;
}

void ConsumerGroups::coordinate(std::function<std::optional<int32_t>(int32_t)> epoch_of) {
  std::lock_guard lock(mu_);
  epoch_of_ = std::move(epoch_of);
  groups_.clear();
  coordinated_.clear();
}

bool ConsumerGroups::coordinates(int32_t partition) const {
  if (!epoch_of_) return true;
  auto taken = coordinated_.find(partition);
  return taken != coordinated_.end() && epoch_of_(partition) == taken->second;
}

Result<void> ConsumerGroups::take_over(int32_t partition, int32_t epoch) {
  std::lock_guard lock(mu_);
  if (auto taken = coordinated_.find(partition);
      taken != coordinated_.end() && taken->second == epoch) {
    return {};
  }
  std::erase_if(groups_,
                [&](const auto& g) { return offsets_partition_for(g.first) == partition; });
  coordinated_.erase(partition);
  auto on_commit = [this](OffsetCommit c) {
    groups_[c.group].committed[{c.topic, c.partition}] = {c.offset, std::move(c.metadata)};
  };
  auto on_instance = [this](InstanceRecord r) {
    auto& g = groups_[r.group];
    if (!r.state) {
      g.members.erase(r.instance);
      return;
    }
    Member m;
    positions_set(m);
    m.config = std::move(r.state->config);
    m.topics = std::move(r.state->topics);
    if (!r.state->pattern.empty()) {
      if (auto compiled = TopicPattern::compile(r.state->pattern)) {
        m.pattern = std::move(*compiled);
        m.pattern_source = r.state->pattern;
      } else {
        spdlog::warn("consumer group {} instance {}: stored pattern refused: {}", r.group,
                     r.instance, compiled.error().message());
      }
    }
    m.manual = r.state->manual;
    m.assigned = std::move(r.state->assigned);
    g.members.insert_or_assign(r.instance, std::move(m));
  };
  auto loaded = store_.load(on_commit, on_instance, partition);
  if (!loaded) return loaded.error();
  const int64_t now = now_ms();
  size_t members = 0;
  for (auto& [name, g] : groups_) {
    if (offsets_partition_for(name) != partition) continue;
    for (auto& [_, m] : g.members) m.last_seen_ms = m.last_auto_commit_ms = now;
    members += g.members.size();
    rebalance(g, true);
  }
  coordinated_[partition] = epoch;
  spdlog::info("coordinating the groups of {}-{} at epoch {}: {} commits, {} instances",
               kOffsetsTopic, partition, epoch, loaded->commits, members);
  return {};
}

InstanceState ConsumerGroups::state_of(const Member& m) {
  InstanceState s;
  s.config = m.config;
  s.topics = m.topics;
  if (m.pattern) s.pattern = m.pattern_source;
  s.manual = m.manual;
  if (m.manual) s.assigned = m.assigned;
  return s;
}

Result<void> ConsumerGroups::persist(std::string_view group, std::string_view instance,
                                     std::optional<InstanceState> state) {
  if (!epoch_of_) return {};
  const InstanceRecord record{std::string(group), std::string(instance), std::move(state)};
  if (auto r = store_.append(record); !r) return r.error();
  return {};
}

void ConsumerGroups::start_sweeper(std::chrono::milliseconds period) {
  sweeper_ = std::thread([this, period] {
    std::unique_lock lock(sweep_mu_);
    while (!sweep_cv_.wait_for(lock, period, [this] { return stopping_; })) {
      lock.unlock();
      expire_idle();
      lock.lock();
    }
  });
}

std::vector<std::string> ConsumerGroups::matched_topics(const Member& m,
                                                        const std::vector<std::string>& all) {
  if (!m.pattern) return m.topics;
  std::vector<std::string> out;
  for (const auto& t : all) {
    if (!is_internal(t) && m.pattern->matches(t)) out.push_back(t);
  }
  return out;
}

void ConsumerGroups::rebalance(Group& group, bool force) {
  const auto all = registry_.list();
  std::map<std::string, std::vector<std::string>> topics_of;
  std::map<std::string, int32_t> partitions_of;
  for (auto& [name, m] : group.members) {
    if (m.manual) continue;
    auto topics = matched_topics(m, all);
    for (const auto& t : topics) {
      if (partitions_of.contains(t)) continue;
      if (auto d = registry_.describe(t)) partitions_of[t] = d->partitions;
    }
    topics_of[name] = std::move(topics);
  }
  auto assigned = assign_partitions(options_.strategy, topics_of, partitions_of);
  bool moved = false;
  for (auto& [name, parts] : assigned) {
    auto& m = group.members.find(name)->second;
    if (m.assigned == parts) continue;
    moved = true;
    const std::set<TopicPartition> kept(parts.begin(), parts.end());
    std::erase_if(m.positions, [&](const auto& p) { return !kept.contains(p.first); });
    positions_set(m);
    m.assigned = std::move(parts);
  }
  if (force || moved) ++group.generation;
}

Result<ConsumerGroups::Member*> ConsumerGroups::member(std::string_view group,
                                                       std::string_view instance) {
  // The groups of a partition this broker stopped coordinating were forgotten: their
  // instances are not gone, only elsewhere (or back here after the next take-over).
  if (!coordinates(offsets_partition_for(group))) return ConsumerErrc::not_coordinator;
  auto g = groups_.find(group);
  if (g == groups_.end()) return ConsumerErrc::instance_not_found;
  auto m = g->second.members.find(instance);
  if (m == g->second.members.end()) return ConsumerErrc::instance_not_found;
  m->second.last_seen_ms = now_ms();
  rebalance(g->second, false);
  return &m->second;
}

Result<void> ConsumerGroups::create(std::string_view group, InstanceConfig config) {
  // Every append of a commit finds the topic: instances come first.
  if (auto r = store_.ensure_topic(); !r) return r.error();
  std::lock_guard lock(mu_);
  if (!coordinates(offsets_partition_for(group))) return ConsumerErrc::not_coordinator;
  auto& g = groups_[std::string(group)];
  if (g.members.contains(config.name)) return ConsumerErrc::instance_exists;
  Member m;
  positions_set(m);
  m.last_seen_ms = m.last_auto_commit_ms = now_ms();
  std::string name = config.name;
  m.config = std::move(config);
  if (auto r = persist(group, name, state_of(m)); !r) return r.error();
  g.members.emplace(std::move(name), std::move(m));
  rebalance(g, true);
  return {};
}

Result<void> ConsumerGroups::remove(std::string_view group, std::string_view instance) {
  std::lock_guard lock(mu_);
  auto m = member(group, instance);
  if (!m) return m.error();
  auto& g = groups_.find(group)->second;
  if ((*m)->config.auto_commit) auto_commit(group, g, **m);
  if (auto r = persist(group, instance, std::nullopt); !r) return r.error();
  g.members.erase(g.members.find(instance));
  rebalance(g, true);
  return {};
}

Result<InstanceConfig> ConsumerGroups::config(std::string_view group, std::string_view instance) {
  std::lock_guard lock(mu_);
  auto m = member(group, instance);
  if (!m) return m.error();
  return (*m)->config;
}

DetailedResult<void> ConsumerGroups::subscribe(std::string_view group, std::string_view instance,
                                               std::vector<std::string> topics,
                                               std::string pattern) {
  // Compiled before taking the lock: only matching happens under it.
  std::optional<TopicPattern> compiled;
  if (!pattern.empty()) {
    auto c = TopicPattern::compile(pattern);
    if (!c) return c.error();
    compiled = std::move(*c);
  }
  std::lock_guard lock(mu_);
  auto m = member(group, instance);
  if (!m) return m.error();
  if ((*m)->manual) {
    return DetailedError(
        ConsumerErrc::illegal_state,
        "Illegal state: subscription to topics, partitions and pattern are mutually exclusive");
  }
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  InstanceState next = state_of(**m);
  next.topics = topics;
  next.pattern = pattern;
  if (auto r = persist(group, instance, std::move(next)); !r) {
    return DetailedError(r.error(), std::string(kOffsetsTopic));
  }
  (*m)->topics = std::move(topics);
  (*m)->pattern = std::move(compiled);
  (*m)->pattern_source = std::move(pattern);
  rebalance(groups_.find(group)->second, true);
  return {};
}

Result<void> ConsumerGroups::unsubscribe(std::string_view group, std::string_view instance) {
  std::lock_guard lock(mu_);
  auto m = member(group, instance);
  if (!m) return m.error();
  InstanceState next{(*m)->config, {}, {}, false, {}};
  if (auto r = persist(group, instance, std::move(next)); !r) return r.error();
  (*m)->topics.clear();
  (*m)->pattern.reset();
  (*m)->pattern_source.clear();
  (*m)->manual = false;
  rebalance(groups_.find(group)->second, true);
  return {};
}

Result<std::vector<std::string>> ConsumerGroups::subscription(std::string_view group,
                                                              std::string_view instance) {
  std::lock_guard lock(mu_);
  auto m = member(group, instance);
  if (!m) return m.error();
  return matched_topics(**m, registry_.list());
}

DetailedResult<void> ConsumerGroups::assign(std::string_view group, std::string_view instance,
                                            std::vector<TopicPartition> partitions) {
  std::lock_guard lock(mu_);
  auto m = member(group, instance);
  if (!m) return m.error();
  for (const auto& tp : partitions) {
    auto log = registry_.partition(tp.topic, tp.partition);
    if (!log) return DetailedError(log.error(), tp.topic);
  }
  if (!(*m)->topics.empty() || (*m)->pattern) return ConsumerErrc::illegal_state;
  std::sort(partitions.begin(), partitions.end());
  partitions.erase(std::unique(partitions.begin(), partitions.end()), partitions.end());
  if (auto r = persist(group, instance, InstanceState{(*m)->config, {}, {}, true, partitions});
      !r) {
    return DetailedError(r.error(), std::string(kOffsetsTopic));
  }
  const std::set<TopicPartition> kept(partitions.begin(), partitions.end());
  std::erase_if((*m)->positions, [&](const auto& p) { return !kept.contains(p.first); });
  positions_set(**m);
  (*m)->manual = true;
  (*m)->assigned = std::move(partitions);
  rebalance(groups_.find(group)->second, true);
  return {};
}

Result<std::vector<TopicPartition>> ConsumerGroups::assignment(std::string_view group,
                                                               std::string_view instance) {
  std::lock_guard lock(mu_);
  auto m = member(group, instance);
  if (!m) return m.error();
  return (*m)->assigned;
}

DetailedResult<ConsumerGroups::FetchPlan> ConsumerGroups::begin_fetch(std::string_view group,
                                                                      std::string_view instance,
                                                                      const RemoteBounds& remote) {
  std::lock_guard lock(mu_);
  auto found = member(group, instance);
  if (!found) return found.error();
  Member& m = **found;
  Group& g = groups_.find(group)->second;
  if (m.config.auto_commit &&
      now_ms() - m.last_auto_commit_ms >= options_.auto_commit_interval_ms) {
    auto_commit(group, g, m);
  }
  FetchPlan plan{m.config, {}};
  for (const auto& tp : m.assigned) {
    auto log = registry_.partition(tp.topic, tp.partition);
    if (!log) continue;  // deleted since it was assigned
    const auto bounds = remote.find(tp);
    const bool is_remote = bounds != remote.end();
    const Offset start = is_remote ? bounds->second.start : (*log)->start_offset();
    const Offset end = is_remote ? bounds->second.high_watermark : (*log)->high_watermark();
    const auto in_range = [&](int64_t o) { return o >= start.value && o <= end.value; };
    auto pos = m.positions.find(tp);
    if (pos == m.positions.end() || !in_range(pos->second)) {
      int64_t resolved = 0;
      auto c = g.committed.find(tp);
      if (c != g.committed.end() && in_range(c->second.offset)) {
        resolved = c->second.offset;
      } else if (m.config.reset == OffsetReset::earliest) {
        resolved = start.value;
      } else if (m.config.reset == OffsetReset::latest) {
        resolved = end.value;
      } else {
        return DetailedError(
            ConsumerErrc::illegal_state,
            fmt::format(
                "Illegal state: no valid committed offset for {}-{} and auto.offset.reset is none",
                tp.topic, tp.partition));
      }
      pos = m.positions.insert_or_assign(tp, resolved).first;
      positions_set(m);
    }
    plan.targets.push_back({tp, std::move(*log), Offset{pos->second}, is_remote});
  }
  plan.positions_stamp = m.positions_stamp;
  return plan;
}

void ConsumerGroups::end_fetch(std::string_view group, std::string_view instance,
                               const FetchPlan& plan, std::span<const Advance> advances) {
  std::lock_guard lock(mu_);
  auto g = groups_.find(group);
  if (g == groups_.end()) return;
  auto m = g->second.members.find(instance);
  if (m == g->second.members.end()) return;
  m->second.last_seen_ms = now_ms();
  if (m->second.positions_stamp != plan.positions_stamp) return;
  for (const auto& a : advances) {
    auto pos = m->second.positions.find(a.tp);
    if (pos != m->second.positions.end() && pos->second == a.from.value) pos->second = a.to.value;
  }
}

DetailedResult<void> ConsumerGroups::seek(
    std::string_view group, std::string_view instance,
    std::span<const std::pair<TopicPartition, int64_t>> offsets) {
  std::lock_guard lock(mu_);
  auto m = member(group, instance);
  if (!m) return m.error();
  for (const auto& [tp, offset] : offsets) {
    if (offset < 0) {
      return DetailedError(
          ConsumerErrc::invalid_offset,
          fmt::format("Offset {} for {}-{} is negative", offset, tp.topic, tp.partition));
    }
    if (!std::binary_search((*m)->assigned.begin(), (*m)->assigned.end(), tp)) {
      return DetailedError(ConsumerErrc::illegal_state,
                           fmt::format("Illegal state: no current assignment for partition {}-{}",
                                       tp.topic, tp.partition));
    }
  }
  for (const auto& [tp, offset] : offsets) (*m)->positions[tp] = offset;
  positions_set(**m);
  return {};
}

DetailedResult<void> ConsumerGroups::seek_to_edge(std::string_view group, std::string_view instance,
                                                  std::span<const TopicPartition> partitions,
                                                  bool beginning, const RemoteBounds& remote) {
  std::vector<std::pair<TopicPartition, int64_t>> offsets;
  for (const auto& tp : partitions) {
    auto log = registry_.partition(tp.topic, tp.partition);
    if (!log) return DetailedError(log.error(), tp.topic);
    if (auto b = remote.find(tp); b != remote.end()) {
      offsets.emplace_back(tp, beginning ? b->second.start.value : b->second.high_watermark.value);
      continue;
    }
    offsets.emplace_back(tp,
                         beginning ? (*log)->start_offset().value : (*log)->high_watermark().value);
  }
  return seek(group, instance, offsets);
}

DetailedResult<std::shared_ptr<PartitionLog>> ConsumerGroups::commit(std::string_view group,
                                                                     std::string_view instance,
                                                                     std::vector<Commit> commits,
                                                                     const RemoteBounds& remote) {
  std::lock_guard lock(mu_);
  auto m = member(group, instance);
  if (!m) return m.error();
  for (const auto& c : commits) {
    auto log = registry_.partition(c.tp.topic, c.tp.partition);
    if (!log) return DetailedError(log.error(), c.tp.topic);
    // Another broker's partition: its leader's log start and high watermark (the leader's end
    // may be further on, but a consumer has seen nothing past the high watermark).
    const auto bounds = remote.find(c.tp);
    const bool is_remote = bounds != remote.end();
    const Offset start = is_remote ? bounds->second.start : (*log)->start_offset();
    const Offset end = is_remote ? bounds->second.high_watermark : (*log)->end_offset();
    if (c.offset < start.value || c.offset > end.value) {
      return DetailedError(
          ConsumerErrc::invalid_offset,
          fmt::format("Cannot commit {}-{} at next offset {}: committed offsets must lie in "
                      "[{}, {}] (the log start and {})",
                      c.tp.topic, c.tp.partition, c.offset, start.value, end.value,
                      is_remote ? "the leader's high watermark" : "end"));
    }
  }
  if (commits.empty()) {
    for (const auto& [tp, offset] : (*m)->positions) commits.push_back({tp, offset, {}});
  }
  if (commits.empty()) return std::shared_ptr<PartitionLog>();
  auto log = append_commits(group, groups_.find(group)->second, std::move(commits));
  if (!log) return DetailedError(log.error(), std::string(kOffsetsTopic));
  return std::move(*log);
}

Result<std::shared_ptr<PartitionLog>> ConsumerGroups::append_commits(std::string_view group,
                                                                     Group& g,
                                                                     std::vector<Commit> commits) {
  const int64_t wall_ms = wall_clock_ms();
  std::vector<OffsetCommit> records;
  for (const auto& c : commits) {
    records.push_back(
        {std::string(group), c.tp.topic, c.tp.partition, c.offset, c.metadata, wall_ms});
  }
  auto log = store_.append(group, records);
  if (!log) return log.error();
  for (auto& c : commits) g.committed[c.tp] = {c.offset, std::move(c.metadata)};
  return log;
}

Result<ConsumerGroups::CompactionResult> ConsumerGroups::compact_offsets(uint64_t min_bytes) {
  constexpr size_t kCommitsPerBatch = 1000;
  std::lock_guard lock(mu_);
  CompactionResult result;
  auto description = registry_.describe(kOffsetsTopic);
  if (!description) {
    if (description.error() == Errc::topic_not_found) return result;
    return description.error();
  }
  const int64_t wall_ms = wall_clock_ms();
  for (int32_t p = 0; p < description->partitions; ++p) {
    auto found = registry_.partition(kOffsetsTopic, p);
    if (!found) return found.error();
    PartitionLog& log = **found;
    if (!coordinates(p)) continue;  // another broker leads it (cluster mode)
    const uint64_t before = log.size_bytes();
    if (before < min_bytes || before < 2 * compacted_bytes_[p]) continue;
    // Every commit below `snapshot` is in groups_ (loaded at start-up or appended since, all
    // under mu_), so the snapshot replaces all of them.
    const Offset snapshot = log.end_offset();
    for (const auto& [name, g] : groups_) {
      if (offsets_partition_for(name) != p) continue;
      std::vector<OffsetCommit> commits;
      for (const auto& [tp, c] : g.committed) {
        commits.push_back({name, tp.topic, tp.partition, c.offset, c.metadata, wall_ms});
        if (commits.size() == kCommitsPerBatch) {
          if (auto r = store_.append(name, commits); !r) return r.error();
          result.commits_kept += commits.size();
          commits.clear();
        }
      }
      if (!commits.empty()) {
        if (auto r = store_.append(name, commits); !r) return r.error();
        result.commits_kept += commits.size();
      }
      if (!epoch_of_ || g.members.empty()) continue;
      std::vector<InstanceRecord> instances;
      for (const auto& [instance, m] : g.members)
        instances.push_back({name, instance, state_of(m)});
      if (auto r = store_.append(name, instances); !r) return r.error();
    }
    if (auto r = log.flush(); !r) return r.error();
    if (auto r = log.delete_before(snapshot); !r) return r.error();
    compacted_bytes_[p] = log.size_bytes();
    result.bytes_deleted += before > compacted_bytes_[p] ? before - compacted_bytes_[p] : 0;
    ++result.partitions;
  }
  return result;
}

void ConsumerGroups::auto_commit(std::string_view group, Group& g, Member& m) {
  m.last_auto_commit_ms = now_ms();
  std::vector<Commit> commits;
  for (const auto& [tp, offset] : m.positions) {
    auto c = g.committed.find(tp);
    if (c == g.committed.end() || c->second.offset != offset) commits.push_back({tp, offset, {}});
  }
  if (commits.empty()) return;
  if (auto r = append_commits(group, g, std::move(commits)); !r) {
    spdlog::error("auto-commit of group {} instance {} failed: {}", group, m.config.name,
                  r.error().message());
  }
}

Result<std::vector<std::pair<TopicPartition, ConsumerGroups::Committed>>> ConsumerGroups::committed(
    std::string_view group, std::string_view instance, std::span<const TopicPartition> partitions) {
  std::lock_guard lock(mu_);
  auto m = member(group, instance);
  if (!m) return m.error();
  const auto& committed = groups_.find(group)->second.committed;
  std::vector<std::pair<TopicPartition, Committed>> out;
  if (partitions.empty()) {
    for (const auto& c : committed) out.emplace_back(c);
    return out;
  }
  for (const auto& tp : partitions) {
    if (auto c = committed.find(tp); c != committed.end()) out.emplace_back(*c);
  }
  return out;
}

size_t ConsumerGroups::expire_idle() {
  std::lock_guard lock(mu_);
  const int64_t now = now_ms();
  size_t expired = 0;
  // Groups this broker no longer coordinates are forgotten (their next coordinator has them),
  // and rebuilt from the log should it coordinate them again, even at the same epoch.
  std::set<int32_t> gone;
  for (const auto& [partition, epoch] : coordinated_) {
    if (!coordinates(partition)) gone.insert(partition);
  }
  for (int32_t partition : gone) coordinated_.erase(partition);
  std::erase_if(groups_, [&](const auto& g) {
    return epoch_of_ && !coordinated_.contains(offsets_partition_for(g.first));
  });
  for (auto& entry : groups_) {
    const std::string& name = entry.first;
    Group& g = entry.second;
    const size_t n = std::erase_if(g.members, [&](const auto& m) {
      if (now - m.second.last_seen_ms <= options_.instance_timeout_ms) return false;
      if (auto r = persist(name, m.first, std::nullopt); !r) {
        spdlog::error("consumer group {}: cannot record the expiry of instance {}: {}", name,
                      m.first, r.error().message());
        return false;
      }
      return true;
    });
    if (n == 0) continue;
    spdlog::info("consumer group {}: {} idle instances expired", name, n);
    expired += n;
    rebalance(g, true);
  }
  return expired;
}

int64_t ConsumerGroups::generation(std::string_view group) const {
  std::lock_guard lock(mu_);
  auto g = groups_.find(group);
  return g == groups_.end() ? 0 : g->second.generation;
}

std::vector<std::string> ConsumerGroups::group_names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, g] : groups_) {
    if (!g.members.empty() || !g.committed.empty()) out.push_back(name);
  }
  return out;
}

std::optional<ConsumerGroups::GroupDescription> ConsumerGroups::describe(std::string_view group) {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) return std::nullopt;
  auto& g = it->second;
  if (g.members.empty() && g.committed.empty()) return std::nullopt;
  // As a member's next call would: a topic created since may match a subscription.
  rebalance(g, false);
  GroupDescription d{it->first, g.generation, options_.strategy, {}, {}};
  for (const auto& [name, m] : g.members) d.members.emplace_back(name, m.assigned);
  for (const auto& [tp, c] : g.committed) d.committed.emplace(tp, c.offset);
  return d;
}

std::vector<ConsumerGroups::PartitionLag> ConsumerGroups::lags(
    const GroupDescription& group) const {
  std::map<TopicPartition, std::string> holder;
  for (const auto& [name, assigned] : group.members) {
    for (const auto& tp : assigned) holder[tp] = name;
  }
  std::vector<PartitionLag> out;
  for (const auto& [tp, offset] : group.committed) {
    auto log = registry_.partition(tp.topic, tp.partition);
    if (!log) continue;
    auto h = holder.find(tp);
    out.push_back({tp, offset, (*log)->high_watermark().value, h == holder.end() ? "" : h->second});
  }
  return out;
}

}  // namespace sluice::broker
