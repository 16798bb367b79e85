#include "broker/topic_registry.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <fstream>
#include <sstream>

#include "broker/errors.h"
#include "common/file.h"
#include "recovery/segment_recovery.h"
#include "segment/layout.h"

namespace sluice::broker {
namespace {

std::string properties_text(const std::map<std::string, std::string>& overrides) {
  std::string out = "# Per-topic overrides of the broker defaults (topic-level names).\n";
  for (const auto& [key, value] : overrides) out += fmt::format("{}={}\n", key, value);
  return out;
}

Result<std::map<std::string, std::string>> read_overrides(const std::filesystem::path& dir) {
  const auto path = dir / segment::kTopicConfigFile;
  std::ifstream in(path);
  if (!in) return std::map<std::string, std::string>{};
  std::stringstream text;
  text << in.rdbuf();
  try {
    return config::parse_properties(text.str(), path.string());
  } catch (const config::ConfigError& e) {
    spdlog::error("{}", e.what());
    return Errc::invalid_config;
  }
}

}  // namespace

TopicRegistry::TopicRegistry(Options options, GroupCommitter& committer)
    : options_(std::move(options)), committer_(committer) {}

TopicRegistry::~TopicRegistry() {
  for (const auto& log : all_partitions()) committer_.untrack(log.get());
}

Result<std::shared_ptr<PartitionLog>> TopicRegistry::open_partition(
    const std::filesystem::path& dir, std::string_view topic, int32_t partition,
    const config::TopicConfig& config) {
  PartitionLog::Options o;
  o.topic = std::string(topic);
  o.partition = partition;
  o.dir = dir;
  o.config = config;
  o.sync = options_.sync;
  o.clock_ms = options_.clock_ms;
  o.cache_retain_bytes = options_.cache_retain_bytes;
  o.on_append = options_.on_append;
  o.on_flushed = options_.on_flushed;
  auto log = PartitionLog::open(std::move(o));
  if (!log) return log.error();
  std::shared_ptr<PartitionLog> shared = std::move(*log);
  committer_.track(shared.get());
  return shared;
}

Result<std::unique_ptr<TopicRegistry>> TopicRegistry::open(Options options,
                                                           GroupCommitter& committer) {
  auto registry = std::make_unique<TopicRegistry>(std::move(options), committer);
  std::map<std::string, std::map<int32_t, std::filesystem::path>> found;
  for (const auto& log_dir : registry->options_.log_dirs) {
    std::error_code ec;
    std::filesystem::create_directories(log_dir, ec);
    if (ec) return ec;
    for (const auto& entry : std::filesystem::directory_iterator(log_dir, ec)) {
      if (!entry.is_directory()) continue;
      if (auto parsed = recovery::parse_partition_dir(entry.path())) {
        found[parsed->topic][parsed->partition] = entry.path();
      }
    }
    if (ec) return ec;
  }
  for (const auto& [name, dirs] : found) {
    Topic topic;
    auto overrides = read_overrides(dirs.begin()->second);
    if (!overrides) return overrides.error();
    try {
      topic.config = config::apply_topic_overrides(registry->options_.defaults, *overrides);
    } catch (const config::ConfigError& e) {
      spdlog::error("topic {}: {}", name, e.what());
      return Errc::invalid_config;
    }
    topic.overrides = std::move(*overrides);
    const int32_t count = dirs.rbegin()->first + 1;
    for (int32_t p = 0; p < count; ++p) {
      auto it = dirs.find(p);
      std::filesystem::path dir;
      if (it != dirs.end()) {
        dir = it->second;
      } else {
        // A partition directory vanished; recreate it empty rather than renumber partitions.
        dir = dirs.begin()->second.parent_path() / segment::partition_dir_name(name, p);
        spdlog::warn("topic {}: partition {} directory missing, recreating it empty", name, p);
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) return ec;
        if (auto r = write_file_atomically(dir / segment::kTopicConfigFile,
                                           properties_text(topic.overrides));
            !r) {
          return r.error();
        }
      }
      auto log = registry->open_partition(dir, name, p, topic.config);
      if (!log) return log.error();
      topic.partitions.push_back(std::move(*log));
    }
    registry->topics_.emplace(name, std::move(topic));
  }
  return registry;
}

