// Loading the broker configuration from its layers, and topic overrides.

#include "config/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "config/detail/keys.h"
#include "config/detail/properties.h"

namespace sluice::config {
namespace {

using detail::broker_keys;
using detail::find_key;
using detail::topic_keys;

constexpr std::string_view kEnvPrefix = "SLUICE_";

// One key's winning value and where it came from ("sluice.properties:3", "--set", ...).
struct Setting {
  std::string value;
  std::string source;
};

// Every key set by some layer; a later layer replaces an earlier one's value.
class Settings {
 public:
  void put(std::string_view key, std::string_view value, std::string source) {
    if (!is_key(key)) {
      throw ConfigError(fmt::format("{}: unknown configuration key '{}'", source, key));
    }
    settings_[std::string(key)] = {std::string(value), std::move(source)};
  }

  // Applies the settings in key-table order, so the table decides which of two keys writing
  // the same field wins, whatever layer each came from.
  BrokerConfig apply() const {
    BrokerConfig config;
    for (const auto& key : broker_keys()) {
      auto it = settings_.find(key.name);
      if (it == settings_.end()) continue;
      try {
        key.set(config, it->second.value);
      } catch (const ConfigError& e) {
        throw ConfigError(fmt::format("{}: {}: {}", it->second.source, key.name, e.what()));
      }
    }
    for (const auto& [key, setting] : settings_) {
      const std::string_view listener = detail::listener_of_auth_key(key);
      if (listener.empty()) continue;
      try {
        config.listener_authentication_methods[std::string(listener)] =
            detail::kAuthMethods[detail::parse_choice(setting.value, detail::kAuthMethods)];
      } catch (const ConfigError& e) {
        throw ConfigError(fmt::format("{}: {}: {}", setting.source, key, e.what()));
      }
    }
    detail::check_security(config);
    return config;
  }

  // A key of the table, or listener.name.<name>.authentication.method.
  static bool is_key(std::string_view key) {
    return find_key(broker_keys(), key) != nullptr || !detail::listener_of_auth_key(key).empty();
  }

 private:
  std::map<std::string, Setting, std::less<>> settings_;
};

std::string read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(
        fmt::format("cannot read configuration file '{}': it is a directory", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(fmt::format("cannot read configuration file '{}': {}", path.string(),
                                  std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

// SLUICE_LOG_SEGMENT_BYTES -> log.segment.bytes.
std::string key_from_env_name(std::string_view name) {
  std::string key;
  for (char c : name.substr(kEnvPrefix.size())) {
    key += c == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return key;
}

void put_file(Settings& settings, const std::filesystem::path& path) {
  const std::string source = path.string();
  for (const auto& p : detail::parse_property_lines(read_file(path), source)) {
    settings.put(p.key, p.value, fmt::format("{}:{}", source, p.line));
  }
}

// Unlike a file or --set, the environment is not all ours: Kubernetes defines SLUICE_PORT,
// SLUICE_SERVICE_HOST, ... in every pod once a Service is named `sluice`. So a variable that
// names no key is a warning, not an error; a known key's bad value still is one.
void put_env(Settings& settings, const char* const* envp) {
  for (; envp != nullptr && *envp != nullptr; ++envp) {
    const std::string_view entry = *envp;
    const size_t eq = entry.find('=');
    if (!entry.starts_with(kEnvPrefix) || eq == std::string_view::npos) continue;
    const std::string_view name = entry.substr(0, eq);
    const std::string key = key_from_env_name(name);
    if (!Settings::is_key(key)) {
      spdlog::warn("ignoring environment variable {}: no configuration key '{}'", name, key);
      continue;
    }
    settings.put(key, detail::trim(entry.substr(eq + 1)),
                 fmt::format("environment variable {}", name));
  }
}

void put_sets(Settings& settings, const std::vector<std::string>& sets) {
  for (const std::string& set : sets) {
    const size_t eq = set.find('=');
    const std::string_view key =
        eq == std::string::npos ? "" : detail::trim(std::string_view(set).substr(0, eq));
    if (key.empty()) throw ConfigError(fmt::format("--set: expected key=value, got '{}'", set));
    settings.put(key, detail::trim(std::string_view(set).substr(eq + 1)), "--set");
  }
}

}  // namespace

BrokerConfig load_broker_config(const std::optional<std::filesystem::path>& file,
                                const std::vector<std::string>& sets, const char* const* envp) {
  Settings settings;
  if (file) put_file(settings, *file);
  put_env(settings, envp);
  put_sets(settings, sets);
  return settings.apply();
}

void throw_exception_from_error(const ConfigError& error, const boost::source_location&) {
  throw error;
}

Result<TopicConfig> try_apply_topic_overrides(const TopicConfig& defaults,
                                              const std::map<std::string, std::string>& overrides) {
  TopicConfig config = defaults;
  for (const auto& [name, value] : overrides) {
    const auto* key = find_key(topic_keys(), name);
    if (key == nullptr) {
      std::vector<std::string_view> names;
      for (const auto& k : topic_keys()) names.push_back(k.name);
      return ConfigError(fmt::format("unknown topic configuration key '{}' (allowed: {})", name,
                                     fmt::join(names, ", ")));
    }
    // The value parsers throw; this is the one place their errors become values.
    try {
      key->set(config, value);
    } catch (const ConfigError& e) {
      return ConfigError(fmt::format("{}: {}", name, e.what()));
    }
  }
  return config;
}

TopicConfig apply_topic_overrides(const TopicConfig& defaults,
                                  const std::map<std::string, std::string>& overrides) {
  return try_apply_topic_overrides(defaults, overrides).value();
}

std::map<std::string, std::string> topic_config_to_map(const TopicConfig& c) {
  std::map<std::string, std::string> values;
  for (const auto& key : topic_keys()) values.emplace(key.name, key.get(c));
  return values;
}

}  // namespace sluice::config
