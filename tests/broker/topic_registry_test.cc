#include "broker/topic_registry.h"

#include <gtest/gtest.h>

#include "broker/errors.h"
#include "segment/layout.h"
#include "tests/temp_dir.h"

namespace sluice::broker {
namespace {

class TopicRegistryTest : public ::testing::Test {
 protected:
  std::unique_ptr<TopicRegistry> open() {
    TopicRegistry::Options o;
    o.log_dirs = {dir_.path()};
    auto r = TopicRegistry::open(o, committer_);
    EXPECT_TRUE(r) << r.error().message();
    return std::move(*r);
  }

  testing::TempDir dir_;
  GroupCommitter committer_{{}};
};

TEST(TopicNameTest, KafkaRulesAreEnforced) {
  EXPECT_TRUE(is_valid_topic_name("orders.v1_EU-west"));
  EXPECT_TRUE(is_valid_topic_name(std::string(249, 'a')));
  EXPECT_FALSE(is_valid_topic_name(std::string(250, 'a')));
  EXPECT_FALSE(is_valid_topic_name(""));
  EXPECT_FALSE(is_valid_topic_name("."));
  EXPECT_FALSE(is_valid_topic_name(".."));
  EXPECT_FALSE(is_valid_topic_name("a/b"));
  EXPECT_FALSE(is_valid_topic_name("../etc"));
  EXPECT_FALSE(is_valid_topic_name("a b"));
  EXPECT_FALSE(is_valid_topic_name("a\nb"));
}

TEST_F(TopicRegistryTest, CreateListDescribeAndDelete) {
  auto registry = open();
  auto created = registry->create_topic("orders", 3, {{"retention.ms", "1000"}});
  ASSERT_TRUE(created) << created.error().message();
  EXPECT_EQ(created->partitions, 3);
  EXPECT_EQ(created->config.retention_ms, 1000);
  EXPECT_EQ(registry->list(), std::vector<std::string>{"orders"});
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "orders-2" / segment::kTopicConfigFile));
  EXPECT_TRUE(registry->partition("orders", 2));
  EXPECT_EQ(registry->partition("orders", 3).error(), Errc::partition_not_found);
  EXPECT_EQ(registry->partition("nope", 0).error(), Errc::topic_not_found);
  EXPECT_EQ(registry->create_topic("orders", 1, {}).error(), Errc::topic_exists);
  ASSERT_TRUE(registry->delete_topic("orders"));
  EXPECT_TRUE(registry->list().empty());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "orders-0"));
  EXPECT_EQ(registry->delete_topic("orders").error(), Errc::topic_not_found);
}

TEST_F(TopicRegistryTest, BadNamesCountsAndConfigsAreRejected) {
  auto registry = open();
  EXPECT_EQ(registry->create_topic("../x", 1, {}).error(), Errc::invalid_topic_name);
  EXPECT_EQ(registry->create_topic("a/b", 1, {}).error(), Errc::invalid_topic_name);
  EXPECT_EQ(registry->create_topic("ok", 0, {}).error(), Errc::invalid_partition_count);
  // A bad override is refused, not thrown: these are request paths.
  auto bad_value = registry->create_topic("ok", 1, {{"retention.ms", "soon"}});
  ASSERT_FALSE(bad_value);
  EXPECT_EQ(bad_value.error(), Errc::invalid_config);
  EXPECT_NE(bad_value.error().detail().find("retention.ms: 'soon'"), std::string::npos)
      << bad_value.error().detail();
  auto bad_key = registry->create_topic("ok", 1, {{"no.such.key", "1"}});
  ASSERT_FALSE(bad_key);
  EXPECT_EQ(bad_key.error(), Errc::invalid_config);
  EXPECT_NE(bad_key.error().detail().find("'no.such.key'"), std::string::npos)
      << bad_key.error().detail();
  EXPECT_TRUE(registry->list().empty());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "ok-0"));
}

