#include "broker/consumer_groups.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "broker/errors.h"
#include "tests/temp_dir.h"

namespace sluice::broker {
namespace {

constexpr int32_t kPartitions = 6;

std::vector<std::string> member_names(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("m" + std::to_string(i));
  return names;
}

// One commit, built field by field (GCC 12 misreads nested braced initialisers here).
std::vector<ConsumerGroups::Commit> commit_of(std::string topic, int32_t partition, int64_t offset,
                                              std::string metadata = {}) {
  std::vector<ConsumerGroups::Commit> commits(1);
  commits[0].tp.topic = std::move(topic);
  commits[0].tp.partition = partition;
  commits[0].offset = offset;
  commits[0].metadata = std::move(metadata);
  return commits;
}

class AssignorTest : public ::testing::TestWithParam<AssignmentStrategy> {};

TEST_P(AssignorTest, EveryPartitionGoesToExactlyOneMemberEvenly) {
  for (int members = 1; members <= 4; ++members) {
    std::map<std::string, std::vector<std::string>> topics_of;
    for (const auto& m : member_names(members)) topics_of[m] = {"a", "b"};
    const auto assigned =
        assign_partitions(GetParam(), topics_of, {{"a", kPartitions}, {"b", kPartitions}});
    ASSERT_EQ(assigned.size(), static_cast<size_t>(members));
    std::multiset<TopicPartition> seen;
    for (const auto& [member, parts] : assigned) {
      // Balanced: 12 partitions over `members` members, per topic for range.
      EXPECT_GE(parts.size(), static_cast<size_t>(2 * (kPartitions / members))) << member;
      EXPECT_LE(parts.size(), static_cast<size_t>(2 * (kPartitions / members + 1))) << member;
      seen.insert(parts.begin(), parts.end());
    }
    ASSERT_EQ(seen.size(), 2u * kPartitions) << members << " members";
    for (const std::string topic : {"a", "b"}) {
      for (int32_t p = 0; p < kPartitions; ++p) {
        EXPECT_EQ(seen.count({topic, p}), 1u) << topic << "-" << p << ", " << members;
      }
    }
  }
}

TEST_P(AssignorTest, OnlySubscribersOfATopicGetItsPartitions) {
  const auto assigned = assign_partitions(GetParam(), {{"x", {"a"}}, {"y", {"a", "b"}}},
                                          {{"a", kPartitions}, {"b", kPartitions}});
  for (const auto& tp : assigned.at("x")) EXPECT_EQ(tp.topic, "a");
  size_t b_count = 0;
  for (const auto& tp : assigned.at("y")) b_count += tp.topic == "b";
  EXPECT_EQ(b_count, static_cast<size_t>(kPartitions));
  EXPECT_EQ(assigned.at("x").size() + assigned.at("y").size(), 2u * kPartitions);
}

INSTANTIATE_TEST_SUITE_P(Strategies, AssignorTest,
                         ::testing::Values(AssignmentStrategy::range,
                                           AssignmentStrategy::round_robin));

TEST(AssignorExampleTest, RangeGivesContiguousRunsAndRoundRobinDeals) {
  std::map<std::string, std::vector<std::string>> two = {{"m0", {"t"}}, {"m1", {"t"}}};
  auto range = assign_partitions(AssignmentStrategy::range, two, {{"t", 5}});
  EXPECT_EQ(range.at("m0"), (std::vector<TopicPartition>{{"t", 0}, {"t", 1}, {"t", 2}}));
  EXPECT_EQ(range.at("m1"), (std::vector<TopicPartition>{{"t", 3}, {"t", 4}}));
  auto rr = assign_partitions(AssignmentStrategy::round_robin, two, {{"t", 5}});
  EXPECT_EQ(rr.at("m0"), (std::vector<TopicPartition>{{"t", 0}, {"t", 2}, {"t", 4}}));
  EXPECT_EQ(rr.at("m1"), (std::vector<TopicPartition>{{"t", 1}, {"t", 3}}));
}

TEST(OffsetCommitFormatTest, RoundTripsAndRejectsGarbage) {
  OffsetCommit c{"group/1", "orders", 5, 42, "meta\ndata", 1700000000000};
  auto back = decode_commit(encode_commit_key(c), encode_commit_value(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->group, c.group);
  EXPECT_EQ(back->topic, c.topic);
  EXPECT_EQ(back->partition, 5);
  EXPECT_EQ(back->offset, 42);
  EXPECT_EQ(back->metadata, c.metadata);
  EXPECT_EQ(back->commit_time_ms, c.commit_time_ms);
  const auto key = encode_commit_key(c);
  const auto value = encode_commit_value(c);
  for (size_t cut = 0; cut < key.size(); ++cut) {
    EXPECT_FALSE(decode_commit(key.substr(0, cut), value)) << cut;
  }
  for (size_t cut = 0; cut < value.size(); ++cut) {
    EXPECT_FALSE(decode_commit(key, value.substr(0, cut))) << cut;
  }
  EXPECT_FALSE(decode_commit(key + "x", value));
  EXPECT_GE(offsets_partition_for("g"), 0);
  EXPECT_LT(offsets_partition_for("g"), kOffsetsTopicPartitions);
}

TEST(InstanceRecordFormatTest, RoundTripsEveryKindOfInstanceAndRejectsGarbage) {
  InstanceConfig config;
  config.name = "c-1";
  config.format = ConsumerFormat::json;
  config.reset = OffsetReset::none;
  config.auto_commit = true;
  config.fetch_min_bytes = 4096;
  config.request_timeout_ms = 250;
  const std::vector<InstanceState> states = {
      {config, {}, {}, false, {}},
      {config, {"a", "b"}, {}, false, {}},
      {config, {}, "orders-.*", false, {}},
      {config, {}, {}, true, {{"a", 0}, {"b", 7}}},
  };
  const auto key = encode_instance_key("group/1", "c-1");
  for (const auto& state : states) {
    const auto value = encode_instance_value(state);
    auto back = decode_instance(key, value);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->group, "group/1");
    EXPECT_EQ(back->instance, "c-1");
    ASSERT_TRUE(back->state);
    EXPECT_EQ(*back->state, state);
    for (size_t cut = 0; cut < value.size(); ++cut) {
      EXPECT_FALSE(decode_instance(key, std::string_view(value).substr(0, cut))) << cut;
    }
    EXPECT_FALSE(decode_instance(key, value + "x"));
    // Neither is mistaken for the other kind of record.
    EXPECT_FALSE(decode_commit(key, value));
  }
  config.request_timeout_ms.reset();
  auto unset = decode_instance(key, encode_instance_value({config, {}, {}, false, {}}));
  ASSERT_TRUE(unset && unset->state);
  EXPECT_FALSE(unset->state->config.request_timeout_ms);
  auto tombstone = decode_instance(key, std::nullopt);
  ASSERT_TRUE(tombstone);
  EXPECT_FALSE(tombstone->state);
  for (size_t cut = 0; cut < key.size(); ++cut) {
    EXPECT_FALSE(decode_instance(key.substr(0, cut), std::nullopt)) << cut;
  }
  OffsetCommit c{"group/1", "orders", 5, 42, "", 1};
  EXPECT_FALSE(decode_instance(encode_commit_key(c), encode_commit_value(c)));
}

class ConsumerGroupsTest : public ::testing::Test {
 protected:
  ConsumerGroupsTest() { reopen_registry(); }

