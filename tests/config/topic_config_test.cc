#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "config/config.h"

namespace sluice::config {
namespace {

using ::testing::HasSubstr;
using Map = std::map<std::string, std::string>;

std::string error_of(const Map& overrides) {
  try {
    apply_topic_overrides(TopicConfig{}, overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TopicConfig non_default_topic() {
  TopicConfig c;
  c.segment_bytes = 4096;
  c.segment_ms = 60000;
  c.segment_index_bytes = 1200;
  c.index_interval_bytes = 0;
  c.retention_ms = -1;
  c.retention_bytes = 1 << 20;
  c.max_message_bytes = 512;
  c.message_timestamp_type = TimestampType::log_append_time;
  c.cleanup_policy = CleanupPolicy::compact;
  c.flush_messages = 1;
  c.flush_ms = 0;
  c.preallocate = false;
  return c;
}

TEST(TopicConfigTest, NoOverridesKeepsDefaults) {
  TopicConfig defaults;
  defaults.retention_ms = 5;
  EXPECT_EQ(apply_topic_overrides(defaults, {}), defaults);
}

TEST(TopicConfigTest, OverridesSetTheNamedFieldsOnly) {
  const TopicConfig c =
      apply_topic_overrides(TopicConfig{}, {{"segment.bytes", "2048"},
                                            {"retention.ms", "-1"},
                                            {"message.timestamp.type", "LogAppendTime"},
                                            {"cleanup.policy", "compact"}});
  TopicConfig expected;
  expected.segment_bytes = 2048;
  expected.retention_ms = -1;
  expected.message_timestamp_type = TimestampType::log_append_time;
  expected.cleanup_policy = CleanupPolicy::compact;
  EXPECT_EQ(c, expected);
}

TEST(TopicConfigTest, UnknownKeyIsRejectedListingTopicKeys) {
  const std::string e = error_of({{"segment.byte", "2048"}});
  EXPECT_THAT(e, HasSubstr("unknown topic configuration key 'segment.byte'"));
  EXPECT_THAT(e, HasSubstr("segment.bytes"));
}

TEST(TopicConfigTest, BrokerKeyIsNotATopicKey) {
  EXPECT_THAT(error_of({{"log.segment.bytes", "2048"}}),
              HasSubstr("unknown topic configuration key 'log.segment.bytes'"));
}

TEST(TopicConfigTest, BadValueNamesKeyValueAndAllowedRange) {
  EXPECT_THAT(error_of({{"segment.bytes", "1023"}}),
              HasSubstr("segment.bytes: '1023' is out of range (allowed: integer in [1024, "
                        "2147483647])"));
  EXPECT_THAT(error_of({{"retention.bytes", "-2"}}),
              HasSubstr("retention.bytes: '-2' is out of range (allowed: integer >= -1, -1 = "
                        "unlimited)"));
  EXPECT_THAT(error_of({{"segment.index.bytes", "11"}}),
              HasSubstr("segment.index.bytes: '11' is out of range"));
  EXPECT_THAT(error_of({{"flush.messages", "0"}}),
              HasSubstr("flush.messages: '0' is out of range"));
}

TEST(TopicConfigTest, BadEnumListsAllowedValues) {
  EXPECT_THAT(error_of({{"cleanup.policy", "del"}}),
              HasSubstr("cleanup.policy: 'del' is not a valid value (allowed: delete, compact)"));
  EXPECT_THAT(error_of({{"message.timestamp.type", "createtime"}}),
              HasSubstr("(allowed: CreateTime, LogAppendTime)"));
}

TEST(TopicConfigTest, MapHasEveryTopicKey) {
  std::set<std::string> doc_names;
  for (const auto& d : topic_key_docs()) doc_names.emplace(d.name);
  std::set<std::string> map_names;
  for (const auto& [name, value] : topic_config_to_map(TopicConfig{})) map_names.insert(name);
  EXPECT_EQ(map_names, doc_names);
  EXPECT_EQ(map_names.size(), 14u);
}

TEST(TopicConfigTest, MapRendersKafkaSpellings) {
  const Map m = topic_config_to_map(non_default_topic());
  EXPECT_EQ(m.at("segment.bytes"), "4096");
  EXPECT_EQ(m.at("retention.ms"), "-1");
  EXPECT_EQ(m.at("message.timestamp.type"), "LogAppendTime");
  EXPECT_EQ(m.at("cleanup.policy"), "compact");
  EXPECT_EQ(m.at("preallocate"), "false");
}

TEST(TopicConfigTest, MapRoundTripsThroughOverrides) {
  for (const TopicConfig& c : {TopicConfig{}, non_default_topic()}) {
    EXPECT_EQ(apply_topic_overrides(TopicConfig{}, topic_config_to_map(c)), c);
    EXPECT_EQ(apply_topic_overrides(non_default_topic(), topic_config_to_map(c)), c);
  }
}

TEST(TopicConfigTest, MapRoundTripsThroughPropertiesText) {
  std::string text = "# topic.properties\n";
  for (const auto& [name, value] : topic_config_to_map(non_default_topic())) {
    text += name + "=" + value + "\n";
  }
  EXPECT_EQ(apply_topic_overrides(TopicConfig{}, parse_properties(text, "topic.properties")),
            non_default_topic());
}

TEST(TopicConfigTest, DocumentedDefaultsMatchDefaultConfig) {
  const Map defaults = topic_config_to_map(TopicConfig{});
  for (const auto& d : topic_key_docs()) {
    EXPECT_EQ(defaults.at(std::string(d.name)), d.default_value) << d.name;
    EXPECT_FALSE(d.doc.empty()) << d.name;
  }
}

TEST(TopicConfigTest, EnumsRenderTheirConfigurationSpelling) {
  EXPECT_EQ(to_string(FlushPolicy::always), "always");
  EXPECT_EQ(to_string(FlushPolicy::interval), "interval");
  EXPECT_EQ(to_string(RecoveryMode::full), "full");
  EXPECT_EQ(to_string(RecoveryMode::checkpoint), "checkpoint");
  EXPECT_EQ(to_string(CleanupPolicy::del), "delete");
  EXPECT_EQ(to_string(CleanupPolicy::compact), "compact");
  EXPECT_EQ(to_string(TimestampType::create_time), "CreateTime");
  EXPECT_EQ(to_string(TimestampType::log_append_time), "LogAppendTime");
}

}  // namespace
}  // namespace sluice::config
