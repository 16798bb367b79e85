#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "broker/consumer_types.h"
#include "broker/errors.h"
#include "broker/offsets_store.h"
#include "broker/partition_log.h"
#include "broker/topic_admin.h"
#include "broker/topic_pattern.h"
#include "broker/topic_registry.h"
#include "common/result.h"

namespace sluice::broker {

// Assigns partitions to the members subscribed to their topics, sorted by member name: range
// splits each topic's partitions into contiguous runs (the first members get one more); round
// robin deals all partitions, sorted by topic and partition, in turn to the members subscribed
// to each. Every subscribed partition goes to exactly one member.
std::map<std::string, std::vector<TopicPartition>> assign_partitions(
    AssignmentStrategy strategy, const std::map<std::string, std::vector<std::string>>& topics_of,
    const std::map<std::string, int32_t>& partitions_of);

// The consumer-group coordinator: groups, their member instances, subscriptions or manual
// assignments, positions and committed offsets.
//
// Rebalancing: every join, leave, expiry and subscription change, and any change of the
// partitions the subscriptions match, bumps the group's generation and recomputes every
// member's assignment at once; members see it on their next call. A member that loses a
// partition loses its position there; the member that gains it starts from the group's
// committed offset, or auto.offset.reset when there is none (or it is out of range).
// Durability: commit() appends to kOffsetsTopic and returns the log; the committed offset is
// visible at once and durable once the caller's GroupCommitter request completes (and, in
// cluster mode, the partition's in-sync replicas confirmed it). In cluster mode the instance
// changes append too (see coordinate()); the caller awaits the partition's end the same way.
// Threading:
// every method is thread-safe (one mutex; appends of commits happen under it so a group's
// commits reach the log in the order they are applied). Lifetimes: the registry outlives this.
class ConsumerGroups {
 public:
  struct Options {
    AssignmentStrategy strategy = AssignmentStrategy::range;
    int64_t instance_timeout_ms = 300000;
    int64_t auto_commit_interval_ms = 5000;
    std::function<int64_t()> clock_ms;  // steady milliseconds unless a test sets one
    int32_t offsets_replication_factor = 3;
  };

  // Cluster mode: the log start and high watermark of a partition another broker leads, as its
  // leader stated them. Positions, seeks and commits of such a partition are checked against
  // these rather than against this broker's replica, which may lag or hold nothing.
  struct Bounds {
    Offset start;
    Offset high_watermark;
  };
  using RemoteBounds = std::map<TopicPartition, Bounds>;

  // A partition to fetch: its log and the position to fetch from. `remote`: another broker
  // leads it (it was in begin_fetch's RemoteBounds), so its records come from that leader.
  struct FetchTarget {
    TopicPartition tp;
    std::shared_ptr<PartitionLog> log;
    Offset position;
    bool remote = false;
  };
  struct FetchPlan {
    InstanceConfig config;
    std::vector<FetchTarget> targets;
    // When the member's positions were last set other than by a fetch (see end_fetch).
    int64_t positions_stamp = 0;
  };
  struct Advance {
    TopicPartition tp;
    Offset from;
    Offset to;
  };
  struct Commit {
    TopicPartition tp;
    int64_t offset = 0;  // the next offset to consume
    std::string metadata;
  };
  struct Committed {
    int64_t offset = 0;
    std::string metadata;
  };

  // `admin` creates kOffsetsTopic (with offsets_replication_factor replicas in cluster mode).
  ConsumerGroups(Options options, TopicRegistry& registry, TopicAdmin& admin);
  ~ConsumerGroups();
  ConsumerGroups(const ConsumerGroups&) = delete;
  ConsumerGroups& operator=(const ConsumerGroups&) = delete;

  // Loads the committed offsets from kOffsetsTopic (at start-up, before traffic).
  [[nodiscard]] Result<OffsetsStore::LoadResult> load();

  // Cluster mode (docs/CLUSTER.md, "Consumer groups across brokers"): this broker coordinates
  // the groups of a partition of kOffsetsTopic only while it leads that partition.
  // `epoch_of(p)` is the leader epoch at which it leads partition p and may serve it, nullopt
  // when it does not. From then on, creating, changing and removing an instance (expiry too)
  // first appends the instance's record to its group's partition, so that the next coordinator
  // rebuilds it. Called once, before requests; forgets what load() found.
  void coordinate(std::function<std::optional<int32_t>(int32_t partition)> epoch_of);
  // Makes this broker the coordinator of the groups of `partition` at `epoch`: unless it is
  // already, forgets them and rebuilds them (commits, members, subscriptions, assignments)
  // from the partition's log. Positions are not kept: each member resumes from the group's
  // committed offsets. Idle clocks start again.
  [[nodiscard]] Result<void> take_over(int32_t partition, int32_t epoch);
  // Expires idle instances every `period` on its own thread until the destructor.
  void start_sweeper(std::chrono::milliseconds period);

