#pragma once

#include <string>
#include <string_view>
#include <vector>

// Line-level .properties parsing, for callers that report errors by line. Internal to config/.
namespace sluice::config::detail {

struct PropertyLine {
  std::string key;
  std::string value;
  int line = 0;  // 1-based
};

// The key/value lines of `text` in file order, repeats included; see parse_properties for the
// syntax. Throws ConfigError naming `source_name`:line on a malformed line.
std::vector<PropertyLine> parse_property_lines(std::string_view text, std::string_view source_name);

}  // namespace sluice::config::detail
