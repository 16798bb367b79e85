#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// Access control lists in Kafka's model (docs/SECURITY.md): who (a principal, from a host) may
// or may not do what (an operation) to which resource (a topic, a group, the cluster), named
// literally or by a prefix. Pure data and matching; where the lists are kept is AclStore's.
namespace sluice::broker {

// `any` only in filters (and `all` in bindings, meaning every operation).
enum class AclOperation {
  any,
  all,
  read,
  write,
  create,
  delete_,
  alter,
  describe,
  describe_configs,
  alter_configs
};
enum class AclResourceType { any, topic, group, cluster };
// `any` and `match` only in filters: `match` finds every binding that applies to one name.
enum class AclPatternType { any, match, literal, prefixed };
enum class AclPermission { any, allow, deny };

// The cluster resource's one name, as Kafka calls it.
inline constexpr std::string_view kClusterResourceName = "kafka-cluster";

// Kafka's upper-case names ("READ", "DESCRIBE_CONFIGS", "TOPIC", "PREFIXED", "ALLOW").
std::string_view to_string(AclOperation op);
std::string_view to_string(AclResourceType type);
std::string_view to_string(AclPatternType type);
std::string_view to_string(AclPermission permission);
// Case-insensitive; nullopt for an unknown name.
std::optional<AclOperation> parse_acl_operation(std::string_view name);
std::optional<AclResourceType> parse_acl_resource_type(std::string_view name);
std::optional<AclPatternType> parse_acl_pattern_type(std::string_view name);
std::optional<AclPermission> parse_acl_permission(std::string_view name);

// One access control entry bound to a resource pattern.
struct AclBinding {
  AclResourceType resource_type = AclResourceType::topic;
  std::string resource_name;
  AclPatternType pattern_type = AclPatternType::literal;
  std::string principal;  // "User:alice", "User:*" for everyone
  std::string host = "*";
  AclOperation operation = AclOperation::read;
  AclPermission permission = AclPermission::allow;
  auto operator<=>(const AclBinding&) const = default;
};

// Why `b` cannot be stored (nullopt: it can): types that are filters' only (ANY, MATCH), a
// principal not of the form "Type:name", a host that is neither "*" nor an IP address, an
// empty name, a cluster resource not named kafka-cluster, an operation the resource type does
// not have.
std::optional<std::string> invalid_acl(const AclBinding& b);

// Which bindings a listing or a deletion concerns; an unset field matches everything, as
// Kafka's AclBindingFilter. With pattern_type `match`, resource_name is a resource's name and
// the filter finds the bindings that apply to it: literal ones of that name or "*", and
// prefixed ones that the name starts with.
struct AclFilter {
  AclResourceType resource_type = AclResourceType::any;
  std::optional<std::string> resource_name;
  AclPatternType pattern_type = AclPatternType::any;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  AclOperation operation = AclOperation::any;
  AclPermission permission = AclPermission::any;

  bool matches(const AclBinding& b) const;
};

// The stored form: {"version":1,"acls":[{...}]}, each binding with the v3 API's field names.
std::string acls_to_json(std::span<const AclBinding> acls);
// nullopt when `json` is not that form or holds a binding invalid_acl refuses; `error` then
// says what was wrong.
std::optional<std::vector<AclBinding>> acls_from_json(std::string_view json, std::string* error);

// Decides requests (authorizer.enable). Kafka's rules: a super user may do everything; a
// DENY that matches the principal (or User:*), the host (or *), the operation (or ALL) and the
// resource wins; otherwise an ALLOW that matches does, where an ALLOW of READ, WRITE, DELETE or
// ALTER also allows DESCRIBE and one of ALTER_CONFIGS also DESCRIBE_CONFIGS; a resource that
// no binding names at all is open to everyone only with allow.everyone.if.no.acl.found.
// Thread-safe: the lists are swapped whole (set) and read without holding a lock long.
class Authorizer {
 public:
  struct Options {
    bool enabled = false;
    std::vector<std::string> super_users;  // principals
    bool allow_everyone_if_no_acl_found = false;
  };
  explicit Authorizer(Options options);

  bool enabled() const { return options_.enabled; }
  bool allowed(std::string_view principal, std::string_view host, AclOperation op,
               AclResourceType type, std::string_view name) const;
  // Replaces every binding.
  void set(std::vector<AclBinding> acls);
  std::shared_ptr<const std::vector<AclBinding>> acls() const;

 private:
  const Options options_;
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<AclBinding>> acls_;  // guarded by mu_
};

}  // namespace sluice::broker