  void reopen_registry() {
    groups_.reset();
    if (registry_) (void)registry_->close();
    registry_.reset();
    TopicRegistry::Options o;
    o.log_dirs = {dir_.path()};
    auto r = TopicRegistry::open(o, committer_);
    ASSERT_TRUE(r) << r.error().message();
    registry_ = std::move(*r);
    admin_ = std::make_unique<LocalTopicAdmin>(*registry_);
    groups_ = make_groups();
  }

  std::unique_ptr<ConsumerGroups> make_groups(
      AssignmentStrategy strategy = AssignmentStrategy::range) {
    ConsumerGroups::Options o;
    o.strategy = strategy;
    o.instance_timeout_ms = kTimeoutMs;
    o.clock_ms = [this] { return now_ms_; };
    auto groups = std::make_unique<ConsumerGroups>(o, *registry_, *admin_);
    auto loaded = groups->load();
    EXPECT_TRUE(loaded) << loaded.error().message();
    return groups;
  }

  // A topic with `records` records in each partition.
  void make_topic(const std::string& name, int32_t partitions, int records) {
    ASSERT_TRUE(registry_->create_topic(name, partitions, {}));
    for (int32_t p = 0; p < partitions; ++p) {
      auto log = registry_->partition(name, p);
      ASSERT_TRUE(log);
      std::vector<segment::RecordInput> batch(static_cast<size_t>(records));
      for (auto& r : batch) r.value = "v";
      if (records > 0) {
        ASSERT_TRUE((*log)->append(batch));
      }
    }
  }

