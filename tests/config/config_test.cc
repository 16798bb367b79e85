#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace sluice::config {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// Keys whose documented default is not a literal value.
bool default_is_computed(std::string_view name) {
  return name == "num.recovery.threads" || name == "num.network.threads" ||
         name == "log.retention.minutes";
}

// Writes properties files into a directory of its own and loads configurations.
class BrokerConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / (std::string("config_test_") + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& text, const std::string& name = "sluice.properties") {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path;
  }

  // Loads with `env` as the whole environment ("NAME=value" entries).
  static BrokerConfig load(const std::optional<fs::path>& file,
                           const std::vector<std::string>& sets = {},
                           const std::vector<std::string>& env = {}) {
    std::vector<const char*> envp;
    for (const auto& e : env) envp.push_back(e.c_str());
    envp.push_back(nullptr);
    return load_broker_config(file, sets, envp.data());
  }

  static std::string error_of(const std::optional<fs::path>& file,
                              const std::vector<std::string>& sets = {},
                              const std::vector<std::string>& env = {}) {
    try {
      load(file, sets, env);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  }

  static std::string set_error(const std::string& set) { return error_of(std::nullopt, {set}); }

  fs::path dir_;
};

TEST_F(BrokerConfigTest, NoSourcesGiveDefaults) {
  const BrokerConfig c = load_broker_config(std::nullopt, {}, nullptr);
  EXPECT_EQ(c, BrokerConfig{});
  EXPECT_EQ(c.log_dirs, std::vector<std::string>{"./data"});
  EXPECT_EQ(c.listeners, "http://127.0.0.1:8080");
  EXPECT_EQ(c.log_flush_policy, FlushPolicy::always);
  EXPECT_EQ(c.recovery_mode, RecoveryMode::full);
  EXPECT_GE(c.num_recovery_threads, 1);
  EXPECT_EQ(c.topic_defaults.segment_bytes, 1 << 30);
  EXPECT_EQ(c.topic_defaults.retention_ms, 604800000);
  EXPECT_EQ(c.topic_defaults.max_message_bytes, 1048588);
}

TEST_F(BrokerConfigTest, FileSetsValuesAcrossCommentsSeparatorsAndWhitespace) {
  const auto path = write(
      "# Sluice\n"
      "! another comment\n"
      "\n"
      "log.dirs = /a, /b\n"
      "num.partitions: 3\n"
      "  log.segment.bytes=2048  \n"
      "auto.create.topics.enable:FALSE\n"
      "log.flush.policy=interval\n");
  const BrokerConfig c = load(path);
  EXPECT_EQ(c.log_dirs, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(c.num_partitions, 3);
  EXPECT_EQ(c.topic_defaults.segment_bytes, 2048);
  EXPECT_FALSE(c.auto_create_topics_enable);
  EXPECT_EQ(c.log_flush_policy, FlushPolicy::interval);
}

TEST_F(BrokerConfigTest, EnvOverridesFileAndSetOverridesEnv) {
  const auto path = write("num.partitions=2\nbroker.id=7\nmax.connections=5\n");
  const BrokerConfig c =
      load(path, {"max.connections=9"}, {"SLUICE_NUM_PARTITIONS=4", "SLUICE_MAX_CONNECTIONS=8"});
  EXPECT_EQ(c.broker_id, 7);        // file only
  EXPECT_EQ(c.num_partitions, 4);   // env beats file
  EXPECT_EQ(c.max_connections, 9);  // --set beats env
}

TEST_F(BrokerConfigTest, LaterSetWins) {
  EXPECT_EQ(load(std::nullopt, {"num.partitions=2", " num.partitions = 5 "}).num_partitions, 5);
}

TEST_F(BrokerConfigTest, EnvNameMapsToLowerCaseDottedKey) {
  const BrokerConfig c =
      load(std::nullopt, {},
           {"SLUICE_LOG_SEGMENT_BYTES=4096", "SLUICE_LOG_DIRS=/x,/y", "SLUICE_Log_Level=debug",
            "SLUICE_HTTP_MAX_HEADER_BYTES=100", "SLUICE_NUM_PARTITIONS= 6 "});
  EXPECT_EQ(c.topic_defaults.segment_bytes, 4096);
  EXPECT_EQ(c.log_dirs, (std::vector<std::string>{"/x", "/y"}));
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.max_header_bytes, 100);
  EXPECT_EQ(c.num_partitions, 6);
}

