#include "broker/broker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "broker/errors.h"
#include "common/file.h"
#include "recovery/checkpoint.h"
#include "segment/layout.h"

namespace sluice::broker {

void SyncStats::record(uint64_t ns) {
  count.fetch_add(1, std::memory_order_relaxed);
  total_ns.fetch_add(ns, std::memory_order_relaxed);
  uint64_t max = max_ns.load(std::memory_order_relaxed);
  while (ns > max && !max_ns.compare_exchange_weak(max, ns, std::memory_order_relaxed)) {
  }
  const double seconds = static_cast<double>(ns) / 1e9;
  size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  in_bucket[bucket].fetch_add(1, std::memory_order_relaxed);
}

Broker::Broker(config::BrokerConfig config, Hooks hooks)
    : config_(std::move(config)), hooks_(std::move(hooks)) {}

Broker::~Broker() {
  if (started_) (void)stop();
}

namespace {

// A log dir's meta.properties: its keys, or nullopt when the dir has none.
Result<std::optional<std::map<std::string, std::string>>> read_meta(
    const std::filesystem::path& dir) {
  const auto path = dir / segment::kMetaFile;
  std::ifstream in(path);
  if (!in) return std::optional<std::map<std::string, std::string>>();
  std::stringstream text;
  text << in.rdbuf();
  try {
    return std::optional(config::parse_properties(text.str(), path.string()));
  } catch (const config::ConfigError& e) {
    spdlog::error("{}", e.what());
    return Errc::invalid_config;
  }
}

// meta.properties' storage.revision; 0 when it names none.
Result<int64_t> stored_storage_revision(const std::filesystem::path& dir) {
  auto meta = read_meta(dir);
  if (!meta) return meta.error();
  if (!*meta) return int64_t{0};
  auto it = (*meta)->find("storage.revision");
  if (it == (*meta)->end()) return int64_t{0};
  int64_t revision = 0;
  const auto& v = it->second;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), revision);
  if (ec != std::errc{} || end != v.data() + v.size() || revision < 0) {
    spdlog::error("{}: storage.revision '{}' is not a revision",
                  (dir / segment::kMetaFile).string(), v);
    return Errc::invalid_config;
  }
  return revision;
}

}  // namespace

Result<std::optional<std::string>> stored_cluster_id(const std::vector<std::string>& log_dirs) {
  for (const auto& dir : log_dirs) {
    auto meta = read_meta(dir);
    if (!meta) return meta.error();
    if (!*meta) continue;
    if (auto it = (*meta)->find("cluster.id"); it != (*meta)->end() && !it->second.empty()) {
      return std::optional<std::string>(it->second);
    }
  }
  return std::optional<std::string>();
}

std::string new_cluster_id() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device rd;
  std::string id;
  for (int i = 0; i < 22; ++i) id += kAlphabet[rd() % 64];
  return id;
}

Result<void> Broker::load_identity() {
  auto stored = stored_cluster_id(config_.log_dirs);
  if (!stored) return stored.error();
  if (*stored) {
    if (!cluster_id_.empty() && cluster_id_ != **stored) return Errc::invalid_config;
    cluster_id_ = **stored;
  }
  if (cluster_id_.empty()) cluster_id_ = new_cluster_id();
  std::string meta =
      fmt::format("version=0\ncluster.id={}\nbroker.id={}\n", cluster_id_, config_.broker_id);
  if (new_storage_revision_ > 0)
    meta += fmt::format("storage.revision={}\n", new_storage_revision_);
  storage_revision_ = 0;
  for (const auto& dir : config_.log_dirs) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return ec;
    const auto path = std::filesystem::path(dir) / segment::kMetaFile;
    if (std::filesystem::exists(path) && !(renew_storage_ && new_storage_revision_ > 0)) {
      auto revision = stored_storage_revision(dir);
      if (!revision) return revision.error();
      storage_revision_ = std::max(storage_revision_, *revision);
      continue;
    }
    if (auto r = write_file_atomically(path, meta); !r) return r.error();
    storage_revision_ = std::max(storage_revision_, new_storage_revision_);
  }
  return {};
}