  void join(const std::string& name, OffsetReset reset = OffsetReset::earliest) {
    InstanceConfig c;
    c.name = name;
    c.reset = reset;
    ASSERT_TRUE(groups_->create("g", c));
    auto r = groups_->subscribe("g", name, {"t"}, {});
    ASSERT_TRUE(r) << r.error().message();
  }

  std::vector<TopicPartition> assigned(const std::string& name) {
    auto a = groups_->assignment("g", name);
    EXPECT_TRUE(a) << name;
    return a ? *a : std::vector<TopicPartition>{};
  }

  static constexpr int64_t kTimeoutMs = 1000;
  testing::TempDir dir_;
  GroupCommitter committer_{{}};
  std::unique_ptr<TopicRegistry> registry_;
  std::unique_ptr<LocalTopicAdmin> admin_;
  std::unique_ptr<ConsumerGroups> groups_;
  int64_t now_ms_ = 1000000;
};

TEST_F(ConsumerGroupsTest, JoinLeaveAndExpiryRebalanceAndBumpTheGeneration) {
  make_topic("t", kPartitions, 0);
  join("a");
  EXPECT_EQ(assigned("a").size(), static_cast<size_t>(kPartitions));
  const auto g1 = groups_->generation("g");
  join("b");
  join("c");
  EXPECT_GT(groups_->generation("g"), g1);
  std::set<TopicPartition> all;
  for (const std::string m : {"a", "b", "c"}) {
    auto parts = assigned(m);
    EXPECT_EQ(parts.size(), 2u) << m;
    for (const auto& tp : parts) EXPECT_TRUE(all.insert(tp).second) << "assigned twice";
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kPartitions));

  const auto g2 = groups_->generation("g");
  ASSERT_TRUE(groups_->remove("g", "c"));
  EXPECT_GT(groups_->generation("g"), g2);
  EXPECT_EQ(assigned("a").size() + assigned("b").size(), static_cast<size_t>(kPartitions));

  // b stays idle past the timeout while a keeps calling.
  now_ms_ += kTimeoutMs / 2;
  (void)assigned("a");
  EXPECT_EQ(groups_->expire_idle(), 0u);
  now_ms_ += kTimeoutMs / 2 + 1;
  (void)assigned("a");
  const auto g3 = groups_->generation("g");
  EXPECT_EQ(groups_->expire_idle(), 1u);
  EXPECT_GT(groups_->generation("g"), g3);
  EXPECT_EQ(groups_->assignment("g", "b").error(), ConsumerErrc::instance_not_found);
  EXPECT_EQ(assigned("a").size(), static_cast<size_t>(kPartitions));
}

TEST_F(ConsumerGroupsTest, DescribeShowsMembersAndCommitsWithoutKeepingMembersAlive) {
  make_topic("t", kPartitions, 5);
  EXPECT_FALSE(groups_->describe("g"));
  EXPECT_TRUE(groups_->group_names().empty());
  join("a");
  join("b");
  auto r = groups_->commit("g", "a", commit_of("t", 0, 3));
  ASSERT_TRUE(r) << r.error().message();

  auto d = groups_->describe("g");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->group, "g");
  EXPECT_EQ(d->generation, groups_->generation("g"));
  ASSERT_EQ(d->members.size(), 2u);
  EXPECT_EQ(d->members[0].first, "a");
  EXPECT_EQ(d->members[0].second, assigned("a"));
  EXPECT_EQ(d->members[1].second, assigned("b"));
  EXPECT_EQ(d->committed, (std::map<TopicPartition, int64_t>{{{"t", 0}, 3}}));
  EXPECT_EQ(groups_->group_names(), std::vector<std::string>{"g"});

