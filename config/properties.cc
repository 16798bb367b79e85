// Java-style .properties text: the broker's file and each topic's topic.properties.

#include "config/detail/properties.h"

#include <fmt/format.h>

#include <map>
#include <string>

#include "config/config.h"
#include "config/detail/keys.h"

namespace sluice::config {
namespace detail {

std::vector<PropertyLine> parse_property_lines(std::string_view text,
                                               std::string_view source_name) {
  std::vector<PropertyLine> lines;
  int number = 0;
  while (!text.empty()) {
    ++number;
    const size_t eol = text.find('\n');
    const std::string_view raw = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);

    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    const size_t sep = line.find_first_of("=:");
    const std::string_view key = sep == std::string_view::npos ? "" : trim(line.substr(0, sep));
    if (key.empty()) {
      throw ConfigError(fmt::format("{}:{}: expected 'key=value' or 'key: value', got '{}'",
                                    source_name, number, line));
    }
    lines.push_back({std::string(key), std::string(trim(line.substr(sep + 1))), number});
  }
  return lines;
}

}  // namespace detail

std::map<std::string, std::string> parse_properties(std::string_view text,
                                                    std::string_view source_name) {
  std::map<std::string, std::string> properties;
  for (auto& p : detail::parse_property_lines(text, source_name)) {
    properties[std::move(p.key)] = std::move(p.value);
  }
  return properties;
}

}  // namespace sluice::config