  // Creates the instance, and kOffsetsTopic when it does not exist yet (which syncs: a network
  // thread calls ensure_offsets_topic on the broker's worker first when !has_offsets_topic()).
  [[nodiscard]] Result<void> create(std::string_view group, InstanceConfig config);
  [[nodiscard]] bool has_offsets_topic() const { return store_.has_topic(); }
  [[nodiscard]] Result<void> ensure_offsets_topic() { return store_.ensure_topic(); }
  // Leaves the group; commits the positions first under auto-commit.
  [[nodiscard]] Result<void> remove(std::string_view group, std::string_view instance);
  [[nodiscard]] Result<InstanceConfig> config(std::string_view group, std::string_view instance);

  // Exactly one of `topics` (non-empty) and `pattern` (non-empty; see TopicPattern). A bad or
  // too long pattern is ConsumerErrc::invalid_pattern with a detail naming the problem.
  [[nodiscard]] DetailedResult<void> subscribe(std::string_view group, std::string_view instance,
                                               std::vector<std::string> topics,
                                               std::string pattern);
  [[nodiscard]] Result<void> unsubscribe(std::string_view group, std::string_view instance);
  // The topics subscribed to (those the pattern matches now, for a pattern).
  [[nodiscard]] Result<std::vector<std::string>> subscription(std::string_view group,
                                                              std::string_view instance);
  // Manual assignment; every partition must exist.
  [[nodiscard]] DetailedResult<void> assign(std::string_view group, std::string_view instance,
                                            std::vector<TopicPartition> partitions);
  [[nodiscard]] Result<std::vector<TopicPartition>> assignment(std::string_view group,
                                                               std::string_view instance);

  // Resolves a position for every assigned partition (auto-commits first when due). The
  // detail names the partition when auto.offset.reset=none finds no offset.
  [[nodiscard]] DetailedResult<FetchPlan> begin_fetch(std::string_view group,
                                                      std::string_view instance,
                                                      const RemoteBounds& remote = {});
  // Moves each position from `from` to `to`, unless the positions were set since `plan` was
  // made (a seek, even to the same offsets, an assignment or a rebalance): a fetch that was
  // overtaken, such as one whose client gave up and sought back, must not move them past
  // records nobody received.
  void end_fetch(std::string_view group, std::string_view instance, const FetchPlan& plan,
                 std::span<const Advance> advances);
  // Seek: to an offset (>= 0), or to the beginning or end of each partition. A partition that
  // is not there has the topic's name as the detail.
  [[nodiscard]] DetailedResult<void> seek(
      std::string_view group, std::string_view instance,
      std::span<const std::pair<TopicPartition, int64_t>> offsets);
  [[nodiscard]] DetailedResult<void> seek_to_edge(std::string_view group, std::string_view instance,
                                                  std::span<const TopicPartition> partitions,
                                                  bool beginning, const RemoteBounds& remote = {});

  // Commits the given offsets, or with none every position the instance holds. Returns the
  // log to await durability on (null when there was nothing to commit). The detail of an error
  // names the topic it concerns: the one committed to when it is not there, kOffsetsTopic when
  // the write failed.
  [[nodiscard]] DetailedResult<std::shared_ptr<PartitionLog>> commit(
      std::string_view group, std::string_view instance, std::vector<Commit> commits,
      const RemoteBounds& remote = {});
  // The committed offsets of `partitions` (all of the group's when empty); never-committed
  // partitions are left out.
  [[nodiscard]] Result<std::vector<std::pair<TopicPartition, Committed>>> committed(
      std::string_view group, std::string_view instance,
      std::span<const TopicPartition> partitions);

  // Removes instances idle longer than instance_timeout_ms; returns how many.
  size_t expire_idle();