  // Looking is not a member's call: idle members still expire.
  now_ms_ += kTimeoutMs + 1;
  ASSERT_TRUE(groups_->describe("g"));
  EXPECT_EQ(groups_->expire_idle(), 2u);
  d = groups_->describe("g");
  ASSERT_TRUE(d);  // its commits keep the group
  EXPECT_TRUE(d->members.empty());
  EXPECT_EQ(d->committed.size(), 1u);

  // A group with no member and no commit is not there.
  InstanceConfig c;
  c.name = "x";
  ASSERT_TRUE(groups_->create("empty", c));
  ASSERT_TRUE(groups_->remove("empty", "x"));
  EXPECT_FALSE(groups_->describe("empty"));
  EXPECT_EQ(groups_->group_names(), std::vector<std::string>{"g"});
}

TEST_F(ConsumerGroupsTest, NewPartitionsMatchingAPatternAreAssigned) {
  InstanceConfig c;
  c.name = "a";
  ASSERT_TRUE(groups_->create("g", c));
  ASSERT_TRUE(groups_->subscribe("g", "a", {}, "t[0-9]+"));
  EXPECT_TRUE(assigned("a").empty());
  make_topic("t1", 2, 0);
  make_topic("x1", 2, 0);
  EXPECT_EQ(assigned("a"), (std::vector<TopicPartition>{{"t1", 0}, {"t1", 1}}));
  EXPECT_EQ(*groups_->subscription("g", "a"), std::vector<std::string>{"t1"});
}

// Patterns that take a backtracking engine time exponential in these names' length; the answer
// must still be right.
TEST_F(ConsumerGroupsTest, BacktrackingPatternsMatchLongTopicNamesCorrectly) {
  const std::string as(240, 'a');
  const std::string as_b = std::string(239, 'a') + "b";
  make_topic(as, 1, 0);
  make_topic(as_b, 1, 0);
  InstanceConfig c;
  c.name = "a";
  ASSERT_TRUE(groups_->create("g", c));
  auto r = groups_->subscribe("g", "a", {}, "(a|aa)+b");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*groups_->subscription("g", "a"), std::vector<std::string>{as_b});
  r = groups_->subscribe("g", "a", {}, "(a+)+$");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*groups_->subscription("g", "a"), std::vector<std::string>{as});
  r = groups_->subscribe("g", "a", {}, "(a*)*c");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(groups_->subscription("g", "a")->empty());
}

TEST_F(ConsumerGroupsTest, PatternIsMatchedAgainstTheWholeName) {
  make_topic("orders", 1, 0);
  make_topic("orders-eu", 1, 0);
  make_topic("old-orders", 1, 0);
  InstanceConfig c;
  c.name = "a";
  ASSERT_TRUE(groups_->create("g", c));
  auto r = groups_->subscribe("g", "a", {}, "orders");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*groups_->subscription("g", "a"), std::vector<std::string>{"orders"});
  r = groups_->subscribe("g", "a", {}, "orders.*|.*-orders");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*groups_->subscription("g", "a"),
            (std::vector<std::string>{"old-orders", "orders", "orders-eu"}));
}

