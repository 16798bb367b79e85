#include "net/http/principal_mapping.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <cctype>
#include <stdexcept>

namespace sluice::net {

PrincipalMapping::PrincipalMapping(std::string_view rules) {
  std::string_view rest = rules;
  auto skip_separators = [&] {
    while (!rest.empty() &&
           (rest.front() == ',' || std::isspace(static_cast<unsigned char>(rest.front())))) {
      rest.remove_prefix(1);
    }
  };
  skip_separators();
  while (!rest.empty()) {
    if (rest.starts_with("DEFAULT")) {
      rules_.push_back({});
      rest.remove_prefix(7);
    } else if (rest.starts_with("RULE:")) {
      const std::string_view rule = rest;
      rest.remove_prefix(5);
      const auto slash = rest.find('/');
      const auto second = slash == std::string_view::npos ? slash : rest.find('/', slash + 1);
      if (second == std::string_view::npos) {
        throw std::invalid_argument(fmt::format("'{}' is not RULE:pattern/replacement/[L|U]",
                                                rule.substr(0, rule.find(','))));
      }
      Rule r;
      r.pattern = std::make_unique<re2::RE2>(std::string(rest.substr(0, slash)), re2::RE2::Quiet);
      if (!r.pattern->ok()) {
        throw std::invalid_argument(
            fmt::format("pattern '{}' of a rule: {}", rest.substr(0, slash), r.pattern->error()));
      }
      // Kafka's $n become RE2's \n.
      const std::string_view replacement = rest.substr(slash + 1, second - slash - 1);
      for (size_t i = 0; i < replacement.size(); ++i) {
        const char c = replacement[i];
        if (c == '$' && i + 1 < replacement.size() &&
            std::isdigit(static_cast<unsigned char>(replacement[i + 1]))) {
          r.rewrite += '\\';  // the digit follows
          continue;
        }
        if (c == '\\') r.rewrite += '\\';  // a literal backslash
        r.rewrite += c;
      }
      std::string error;
      if (!r.pattern->CheckRewriteString(r.rewrite, &error)) {
        throw std::invalid_argument(
            fmt::format("replacement '{}' of a rule: {}", replacement, error));
      }
      rest.remove_prefix(second + 1);
      if (!rest.empty() && (rest.front() == 'L' || rest.front() == 'U')) {
        r.change_case = rest.front();
        rest.remove_prefix(1);
      }
      rules_.push_back(std::move(r));
    } else {
      throw std::invalid_argument(
          fmt::format("'{}' is neither RULE:... nor DEFAULT", rest.substr(0, rest.find(','))));
    }
    if (!rest.empty() && rest.front() != ',' &&
        !std::isspace(static_cast<unsigned char>(rest.front()))) {
      throw std::invalid_argument(
          fmt::format("unexpected '{}' after a rule", rest.substr(0, rest.find(','))));
    }
    skip_separators();
  }
  if (rules_.empty()) throw std::invalid_argument("no rule (DEFAULT is the usual last one)");
}

PrincipalMapping::~PrincipalMapping() = default;
PrincipalMapping::PrincipalMapping(PrincipalMapping&&) noexcept = default;
PrincipalMapping& PrincipalMapping::operator=(PrincipalMapping&&) noexcept = default;

std::optional<std::string> PrincipalMapping::map(std::string_view dn, std::string_view cn) const {
  for (const auto& rule : rules_) {
    if (!rule.pattern) {
      if (cn.empty()) return std::nullopt;
      return std::string(cn);
    }
    if (!re2::RE2::FullMatch(dn, *rule.pattern)) continue;
    std::string name;
    if (!re2::RE2::Extract(dn, *rule.pattern, rule.rewrite, &name)) continue;
    for (char& c : name) {
      if (rule.change_case == 'L')
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (rule.change_case == 'U')
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (name.empty()) return std::nullopt;
    return name;
  }
  return std::nullopt;
}

}  // namespace sluice::net