TEST_F(BrokerConfigTest, EnvWithoutPrefixIsIgnored) {
  EXPECT_EQ(load(std::nullopt, {}, {"PATH=/bin", "LOG_SEGMENT_BYTES=abc", "XSLUICE_A=1"}),
            BrokerConfig{});
}

TEST_F(BrokerConfigTest, NonIntegerNamesKeyValueAndAllowedRange) {
  EXPECT_THAT(set_error("log.segment.bytes=abc"),
              HasSubstr("log.segment.bytes: 'abc' is not an integer (allowed: integer in [1024, "
                        "2147483647])"));
  EXPECT_THAT(set_error("num.partitions=12x"), HasSubstr("'12x' is not an integer"));
  EXPECT_THAT(set_error("num.partitions=+3"), HasSubstr("'+3' is not an integer"));
  EXPECT_THAT(set_error("num.partitions=1.5"), HasSubstr("'1.5' is not an integer"));
  EXPECT_THAT(set_error("num.partitions="), HasSubstr("'' is not an integer"));
}

TEST_F(BrokerConfigTest, OutOfRangeNamesAllowedRange) {
  EXPECT_THAT(set_error("num.partitions=0"),
              HasSubstr("num.partitions: '0' is out of range (allowed: integer in [1, "
                        "2147483647])"));
  EXPECT_THAT(set_error("num.partitions=2147483648"), HasSubstr("is out of range"));
  EXPECT_THAT(set_error("log.retention.ms=-2"),
              HasSubstr("'-2' is out of range (allowed: integer >= -1, -1 = unlimited)"));
}

TEST_F(BrokerConfigTest, CacheRetainBytesTakesMinusOneForKeepAllAndRejectsBelow) {
  EXPECT_EQ(BrokerConfig{}.log_cache_retain_bytes, int64_t{256} << 20);
  EXPECT_EQ(load(std::nullopt, {"log.cache.retain.bytes=-1"}).log_cache_retain_bytes, -1);
  EXPECT_EQ(load(std::nullopt, {"log.cache.retain.bytes=0"}).log_cache_retain_bytes, 0);
  EXPECT_THAT(set_error("log.cache.retain.bytes=-2"),
              HasSubstr("log.cache.retain.bytes: '-2' is out of range (allowed: integer >= -1"));
}

TEST_F(BrokerConfigTest, DirectIoIsOnByDefaultAndTakesBooleans) {
  EXPECT_TRUE(BrokerConfig{}.log_direct_io);
  EXPECT_FALSE(load(std::nullopt, {"log.direct.io=false"}).log_direct_io);
  EXPECT_TRUE(load(std::nullopt, {"log.direct.io=true"}).log_direct_io);
  EXPECT_THAT(set_error("log.direct.io=maybe"), HasSubstr("log.direct.io: 'maybe'"));
}

TEST_F(BrokerConfigTest, IntegerOverflowIsOutOfRange) {
  EXPECT_THAT(set_error("max.request.size=99999999999999999999"),
              HasSubstr("max.request.size: '99999999999999999999' is out of range (allowed: "
                        "integer >= 1)"));
  EXPECT_THAT(set_error("log.retention.hours=9999999999999999"),
              HasSubstr("log.retention.hours: '9999999999999999' is out of range"));
}