TEST_F(ConsumerGroupsTest, PatternLongerThanTheLimitIsRejectedNamingTheLimit) {
  InstanceConfig c;
  c.name = "a";
  ASSERT_TRUE(groups_->create("g", c));
  const std::string at_limit(TopicPattern::kMaxBytes, 'x');
  auto r = groups_->subscribe("g", "a", {}, at_limit);
  EXPECT_TRUE(r) << r.error().message();
  r = groups_->subscribe("g", "a", {}, at_limit + "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), ConsumerErrc::invalid_pattern);
  const std::string detail = r.error().detail();
  EXPECT_NE(detail.find("1025 bytes"), std::string::npos) << detail;
  EXPECT_NE(detail.find("limit is 1024 bytes"), std::string::npos) << detail;
}

TEST_F(ConsumerGroupsTest, GainedPartitionStartsAtTheCommittedOffsetOrTheResetPolicy) {
  make_topic("t", 2, 10);
  join("a");
  auto log = groups_->commit("g", "a", commit_of("t", 0, 7, "m"));
  ASSERT_TRUE(log) << log.error().message();
  ASSERT_TRUE(*log);
  ASSERT_TRUE(committer_.wait_durable(**log));
  join("b", OffsetReset::latest);
  // Range over 2 partitions: a gets t-0, b gets t-1.
  auto plan_a = groups_->begin_fetch("g", "a");
  ASSERT_TRUE(plan_a);
  ASSERT_EQ(plan_a->targets.size(), 1u);
  EXPECT_EQ(plan_a->targets[0].position, Offset{7});  // committed
  auto plan_b = groups_->begin_fetch("g", "b");
  ASSERT_TRUE(plan_b);
  ASSERT_EQ(plan_b->targets.size(), 1u);
  EXPECT_EQ(plan_b->targets[0].position, Offset{10});  // latest

  // a advances to 9 and commits its positions; once b leaves, a resumes t-1 at latest=10.
  ConsumerGroups::Advance advance{{"t", 0}, Offset{7}, Offset{9}};
  groups_->end_fetch("g", "a", *plan_a, std::span(&advance, 1));
  ASSERT_TRUE(groups_->commit("g", "a", {}));
  auto committed = groups_->committed("g", "a", {});
  ASSERT_TRUE(committed);
  ASSERT_EQ(committed->size(), 1u);
  EXPECT_EQ((*committed)[0].second.offset, 9);
  EXPECT_EQ((*committed)[0].second.metadata, "");

  InstanceConfig strict;
  strict.name = "c";
  strict.reset = OffsetReset::none;
  ASSERT_TRUE(groups_->create("g", strict));
  ASSERT_TRUE(groups_->subscribe("g", "c", {"t"}, {}));
  ASSERT_TRUE(groups_->remove("g", "a"));
  ASSERT_TRUE(groups_->remove("g", "b"));
  auto plan_c = groups_->begin_fetch("g", "c");
  ASSERT_FALSE(plan_c);  // t-1 has no committed offset and reset is none
  EXPECT_EQ(plan_c.error(), ConsumerErrc::illegal_state);
  EXPECT_NE(plan_c.error().detail().find("t-1"), std::string::npos) << plan_c.error().detail();
}

TEST_F(ConsumerGroupsTest, CommitsSurviveAReopenThroughTheOffsetsTopic) {
  make_topic("t", 3, 5);
  join("a");
  for (int64_t offset : {1, 4, 3}) {  // the last write wins, even when it goes back
    auto log = groups_->commit("g", "a", commit_of("t", 2, offset, "v" + std::to_string(offset)));
    ASSERT_TRUE(log) << log.error().message();
    ASSERT_TRUE(committer_.wait_durable(**log));
  }
  ASSERT_TRUE(groups_->commit("g", "a", commit_of("t", 0, 5)));
  reopen_registry();
  join("fresh");
  const std::vector<TopicPartition> asked = {{"t", 0}, {"t", 1}, {"t", 2}};
  auto committed = groups_->committed("g", "fresh", asked);
  ASSERT_TRUE(committed);
  ASSERT_EQ(committed->size(), 2u);  // t-1 was never committed
  EXPECT_EQ((*committed)[0].first, (TopicPartition{"t", 0}));
  EXPECT_EQ((*committed)[0].second.offset, 5);
  EXPECT_EQ((*committed)[1].second.offset, 3);
  EXPECT_EQ((*committed)[1].second.metadata, "v3");
  auto plan = groups_->begin_fetch("g", "fresh");
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->targets.size(), 3u);
  EXPECT_EQ(plan->targets[0].position, Offset{5});
  EXPECT_EQ(plan->targets[1].position, Offset{0});  // earliest
  EXPECT_EQ(plan->targets[2].position, Offset{3});
  const auto topics = registry_->list();
  EXPECT_NE(std::ranges::find(topics, kOffsetsTopic), topics.end());
}