const std::filesystem::path& TopicRegistry::least_loaded_dir() const {
  std::map<std::filesystem::path, size_t> load;
  for (const auto& d : options_.log_dirs) load[d] = 0;
  for (const auto& [name, topic] : topics_) {
    for (const auto& p : topic.partitions) ++load[p->dir().parent_path()];
  }
  const std::filesystem::path* best = &options_.log_dirs.front();
  for (const auto& d : options_.log_dirs) {
    if (load[d] < load[*best]) best = &d;
  }
  return *best;
}

DetailedResult<TopicDescription> TopicRegistry::create_topic(
    std::string_view name, int32_t partitions,
    const std::map<std::string, std::string>& overrides) {
  if (is_internal_topic(name)) return Errc::internal_topic;
  return create(name, partitions, overrides);
}

DetailedResult<TopicDescription> TopicRegistry::create_internal_topic(
    std::string_view name, int32_t partitions,
    const std::map<std::string, std::string>& overrides) {
  if (!is_internal_topic(name)) return Errc::invalid_topic_name;
  return create(name, partitions, overrides);
}

Result<std::shared_ptr<PartitionLog>> TopicRegistry::new_partition(
    const std::filesystem::path& log_dir, std::string_view name, int32_t partition,
    const config::TopicConfig& config, const std::map<std::string, std::string>& overrides) {
  const auto dir = log_dir / segment::partition_dir_name(name, partition);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ec;
  if (auto r = write_file_atomically(dir / segment::kTopicConfigFile, properties_text(overrides));
      !r) {
    return r.error();
  }
  return open_partition(dir, name, partition, config);
}

DetailedResult<TopicDescription> TopicRegistry::create(
    std::string_view name, int32_t partitions,
    const std::map<std::string, std::string>& overrides) {
  if (!is_valid_topic_name(name)) return Errc::invalid_topic_name;
  if (partitions < 1 || partitions > kMaxPartitions) return Errc::invalid_partition_count;
  auto applied = config::try_apply_topic_overrides(options_.defaults, overrides);
  if (!applied) return DetailedError(Errc::invalid_config, applied.error().what());
  const config::TopicConfig& config = *applied;
  std::lock_guard admin(admin_mu_);
  std::filesystem::path log_dir;
  {
    std::shared_lock lock(mu_);
    if (topics_.contains(name)) return Errc::topic_exists;
    log_dir = least_loaded_dir();
  }
  Topic topic{config, overrides, {}};
  for (int32_t p = 0; p < partitions; ++p) {
    auto log = new_partition(log_dir, name, p, config, overrides);
    if (!log) return log.error();
    topic.partitions.push_back(std::move(*log));
  }
  if (auto r = fsync_dir(log_dir); !r) return r.error();
  TopicDescription description{std::string(name), partitions, config, overrides};
  std::unique_lock lock(mu_);
  topics_.emplace(std::string(name), std::move(topic));
  return description;
}

Result<TopicDescription> TopicRegistry::add_partitions(std::string_view name, int32_t partitions) {
  if (partitions > kMaxPartitions) return Errc::invalid_partition_count;
  std::lock_guard admin(admin_mu_);
  std::filesystem::path log_dir;
  config::TopicConfig config;
  std::map<std::string, std::string> overrides;
  int32_t have = 0;
  {
    std::shared_lock lock(mu_);
    auto it = topics_.find(name);
    if (it == topics_.end()) return Errc::topic_not_found;
    have = static_cast<int32_t>(it->second.partitions.size());
    if (have > 0) log_dir = it->second.partitions.front()->dir().parent_path();
    config = it->second.config;
    overrides = it->second.overrides;
  }
  if (log_dir.empty()) log_dir = least_loaded_dir();
  std::vector<std::shared_ptr<PartitionLog>> added;
  for (int32_t p = have; p < partitions; ++p) {
    auto log = new_partition(log_dir, name, p, config, overrides);
    if (!log) return log.error();
    added.push_back(std::move(*log));
  }
  if (!added.empty()) {
    if (auto r = fsync_dir(log_dir); !r) return r.error();
  }
  std::unique_lock lock(mu_);
  auto& topic = topics_.find(name)->second;
  for (auto& log : added) topic.partitions.push_back(std::move(log));
  return TopicDescription{std::string(name), static_cast<int32_t>(topic.partitions.size()),
                          topic.config, topic.overrides};
}