Result<void> Broker::start() {
  if (auto r = load_identity(); !r) return r;
  GroupCommitter::Options commit_options;
  if (config_.log_flush_policy == config::FlushPolicy::interval) {
    commit_options.interval = std::chrono::milliseconds(config_.log_flush_interval_ms);
  }
  commit_options.direct_writes = config_.log_direct_io;
  committer_ = std::make_unique<GroupCommitter>(commit_options);
  TopicRegistry::Options options;
  for (const auto& dir : config_.log_dirs) options.log_dirs.emplace_back(dir);
  options.defaults = config_.topic_defaults;
  options.cache_retain_bytes = config_.log_cache_retain_bytes;
  options.sync = [this](int fd) {
    const auto start = std::chrono::steady_clock::now();
    auto r = hooks_.sync ? hooks_.sync(fd) : fdatasync_fd(fd);
    const auto ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::steady_clock::now() - start)
                                              .count());
    sync_stats_.record(ns);
    return r;
  };
  options.on_append = [this](PartitionLog& log, bool rolled) {
    committer_->notify_appended(log, rolled);
    if (hooks_.on_append) hooks_.on_append(log);
  };
  options.on_flushed = [this](PartitionLog& log) {
    if (auto* r = replication_.load(std::memory_order_acquire)) r->flushed(log);
  };
  auto registry = TopicRegistry::open(std::move(options), *committer_);
  if (!registry) return registry.error();
  registry_ = std::move(*registry);
  admin_ = std::make_unique<TopicAdminSwitch>(*registry_);
  worker_ = std::make_unique<Worker>();
  producer_ =
      std::make_unique<Producer>(*registry_, *admin_, *committer_, *worker_, config_, replication_);
  if (auto r = start_groups(); !r) return r;
  retention_thread_ = std::thread([this] { retention_loop(); });
  scrubber_ = std::make_unique<Scrubber>(*registry_, config_.log_scrub_bytes_per_second);
  scrubber_->start();
  started_ = true;
  return {};
}

Result<void> Broker::stop() {
  if (!started_) return {};
  started_ = false;
  scrubber_->stop();
  {
    std::lock_guard lock(retention_mu_);
    stopping_ = true;
  }
  retention_cv_.notify_all();
  if (retention_thread_.joinable()) retention_thread_.join();
  groups_.reset();
  worker_->stop();  // runs what is queued: its callers are waiting
  committer_->stop();
  auto r = registry_->close();
  if (r) r = write_clean_shutdown();
  producer_.reset();
  registry_.reset();
  worker_.reset();
  committer_.reset();
  return r;
}

// The recovery point of every partition (all of it is flushed by now), then the marker that
// tells the next start the stop was clean; in that order, so a crash in between is unclean.
Result<void> Broker::write_clean_shutdown() {
  std::map<std::filesystem::path, recovery::RecoveryPoints> points;
  for (const auto& dir : config_.log_dirs) points[std::filesystem::path(dir)];
  for (const auto& log : registry_->all_partitions()) {
    points[log->dir().parent_path()][log->dir().filename().string()] = log->flushed_offset();
  }
  for (const auto& [dir, dir_points] : points) {
    if (auto r = recovery::write_recovery_checkpoint(dir, dir_points); !r) return r;
    if (auto r = recovery::mark_clean_shutdown(dir); !r) return r;
  }
  return {};
}

Result<void> Broker::start_groups() {
  ConsumerGroups::Options options;
  options.strategy = config_.consumer_assignment_strategy == "roundrobin"
                         ? AssignmentStrategy::round_robin
                         : AssignmentStrategy::range;
  options.instance_timeout_ms = config_.consumer_instance_timeout_ms;
  options.auto_commit_interval_ms = config_.consumer_auto_commit_interval_ms;
  options.offsets_replication_factor = config_.offsets_topic_replication_factor;
  groups_ = std::make_unique<ConsumerGroups>(options, *registry_, *admin_);
  auto loaded = groups_->load();
  if (!loaded) {
    spdlog::error("loading committed offsets from {} failed: {}", kOffsetsTopic,
                  loaded.error().message());
    return loaded.error();
  }
  if (loaded->commits > 0) spdlog::info("loaded {} offset commits", loaded->commits);
  // Expiry is checked a few times per timeout, at most once a second.
  const auto period = std::clamp<int64_t>(config_.consumer_instance_timeout_ms / 4, 1, 1000);
  groups_->start_sweeper(std::chrono::milliseconds(period));
  return {};
}

void Broker::enforce_retention() {
  // Offset commits replaced by later ones go once a partition of the topic holds two segments.
  if (auto r = groups_->compact_offsets(2 * kOffsetsSegmentBytes); !r) {
    spdlog::error("compaction of {} failed: {}", kOffsetsTopic, r.error().message());
  } else if (r->partitions > 0) {
    spdlog::info("compacted {} partitions of {}: {} commits kept, {} bytes deleted", r->partitions,
                 kOffsetsTopic, r->commits_kept, r->bytes_deleted);
  }
  for (const auto& log : registry_->all_partitions()) {
    auto r = log->apply_retention();
    if (!r) {
      spdlog::error("retention of {}-{} failed: {}", log->topic(), log->partition(),
                    r.error().message());
    } else if (r->segments_deleted > 0) {
      spdlog::info("retention deleted {} segments ({} bytes) of {}-{}", r->segments_deleted,
                   r->bytes_deleted, log->topic(), log->partition());
    }
  }
}

void Broker::retention_loop() {
  const auto period = std::chrono::milliseconds(config_.log_retention_check_interval_ms);
  std::unique_lock lock(retention_mu_);
  while (!retention_cv_.wait_for(lock, period, [this] { return stopping_; })) {
    lock.unlock();
    enforce_retention();
    lock.lock();
  }
}

}  // namespace sluice::broker