// Cluster mode: the coordinator writes every instance change to the group's partition, and
// the next coordinator rebuilds the instances from it.
TEST_F(ConsumerGroupsTest, ANewCoordinatorRebuildsTheInstancesFromTheOffsetsTopic) {
  make_topic("t", 4, 5);
  const int32_t partition = offsets_partition_for("g");
  auto lead = [&](ConsumerGroups& groups, int32_t epoch) {
    groups.coordinate([epoch](int32_t) { return std::optional<int32_t>(epoch); });
    ASSERT_TRUE(groups.take_over(partition, epoch));
  };
  lead(*groups_, 1);
  join("a");
  InstanceConfig manual;
  manual.name = "b";
  manual.format = ConsumerFormat::json;
  ASSERT_TRUE(groups_->create("g", manual));
  ASSERT_TRUE(groups_->assign("g", "b", {{"t", 3}}));
  InstanceConfig patterned;
  patterned.name = "c";
  ASSERT_TRUE(groups_->create("g", patterned));
  ASSERT_TRUE(groups_->subscribe("g", "c", {}, "t|u"));
  join("gone");
  ASSERT_TRUE(groups_->remove("g", "gone"));
  ASSERT_TRUE(groups_->commit("g", "a", commit_of("t", 0, 4)));
  const auto before_a = assigned("a");
  const auto before_c = assigned("c");

  // Another coordinator (another broker's copy of the partition) at a later epoch.
  auto next = make_groups();
  lead(*next, 2);
  std::swap(groups_, next);
  EXPECT_EQ(assigned("a"), before_a);
  EXPECT_EQ(assigned("b"), (std::vector<TopicPartition>{{"t", 3}}));
  EXPECT_EQ(assigned("c"), before_c);
  EXPECT_FALSE(groups_->assignment("g", "gone"));
  auto config = groups_->config("g", "b");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->format, ConsumerFormat::json);
  auto topics = groups_->subscription("g", "c");
  ASSERT_TRUE(topics);
  EXPECT_EQ(*topics, (std::vector<std::string>{"t"}));
  // Positions start again from the commits.
  auto plan = groups_->begin_fetch("g", "a");
  ASSERT_TRUE(plan);
  ASSERT_FALSE(plan->targets.empty());
  EXPECT_EQ(plan->targets[0].tp, (TopicPartition{"t", 0}));
  EXPECT_EQ(plan->targets[0].position, Offset{4});

  // An idle instance still expires, and its expiry is written too.
  now_ms_ += kTimeoutMs + 1;
  ASSERT_TRUE(groups_->config("g", "a"));
  ASSERT_TRUE(groups_->config("g", "c"));
  EXPECT_EQ(groups_->expire_idle(), 1u);  // b
  auto third = make_groups();
  lead(*third, 3);
  EXPECT_FALSE(third->config("g", "b"));
  EXPECT_TRUE(third->config("g", "a"));
}

TEST_F(ConsumerGroupsTest, ABrokerThatNoLongerCoordinatesForgetsTheGroupsAndWritesNothing) {
  make_topic("t", 2, 5);
  const int32_t partition = offsets_partition_for("g");
  std::optional<int32_t> epoch = 1;
  groups_->coordinate([&epoch](int32_t) { return epoch; });
  ASSERT_TRUE(groups_->take_over(partition, 1));
  join("a");
  auto log = registry_->partition(kOffsetsTopic, partition);
  ASSERT_TRUE(log);
  const Offset end = (*log)->end_offset();
  epoch.reset();  // another broker leads the partition now
  now_ms_ += kTimeoutMs + 1;
  EXPECT_EQ(groups_->expire_idle(), 0u);
  EXPECT_EQ((*log)->end_offset(), end);  // no tombstone from a broker that is not the leader
  EXPECT_FALSE(groups_->config("g", "a"));
  EXPECT_TRUE(groups_->group_names().empty());
}

