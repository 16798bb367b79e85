#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

// ssl.principal.mapping.rules: how a client certificate becomes a principal's name, in a
// simple form of Kafka's rules. A comma-separated list, tried in order, of
//   RULE:pattern/replacement/[L|U]  the whole subject (RFC 2253, "CN=alice,OU=ops,O=acme")
//                                   must match the RE2 pattern; the name is the replacement,
//                                   where $1..$9 stand for the pattern's groups, lower- (L) or
//                                   upper-cased (U) if asked; a pattern holds no '/'
//   DEFAULT                         the subject's CN
// The first that applies gives the name; none applying refuses the certificate.
namespace sluice::net {

class PrincipalMapping {
 public:
  // Throws std::invalid_argument naming the rule that does not parse.
  explicit PrincipalMapping(std::string_view rules);
  ~PrincipalMapping();
  PrincipalMapping(PrincipalMapping&&) noexcept;
  PrincipalMapping& operator=(PrincipalMapping&&) noexcept;

  // The name for a certificate with subject `dn` and common name `cn`; nullopt when no rule
  // applies (or DEFAULT meets a subject without a CN).
  std::optional<std::string> map(std::string_view dn, std::string_view cn) const;

 private:
  struct Rule {
    std::unique_ptr<re2::RE2> pattern;  // null: DEFAULT
    std::string rewrite;                // RE2's form (\1)
    char change_case = 0;               // 'L', 'U' or 0
  };
  std::vector<Rule> rules_;
};

}  // namespace sluice::net