  // Compacts kOffsetsTopic: every partition of it holding at least `min_bytes`, and twice what
  // it held after its last compaction, gets the latest commit of each of its groups appended
  // again (a snapshot), made durable, and then its start moved to the snapshot, so that whole
  // segments of replaced commits are deleted. A crash at any point is safe: until the start
  // moves, a reload reads the old commits and then the snapshot, and later commits win.
  // Commits of a compacted partition wait for it (it runs under the coordinator's lock).
  struct CompactionResult {
    int partitions = 0;          // partitions compacted
    size_t commits_kept = 0;     // commits in their snapshots
    uint64_t bytes_deleted = 0;  // segment bytes the new starts freed
  };
  [[nodiscard]] Result<CompactionResult> compact_offsets(uint64_t min_bytes);
  // The group's generation (0 for an unknown group).
  int64_t generation(std::string_view group) const;

  // A group as the admin API shows it: its members (by name) with what each is assigned now,
  // and its committed offsets. Looking does not touch a member's idle clock.
  struct GroupDescription {
    std::string group;
    int64_t generation = 0;
    AssignmentStrategy strategy = AssignmentStrategy::range;
    std::vector<std::pair<std::string, std::vector<TopicPartition>>> members;
    std::map<TopicPartition, int64_t> committed;
  };
  // The groups that have a member or a committed offset, by name.
  std::vector<std::string> group_names() const;
  // nullopt for a group with neither.
  std::optional<GroupDescription> describe(std::string_view group);

  // One partition's lag in a group: its log end offset less the committed offset (never below
  // 0, as after a truncation), and the member holding the partition ("" when none does).
  struct PartitionLag {
    TopicPartition tp;
    int64_t committed = 0;
    int64_t end = 0;
    std::string member;
    int64_t lag() const { return end > committed ? end - committed : 0; }
  };
  // Kafka's consumer lag: one entry per partition with a committed offset, in order; those of
  // deleted topics are left out.
  std::vector<PartitionLag> lags(const GroupDescription& group) const;

 private:
  struct Member {
    InstanceConfig config;
    std::vector<std::string> topics;
    std::optional<TopicPattern> pattern;
    std::string pattern_source;  // what the client sent, to store it
    bool manual = false;
    std::vector<TopicPartition> assigned;
    std::map<TopicPartition, int64_t> positions;
    int64_t positions_stamp = 0;  // see positions_set
    int64_t last_seen_ms = 0;
    int64_t last_auto_commit_ms = 0;
  };
  struct Group {
    std::map<std::string, Member, std::less<>> members;
    std::map<TopicPartition, Committed> committed;
    int64_t generation = 0;
  };

  int64_t now_ms() const;
  // Marks `m`'s positions as set other than by a fetch, with a stamp no member had before.
  void positions_set(Member& m) { m.positions_stamp = ++position_stamps_; }
  // The member, touched (its idle clock restarted) and with the group's assignment current.
  Result<Member*> member(std::string_view group, std::string_view instance);
  // Recomputes the assignment; bumps the generation when forced or when anything moved.
  void rebalance(Group& group, bool force);
  std::vector<std::string> matched_topics(const Member& m, const std::vector<std::string>& all);
  Result<std::shared_ptr<PartitionLog>> append_commits(std::string_view group, Group& g,
                                                       std::vector<Commit> commits);
  // Cluster mode: appends the record of `instance` of `group` (its state, or a tombstone for
  // nullopt) to the group's partition; nothing when standalone.
  Result<void> persist(std::string_view group, std::string_view instance,
                       std::optional<InstanceState> state);
  // Whether this broker still coordinates `partition` at the epoch it took it over at (always
  // when standalone).
  bool coordinates(int32_t partition) const;
  static InstanceState state_of(const Member& m);
  void auto_commit(std::string_view group, Group& g, Member& m);

  Options options_;
  TopicRegistry& registry_;
  OffsetsStore store_;
  mutable std::mutex mu_;
  std::map<std::string, Group, std::less<>> groups_;  // guarded by mu_
  std::map<int32_t, uint64_t> compacted_bytes_;       // guarded by mu_; per offsets partition
  int64_t position_stamps_ = 0;                       // guarded by mu_
  // Cluster mode: set by coordinate(); the epoch each partition was taken over at.
  std::function<std::optional<int32_t>(int32_t)> epoch_of_;  // guarded by mu_
  std::map<int32_t, int32_t> coordinated_;                   // guarded by mu_
  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  bool stopping_ = false;  // guarded by sweep_mu_
  std::thread sweeper_;
};

}  // namespace sluice::broker