TEST_F(ConsumerGroupsTest, CompactionKeepsTheLatestCommitsAndDeletesReplacedSegments) {
  make_topic("t", 3, 1000);
  join("a");
  // ~20 MiB of commits (500 a call, 1 KiB of metadata each): more than one 16 MiB segment.
  const std::string metadata(1024, 'm');
  int64_t next = 0;
  for (int call = 0; call < 40; ++call) {
    std::vector<ConsumerGroups::Commit> commits;
    for (int i = 0; i < 500; ++i, ++next) {
      auto c = commit_of("t", static_cast<int32_t>(next % 3), next % 1000, metadata);
      commits.push_back(std::move(c[0]));
    }
    auto r = groups_->commit("g", "a", std::move(commits));
    ASSERT_TRUE(r) << r.error().message();
  }
  auto last = groups_->committed("g", "a", {});
  ASSERT_TRUE(last);
  ASSERT_EQ(last->size(), 3u);
  auto log = registry_->partition(kOffsetsTopic, offsets_partition_for("g"));
  ASSERT_TRUE(log);
  const uint64_t before = (*log)->size_bytes();
  ASSERT_GT(before, static_cast<uint64_t>(kOffsetsSegmentBytes));

  auto compacted = groups_->compact_offsets(1 << 20);
  ASSERT_TRUE(compacted) << compacted.error().message();
  EXPECT_EQ(compacted->partitions, 1);
  EXPECT_EQ(compacted->commits_kept, 3u);
  // The first segment went: a segment's bytes, less the batch that did not fit and rolled it.
  EXPECT_GE(compacted->bytes_deleted, static_cast<uint64_t>(kOffsetsSegmentBytes - (1 << 20)));
  EXPECT_LT((*log)->size_bytes(), before);
  EXPECT_GT((*log)->start_offset(), Offset{0});
  // Nothing new since: the next pass leaves the partition alone.
  auto again = groups_->compact_offsets(1 << 20);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->partitions, 0);

  // The same offsets come back from the compacted topic.
  reopen_registry();
  join("fresh");
  auto reloaded = groups_->committed("g", "fresh", {});
  ASSERT_TRUE(reloaded);
  ASSERT_EQ(reloaded->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*reloaded)[i].first, (*last)[i].first);
    EXPECT_EQ((*reloaded)[i].second.offset, (*last)[i].second.offset);
    EXPECT_EQ((*reloaded)[i].second.metadata, metadata);
  }
}

TEST_F(ConsumerGroupsTest, AutoCommitCommitsPositionsOnceTheIntervalHasPassed) {
  make_topic("t", 1, 10);
  InstanceConfig c;
  c.name = "a";
  c.reset = OffsetReset::earliest;
  c.auto_commit = true;
  ASSERT_TRUE(groups_->create("g", c));
  ASSERT_TRUE(groups_->subscribe("g", "a", {"t"}, {}));
  auto plan = groups_->begin_fetch("g", "a");
  ASSERT_TRUE(plan);
  ConsumerGroups::Advance advance{{"t", 0}, Offset{0}, Offset{6}};
  groups_->end_fetch("g", "a", *plan, std::span(&advance, 1));
  now_ms_ += 4999;  // the default auto_commit_interval_ms is 5000
  ASSERT_TRUE(groups_->begin_fetch("g", "a"));
  EXPECT_TRUE(groups_->committed("g", "a", {})->empty());
  now_ms_ += 1;
  plan = groups_->begin_fetch("g", "a");
  ASSERT_TRUE(plan);
  auto committed = groups_->committed("g", "a", {});
  ASSERT_EQ(committed->size(), 1u);
  EXPECT_EQ(committed->front().second.offset, 6);
  // Leaving commits the latest positions too.
  advance = {{"t", 0}, Offset{6}, Offset{8}};
  groups_->end_fetch("g", "a", *plan, std::span(&advance, 1));
  ASSERT_TRUE(groups_->remove("g", "a"));
  join("b");
  EXPECT_EQ(groups_->committed("g", "b", {})->front().second.offset, 8);
}