TEST_F(TopicRegistryTest, TopicsAndOverridesAreLoadedAtStartUp) {
  {
    auto registry = open();
    ASSERT_TRUE(registry->create_topic("a", 2, {{"segment.bytes", "65536"}}));
    ASSERT_TRUE(registry->create_topic("b", 1, {}));
    std::vector<segment::RecordInput> records = {{"k", "v", {}, -1}};
    ASSERT_TRUE(registry->partition("a", 1).value()->append(records));
    ASSERT_TRUE(registry->close());
  }
  std::filesystem::create_directories(dir_.path() / segment::kQuarantineDir);
  auto registry = open();
  EXPECT_EQ(registry->list(), (std::vector<std::string>{"a", "b"}));
  auto a = registry->describe("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->partitions, 2);
  EXPECT_EQ(a->config.segment_bytes, 65536);
  EXPECT_EQ(registry->partition("a", 1).value()->end_offset(), Offset{1});
}

// A topic whose creation a crash cut short (only its first partitions on disk) is completed
// with empty partitions that keep its configuration, also after a reopen.
TEST_F(TopicRegistryTest, MissingPartitionsAreAddedEmptyWithTheTopicsConfig) {
  {
    auto registry = open();
    ASSERT_TRUE(registry->create_topic("a", 2, {{"segment.bytes", "65536"}}));
    std::vector<segment::RecordInput> records = {{"k", "v", {}, -1}};
    ASSERT_TRUE(registry->partition("a", 1).value()->append(records));
    auto added = registry->add_partitions("a", 5);
    ASSERT_TRUE(added) << added.error().message();
    EXPECT_EQ(added->partitions, 5);
    EXPECT_EQ(registry->partition("a", 4).value()->end_offset(), Offset{0});
    EXPECT_EQ(registry->partition("a", 4).value()->config()->segment_bytes, 65536);
    // Fewer than it has: nothing changes.
    EXPECT_EQ(registry->add_partitions("a", 3).value().partitions, 5);
    EXPECT_FALSE(registry->add_partitions("missing", 3));
    ASSERT_TRUE(registry->close());
  }
  auto registry = open();
  auto a = registry->describe("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->partitions, 5);
  EXPECT_EQ(a->config.segment_bytes, 65536);
  EXPECT_EQ(registry->partition("a", 1).value()->end_offset(), Offset{1});
}

TEST_F(TopicRegistryTest, AlteredConfigsApplyToTheLogsAtOnceAndSurviveAReopen) {
  {
    auto registry = open();
    ASSERT_TRUE(registry->create_topic("a", 3, {{"segment.bytes", "65536"}}));
    auto log = registry->partition("a", 2).value();
    const int64_t default_retention = log->config()->retention_ms;

    auto altered = registry->alter_config(
        "a", {{"retention.ms", "5000"}, {"max.message.bytes", "200"}, {"segment.bytes", {}}});
    ASSERT_TRUE(altered) << altered.error().message();
    EXPECT_EQ(altered->config.retention_ms, 5000);
    EXPECT_EQ(altered->overrides.size(), 2u);  // segment.bytes is back to the default
    EXPECT_EQ(log->config()->retention_ms, 5000);
    EXPECT_EQ(log->config()->segment_bytes, config::TopicConfig{}.segment_bytes);
    EXPECT_EQ(registry->describe("a")->config.max_message_bytes, 200);
    // The log enforces the new limit on the next append.
    const std::string value(500, 'x');
    std::vector<segment::RecordInput> big = {{"", value, {}, -1}};
    EXPECT_EQ(log->append(big).error(), Errc::record_too_large);

    // A bad value or key changes nothing, in memory or on disk.
    EXPECT_EQ(registry->alter_config("a", {{"retention.ms", "soon"}}).error(),
              Errc::invalid_config);
    EXPECT_EQ(registry->alter_config("a", {{"no.such.key", "1"}}).error(), Errc::invalid_config);
    EXPECT_EQ(log->config()->retention_ms, 5000);
    EXPECT_EQ(registry->alter_config("nope", {}).error(), Errc::topic_not_found);

    ASSERT_TRUE(registry->alter_config("a", {{"max.message.bytes", {}}}));
    EXPECT_TRUE(log->append(big));
    EXPECT_NE(default_retention, 5000);
    ASSERT_TRUE(registry->close());
  }
  auto registry = open();
  auto a = registry->describe("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->overrides, (std::map<std::string, std::string>{{"retention.ms", "5000"}}));
  for (int32_t p = 0; p < 3; ++p) {
    EXPECT_EQ(registry->partition("a", p).value()->config()->retention_ms, 5000) << p;
  }
}

TEST_F(TopicRegistryTest, InternalTopicsAreCreatedOnlyByTheBrokerAndNeverDeletedOrAltered) {
  auto registry = open();
  EXPECT_EQ(registry->create_topic("__consumer_offsets", 8, {}).error(), Errc::internal_topic);
  EXPECT_EQ(registry->create_internal_topic("orders", 1, {}).error(), Errc::invalid_topic_name);
  ASSERT_TRUE(registry->create_internal_topic("__consumer_offsets", 2, {}));
  EXPECT_EQ(registry->delete_topic("__consumer_offsets").error(), Errc::internal_topic);
  EXPECT_EQ(registry->alter_config("__consumer_offsets", {{"retention.ms", "1"}}).error(),
            Errc::internal_topic);
  EXPECT_EQ(registry->describe("__consumer_offsets")->partitions, 2);
  EXPECT_TRUE(registry->describe("__consumer_offsets")->overrides.empty());
  // Other names that start with "__" are ordinary topics, as in Kafka.
  ASSERT_TRUE(registry->create_topic("__mine", 1, {}));
  EXPECT_TRUE(registry->delete_topic("__mine"));
}

}  // namespace
}  // namespace sluice::broker