TEST_F(BrokerConfigTest, BadEnumListsAllowedValues) {
  EXPECT_THAT(set_error("log.flush.policy=sometimes"),
              HasSubstr("log.flush.policy: 'sometimes' is not a valid value (allowed: always, "
                        "interval)"));
  EXPECT_THAT(set_error("recovery.mode=fast"), HasSubstr("(allowed: full, checkpoint)"));
  EXPECT_THAT(set_error("log.level=verbose"),
              HasSubstr("(allowed: trace, debug, info, warn, error)"));
  EXPECT_THAT(set_error("log.message.timestamp.type=Create"),
              HasSubstr("log.message.timestamp.type: 'Create'"));
}

TEST_F(BrokerConfigTest, BooleansAreCaseInsensitive) {
  EXPECT_FALSE(load(std::nullopt, {"auto.create.topics.enable=False"}).auto_create_topics_enable);
  EXPECT_TRUE(load(std::nullopt, {"auto.create.topics.enable=TRUE"}).auto_create_topics_enable);
}

TEST_F(BrokerConfigTest, BadBoolListsAllowedValues) {
  EXPECT_THAT(
      set_error("auto.create.topics.enable=yes"),
      HasSubstr("auto.create.topics.enable: 'yes' is not a boolean (allowed: true, false)"));
}

TEST_F(BrokerConfigTest, UnknownKeyInFileNamesFileAndLine) {
  const auto path = write("num.partitions=1\n\nlog.segmnt.bytes=1024\n");
  const std::string e = error_of(path);
  EXPECT_THAT(e, HasSubstr("unknown configuration key 'log.segmnt.bytes'"));
  EXPECT_THAT(e, HasSubstr(path.string() + ":3"));
}