TEST_F(ConsumerGroupsTest, AFetchOvertakenByASeekDoesNotMoveThePositions) {
  // A client whose fetch failed seeks back to what it has, here to the very offsets the fetch
  // started from; the fetch, still running for nobody, must not move past what it read then.
  make_topic("t", 1, 10);
  join("a", OffsetReset::earliest);
  auto plan = groups_->begin_fetch("g", "a");
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->targets.size(), 1u);
  ASSERT_EQ(plan->targets[0].position, Offset{0});
  const std::pair<TopicPartition, int64_t> back{{"t", 0}, 0};
  ASSERT_TRUE(groups_->seek("g", "a", std::span(&back, 1)));
  ConsumerGroups::Advance advance{{"t", 0}, Offset{0}, Offset{6}};
  groups_->end_fetch("g", "a", *plan, std::span(&advance, 1));
  auto next = groups_->begin_fetch("g", "a");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->targets[0].position, Offset{0});
  // A fetch nothing overtook moves them.
  groups_->end_fetch("g", "a", *next, std::span(&advance, 1));
  EXPECT_EQ(groups_->begin_fetch("g", "a")->targets[0].position, Offset{6});
}

TEST_F(ConsumerGroupsTest, ErrorsNameTheProblem) {
  make_topic("t", 2, 3);
  EXPECT_EQ(groups_->assignment("nope", "a").error(), ConsumerErrc::instance_not_found);
  join("a");
  InstanceConfig dup;
  dup.name = "a";
  EXPECT_EQ(groups_->create("g", dup).error(), ConsumerErrc::instance_exists);
  auto subscribed = groups_->subscribe("g", "a", {}, "([");
  EXPECT_EQ(subscribed.error(), ConsumerErrc::invalid_pattern);
  EXPECT_NE(subscribed.error().detail().find("(["), std::string::npos);
  EXPECT_EQ(groups_->assign("g", "a", {{"t", 0}}).error(), ConsumerErrc::illegal_state);
  EXPECT_EQ(groups_->assign("g", "a", {{"t", 9}}).error(), Errc::partition_not_found);
  auto committed = groups_->commit("g", "a", commit_of("t", 0, 4));
  EXPECT_EQ(committed.error(), ConsumerErrc::invalid_offset);
  EXPECT_NE(committed.error().detail().find("[0, 3]"), std::string::npos)
      << committed.error().detail();
  // A partition that is not there names its topic (the client's message does).
  committed = groups_->commit("g", "a", commit_of("u", 0, 0));
  EXPECT_EQ(committed.error(), Errc::topic_not_found);
  EXPECT_EQ(committed.error().detail(), "u");
  const TopicPartition missing{"t", 9};
  auto edge = groups_->seek_to_edge("g", "a", std::span(&missing, 1), true);
  EXPECT_EQ(edge.error(), Errc::partition_not_found);
  EXPECT_EQ(edge.error().detail(), "t");
  const std::pair<TopicPartition, int64_t> negative{{"t", 0}, -1};
  auto sought = groups_->seek("g", "a", std::span(&negative, 1));
  EXPECT_EQ(sought.error(), ConsumerErrc::invalid_offset);
  EXPECT_EQ(sought.error().detail(), "Offset -1 for t-0 is negative");

  InstanceConfig manual;
  manual.name = "m";
  ASSERT_TRUE(groups_->create("g", manual));
  ASSERT_TRUE(groups_->assign("g", "m", {{"t", 1}}));
  EXPECT_EQ(groups_->subscribe("g", "m", {"t"}, {}).error(), ConsumerErrc::illegal_state);
  const std::pair<TopicPartition, int64_t> unassigned{{"t", 0}, 1};
  sought = groups_->seek("g", "m", std::span(&unassigned, 1));
  EXPECT_EQ(sought.error(), ConsumerErrc::illegal_state);
  EXPECT_NE(sought.error().detail().find("t-0"), std::string::npos) << sought.error().detail();
}

}  // namespace
}  // namespace sluice::broker
