// libFuzzer target: topic configuration, which clients set when they create a topic or alter
// its configs, and which topic.properties files hold. Any text either parses and applies, or
// fails with ConfigError; nothing else may escape. A config that applies must survive the
// round trip through topic_config_to_map, as topic.properties stores it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/check.h"
#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::config;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  TopicConfig applied;
  try {
    applied = apply_topic_overrides(TopicConfig{}, parse_properties(text, "fuzz.properties"));
  } catch (const ConfigError& e) {
    SLUICE_CHECK(std::string_view(e.what()).size() > 0, "a config error says what is wrong");
    return 0;
  }
  const TopicConfig again = apply_topic_overrides(TopicConfig{}, topic_config_to_map(applied));
  SLUICE_CHECK(again == applied, "a topic config round-trips through its properties");
  return 0;
}