// Captures what is logged through the default logger while it lives.
class CapturedLog {
 public:
  CapturedLog()
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)),
        old_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("captured", sink_);
    logger->set_pattern("%l %v");
    spdlog::set_default_logger(std::move(logger));
  }
  ~CapturedLog() { spdlog::set_default_logger(old_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> old_;
};

// Kubernetes defines these in every pod of a namespace with a Service named `sluice`.
TEST_F(BrokerConfigTest, UnknownEnvVariableIsLoggedOnceAndIgnored) {
  CapturedLog log;
  const BrokerConfig c = load(std::nullopt, {},
                              {"SLUICE_PORT=tcp://10.0.0.7:8080", "SLUICE_SERVICE_HOST=10.0.0.7",
                               "SLUICE_NUM_PARTITIONS=3"});
  BrokerConfig expected;
  expected.num_partitions = 3;
  EXPECT_EQ(c, expected);
  const std::string text = log.text();
  EXPECT_THAT(text, HasSubstr("warning ignoring environment variable SLUICE_PORT"));
  EXPECT_THAT(text, HasSubstr("warning ignoring environment variable SLUICE_SERVICE_HOST"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
}

TEST_F(BrokerConfigTest, UnknownKeyInFileOrSetStaysFatalWhileEnvWarns) {
  CapturedLog log;
  EXPECT_THAT(error_of(write("log.segmnt.bytes=1024\n")),
              HasSubstr("unknown configuration key 'log.segmnt.bytes'"));
  EXPECT_THAT(set_error("log.segmnt.bytes=1024"),
              HasSubstr("--set: unknown configuration key 'log.segmnt.bytes'"));
  EXPECT_EQ(error_of(std::nullopt, {}, {"SLUICE_LOG_SEGMNT_BYTES=1024"}), "no error");
  EXPECT_THAT(log.text(), HasSubstr("SLUICE_LOG_SEGMNT_BYTES"));
}

TEST_F(BrokerConfigTest, UnknownKeyInSetNamesSet) {
  EXPECT_THAT(set_error("segment.bytes=1024"),
              HasSubstr("--set: unknown configuration key 'segment.bytes'"));
}

TEST_F(BrokerConfigTest, SetWithoutKeyValueIsRejected) {
  EXPECT_THAT(set_error("num.partitions"), HasSubstr("--set: expected key=value, got "
                                                     "'num.partitions'"));
  EXPECT_THAT(set_error("=3"), HasSubstr("expected key=value"));
}

TEST_F(BrokerConfigTest, BadValueNamesItsSource) {
  const auto path = write("# comment\nnum.partitions=zero\n");
  EXPECT_THAT(error_of(path), HasSubstr(path.string() + ":2: num.partitions: 'zero'"));
  EXPECT_THAT(error_of(std::nullopt, {}, {"SLUICE_NUM_PARTITIONS=zero"}),
              HasSubstr("environment variable SLUICE_NUM_PARTITIONS: num.partitions: 'zero'"));
  EXPECT_THAT(set_error("num.partitions=zero"), HasSubstr("--set: num.partitions: 'zero'"));
}

TEST_F(BrokerConfigTest, MalformedFileLineNamesFileAndLine) {
  const auto path = write("num.partitions=1\nthis line has no separator\n");
  EXPECT_THAT(error_of(path), HasSubstr(path.string() + ":2: expected 'key=value'"));
}

TEST_F(BrokerConfigTest, UnreadableFileIsReported) {
  EXPECT_THAT(
      error_of(dir_ / "missing.properties"),
      HasSubstr("cannot read configuration file '" + (dir_ / "missing.properties").string()));
  EXPECT_THAT(error_of(dir_), HasSubstr("it is a directory"));
}

TEST_F(BrokerConfigTest, ValidListenersAreKept) {
  for (const std::string l : {"http://0.0.0.0:9092", "http://localhost:0", "http://[::1]:65535"}) {
    EXPECT_EQ(load(std::nullopt, {"listeners=" + l}).listeners, l);
  }
}

TEST_F(BrokerConfigTest, BadListenerIsRejected) {
  for (const std::string l :
       {"tcp://0.0.0.0:9092", "http://host", "http://host:65536", "http://:8080", "http://host:80a",
        "http://host:", "http://a:b:1", "http://host:8080/path", "0.0.0.0:8080", "https://host"}) {
    EXPECT_THAT(set_error("listeners=" + l),
                HasSubstr("listeners: '" + l +
                          "' is not a valid listener (allowed: [NAME=]http://host:port or "
                          "[NAME=]https://host:port, port 0..65535, comma-separated)"));
  }
}

TEST_F(BrokerConfigTest, SeveralListenersAreNamedByScheme) {
  const auto listeners = parse_listeners("http://127.0.0.1:8080, https://[::1]:8443");
  ASSERT_EQ(listeners.size(), 2u);
  EXPECT_EQ(listeners[0], (Listener{"http", false, "127.0.0.1", 8080}));
  EXPECT_EQ(listeners[1], (Listener{"https", true, "::1", 8443}));
  const auto named = parse_listeners("local=http://127.0.0.1:8080,public=http://0.0.0.0:9090");
  EXPECT_EQ(named[0].name, "local");
  EXPECT_EQ(named[1], (Listener{"public", false, "0.0.0.0", 9090}));
}

TEST_F(BrokerConfigTest, TwoListenersWithOneNameAreRejected) {
  EXPECT_THAT(set_error("listeners=http://127.0.0.1:1,http://127.0.0.1:2"),
              HasSubstr("two listeners are named 'http'"));
  EXPECT_THAT(set_error("listeners=Big=http://127.0.0.1:1"),
              HasSubstr("a name is lower-case letters, digits"));
}

TEST_F(BrokerConfigTest, HttpsListenerNeedsCertificateAndKey) {
  EXPECT_THAT(set_error("listeners=https://127.0.0.1:8443"),
              HasSubstr("the https listener 'https' needs ssl.certificate.location and "
                        "ssl.key.location"));
  const auto c = load(std::nullopt, {"listeners=https://127.0.0.1:8443",
                                     "ssl.certificate.location=/c.pem", "ssl.key.location=/k.pem"});
  EXPECT_EQ(c.ssl_certificate_location, "/c.pem");
  EXPECT_EQ(c.ssl_protocol_min, "TLSv1.2");
  EXPECT_EQ(c.ssl_client_auth, "none");
}

TEST_F(BrokerConfigTest, BrokersMayTalkToEachOtherAndToEtcdOverHttps) {
  const auto c = load(
      std::nullopt,
      {"listeners=http://127.0.0.1:8080,https://127.0.0.1:8443", "ssl.certificate.location=/c.pem",
       "ssl.key.location=/k.pem", "inter.broker.listener.name=https",
       "advertised.listeners=https://broker1:8443",
       "etcd.endpoints=https://etcd1:2379,https://etcd2:2379", "etcd.ssl.ca.location=/ca.pem"});
  EXPECT_EQ(c.inter_broker_listener_name, "https");
  EXPECT_EQ(c.advertised_listeners, "https://broker1:8443");
  EXPECT_EQ(c.etcd_ssl_ca_location, "/ca.pem");
  EXPECT_THAT(set_error("inter.broker.listener.name=internal"),
              HasSubstr("inter.broker.listener.name: no listener is named 'internal'"));
  EXPECT_THAT(set_error("etcd.endpoints=ftp://etcd1:2379"),
              HasSubstr("is not a valid URL (allowed: http://host:port or https://host:port"));
}

TEST_F(BrokerConfigTest, SecurityChoicesAreValidated) {
  EXPECT_THAT(set_error("ssl.client.auth=maybe"),
              HasSubstr("ssl.client.auth: 'maybe' is not a valid value (allowed: none, "
                        "requested, required)"));
  EXPECT_THAT(set_error("ssl.protocol.min=TLSv1.1"), HasSubstr("allowed: TLSv1.2, TLSv1.3"));
  EXPECT_THAT(set_error("authentication.method=digest"), HasSubstr("allowed: none, basic, mtls"));
  EXPECT_THAT(set_error("authentication.method=basic"),
              HasSubstr("authentication.method=basic needs authentication.basic.users.file"));
  EXPECT_THAT(set_error("authentication.method=mtls"),
              HasSubstr("listener 'http': authentication.method=mtls needs an https listener"));
}

TEST_F(BrokerConfigTest, ListenerAuthenticationMethodOverridesTheDefault) {
  const auto c = load(std::nullopt, {"listeners=http://127.0.0.1:1,ext=http://127.0.0.1:2",
                                     "listener.name.ext.authentication.method=basic",
                                     "authentication.basic.users.file=/users"});
  EXPECT_EQ(c.authentication_method_of("http"), "none");
  EXPECT_EQ(c.authentication_method_of("ext"), "basic");
  EXPECT_THAT(set_error("listener.name.nope.authentication.method=basic"),
              HasSubstr("listener.name.nope.authentication.method: no listener is named 'nope'"));
  EXPECT_THAT(set_error("listener.name.http.authentication.method=yes"),
              HasSubstr("--set: listener.name.http.authentication.method: 'yes' is not a valid "
                        "value"));
}

TEST_F(BrokerConfigTest, EmptyLogDirIsRejected) {
  EXPECT_THAT(set_error("log.dirs=/a,,/b"),
              HasSubstr("log.dirs: '/a,,/b' is not a valid directory list"));
  EXPECT_THAT(set_error("log.dirs="), HasSubstr("is not a valid directory list"));
}

TEST_F(BrokerConfigTest, RetentionHoursConvertToMs) {
  EXPECT_EQ(load(std::nullopt, {"log.retention.hours=2"}).topic_defaults.retention_ms, 7200000);
  EXPECT_EQ(load(std::nullopt, {"log.retention.minutes=3"}).topic_defaults.retention_ms, 180000);
  EXPECT_EQ(load(std::nullopt, {"log.retention.hours=-1"}).topic_defaults.retention_ms, -1);
}

TEST_F(BrokerConfigTest, RetentionMsBeatsMinutesBeatsHoursWhateverTheSource) {
  const auto path = write("log.retention.ms=5000\nlog.retention.minutes=2\n");
  EXPECT_EQ(load(path, {"log.retention.hours=1"}).topic_defaults.retention_ms, 5000);
  EXPECT_EQ(load(std::nullopt, {"log.retention.minutes=2", "log.retention.hours=1"})
                .topic_defaults.retention_ms,
            120000);
}

TEST_F(BrokerConfigTest, LogKeysSetTopicDefaults) {
  const BrokerConfig c =
      load(std::nullopt,
           {"log.segment.bytes=4096", "log.roll.ms=10", "log.index.size.max.bytes=1200",
            "log.index.interval.bytes=0", "log.retention.bytes=100", "message.max.bytes=2000",
            "log.message.timestamp.type=LogAppendTime", "log.cleanup.policy=compact",
            "log.flush.interval.messages=10", "log.flush.interval.ms=50"});
  const TopicConfig expected =
      apply_topic_overrides(TopicConfig{}, {{"segment.bytes", "4096"},
                                            {"segment.ms", "10"},
                                            {"segment.index.bytes", "1200"},
                                            {"index.interval.bytes", "0"},
                                            {"retention.bytes", "100"},
                                            {"max.message.bytes", "2000"},
                                            {"message.timestamp.type", "LogAppendTime"},
                                            {"cleanup.policy", "compact"},
                                            {"flush.messages", "10"},
                                            {"flush.ms", "50"}});
  EXPECT_EQ(c.topic_defaults, expected);
  EXPECT_EQ(c.log_flush_interval_messages, 10);
  EXPECT_EQ(c.log_flush_interval_ms, 50);
}

TEST_F(BrokerConfigTest, DocsNameEveryKeyOnceWithADoc) {
  std::set<std::string_view> names;
  for (const auto& d : broker_key_docs()) {
    EXPECT_TRUE(names.insert(d.name).second) << d.name;
    EXPECT_FALSE(d.doc.empty()) << d.name;
    if (default_is_computed(d.name)) continue;
    EXPECT_NO_THROW(load(std::nullopt, {std::string(d.name) + "=" + std::string(d.default_value)}))
        << d.name << " rejects its documented default";
  }
  EXPECT_TRUE(names.contains("log.retention.hours"));
  EXPECT_TRUE(names.contains("listeners"));
}

TEST_F(BrokerConfigTest, DocumentedDefaultsLoadToTheDefaultConfig) {
  std::vector<std::string> sets;
  for (const auto& d : broker_key_docs()) {
    if (!default_is_computed(d.name))
      sets.push_back(std::string(d.name) + "=" + std::string(d.default_value));
  }
  BrokerConfig expected;
  // An explicit log.flush.interval.ms also becomes the topics' flush.ms.
  expected.topic_defaults.flush_ms = expected.log_flush_interval_ms;
  EXPECT_EQ(load(std::nullopt, sets), expected);
}

TEST_F(BrokerConfigTest, ShippedPropertiesFileListsEveryKeyAtItsDefault) {
  std::ifstream in(fs::path(SLUICE_SOURCE_DIR) / "config" / "sluice.properties");
  ASSERT_TRUE(in) << "config/sluice.properties missing";
  std::string text;
  for (std::string line; std::getline(in, line);) {
    // Each key appears as "#key=default"; doc lines start with "# ".
    if (line.size() > 1 && line[0] == '#' && line[1] != ' ' && line[1] != '#') {
      text += line.substr(1) + "\n";
    }
  }
  const auto shipped = parse_properties(text, "sluice.properties");
  EXPECT_EQ(shipped.size(), broker_key_docs().size());
  for (const auto& d : broker_key_docs()) {
    auto it = shipped.find(std::string(d.name));
    ASSERT_NE(it, shipped.end()) << d.name;
    if (!default_is_computed(d.name)) {
      EXPECT_EQ(it->second, d.default_value) << d.name;
    }
  }
}

}  // namespace
}  // namespace sluice::config