Result<void> TopicRegistry::delete_topic(std::string_view name) {
  if (is_internal_topic(name)) return Errc::internal_topic;
  std::lock_guard admin(admin_mu_);
  Topic topic;
  {
    std::unique_lock lock(mu_);
    auto it = topics_.find(name);
    if (it == topics_.end()) return Errc::topic_not_found;
    topic = std::move(it->second);
    topics_.erase(it);
  }
  const auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
  for (const auto& log : topic.partitions) {
    committer_.untrack(log.get());
    // Rename first, as Kafka does: the new name is no partition directory, so a crash
    // before the removal finishes cannot bring the topic back half-deleted.
    auto doomed = log->dir();
    doomed += fmt::format(".{}{}", stamp, segment::kDeletedSuffix);
    std::error_code ec;
    std::filesystem::rename(log->dir(), doomed, ec);
    if (ec) return ec;
    if (auto r = fsync_dir(doomed.parent_path()); !r) return r.error();
    std::filesystem::remove_all(doomed, ec);
  }
  return {};
}

DetailedResult<TopicDescription> TopicRegistry::alter_config(
    std::string_view name, const std::map<std::string, std::optional<std::string>>& changes) {
  if (is_internal_topic(name)) return Errc::internal_topic;
  std::lock_guard admin(admin_mu_);  // no create or delete meanwhile, nor another change
  std::map<std::string, std::string> overrides;
  std::vector<std::shared_ptr<PartitionLog>> partitions;
  {
    std::shared_lock lock(mu_);
    auto it = topics_.find(name);
    if (it == topics_.end()) return Errc::topic_not_found;
    overrides = it->second.overrides;
    partitions = it->second.partitions;
  }
  for (const auto& [key, value] : changes) {
    if (value) {
      overrides[key] = *value;
    } else {
      overrides.erase(key);
    }
  }
  auto applied = config::try_apply_topic_overrides(options_.defaults, overrides);
  if (!applied) return DetailedError(Errc::invalid_config, applied.error().what());
  const config::TopicConfig& config = *applied;
  // open() reads the lowest partition's file: written last, so that a crash part way leaves
  // the old configuration in force everywhere.
  const auto text = properties_text(overrides);
  for (auto p = partitions.rbegin(); p != partitions.rend(); ++p) {
    if (auto r = write_file_atomically((*p)->dir() / segment::kTopicConfigFile, text); !r)
      return r.error();
  }
  {
    std::unique_lock lock(mu_);
    auto& topic = topics_.find(name)->second;
    topic.config = config;
    topic.overrides = overrides;
  }
  for (const auto& p : partitions) p->set_config(config);
  return TopicDescription{std::string(name), static_cast<int32_t>(partitions.size()), config,
                          std::move(overrides)};
}

std::vector<std::string> TopicRegistry::list() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, topic] : topics_) names.push_back(name);
  return names;
}

Result<TopicDescription> TopicRegistry::describe(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return Errc::topic_not_found;
  return TopicDescription{it->first, static_cast<int32_t>(it->second.partitions.size()),
                          it->second.config, it->second.overrides};
}

Result<std::shared_ptr<PartitionLog>> TopicRegistry::partition(std::string_view topic,
                                                               int32_t partition) const {
  std::shared_lock lock(mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return Errc::topic_not_found;
  if (partition < 0 || static_cast<size_t>(partition) >= it->second.partitions.size()) {
    return Errc::partition_not_found;
  }
  return it->second.partitions[static_cast<size_t>(partition)];
}

Result<std::vector<std::shared_ptr<PartitionLog>>> TopicRegistry::partitions(
    std::string_view topic) const {
  std::shared_lock lock(mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return Errc::topic_not_found;
  return it->second.partitions;
}

std::vector<std::shared_ptr<PartitionLog>> TopicRegistry::all_partitions() const {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<PartitionLog>> out;
  for (const auto& [name, topic] : topics_) {
    out.insert(out.end(), topic.partitions.begin(), topic.partitions.end());
  }
  return out;
}

Result<void> TopicRegistry::close() {
  std::error_code first;
  for (const auto& log : all_partitions()) {
    if (auto r = log->close(); !r && !first) first = r.error();
  }
  if (first) return first;
  return {};
}

}  // namespace sluice::broker
