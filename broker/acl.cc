#include "broker/acl.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <utility>

#include "common/json_writer.h"
#include "common/text.h"

namespace sluice::broker {
namespace {

template <class E, size_t N>
std::optional<E> parse_name(std::string_view name,
                            const std::array<std::pair<E, std::string_view>, N>& names) {
  for (const auto& [value, text] : names) {
    if (std::equal(name.begin(), name.end(), text.begin(), text.end(), [](char a, char b) {
          return (a >= 'a' && a <= 'z' ? char(a - 'a' + 'A') : a) == b;
        })) {
      return value;
    }
  }
  return std::nullopt;
}

template <class E, size_t N>
std::string_view name_of(E value, const std::array<std::pair<E, std::string_view>, N>& names) {
  for (const auto& [v, text] : names) {
    if (v == value) return text;
  }
  return "UNKNOWN";
}

constexpr std::array<std::pair<AclOperation, std::string_view>, 10> kOperations{{
    {AclOperation::any, "ANY"},
    {AclOperation::all, "ALL"},
    {AclOperation::read, "READ"},
    {AclOperation::write, "WRITE"},
    {AclOperation::create, "CREATE"},
    {AclOperation::delete_, "DELETE"},
    {AclOperation::alter, "ALTER"},
    {AclOperation::describe, "DESCRIBE"},
    {AclOperation::describe_configs, "DESCRIBE_CONFIGS"},
    {AclOperation::alter_configs, "ALTER_CONFIGS"},
}};
constexpr std::array<std::pair<AclResourceType, std::string_view>, 4> kResourceTypes{{
    {AclResourceType::any, "ANY"},
    {AclResourceType::topic, "TOPIC"},
    {AclResourceType::group, "GROUP"},
    {AclResourceType::cluster, "CLUSTER"},
}};
constexpr std::array<std::pair<AclPatternType, std::string_view>, 4> kPatternTypes{{
    {AclPatternType::any, "ANY"},
    {AclPatternType::match, "MATCH"},
    {AclPatternType::literal, "LITERAL"},
    {AclPatternType::prefixed, "PREFIXED"},
}};
constexpr std::array<std::pair<AclPermission, std::string_view>, 3> kPermissions{{
    {AclPermission::any, "ANY"},
    {AclPermission::allow, "ALLOW"},
    {AclPermission::deny, "DENY"},
}};

// The operations each resource type has (Kafka's, less those Sluice has no use for).
bool operation_applies(AclResourceType type, AclOperation op) {
  using O = AclOperation;
  switch (type) {
    case AclResourceType::topic:
      return op != O::any;
    case AclResourceType::group:
      return op == O::all || op == O::read || op == O::describe || op == O::delete_;
    case AclResourceType::cluster:
      return op == O::all || op == O::create || op == O::alter || op == O::describe ||
             op == O::describe_configs || op == O::alter_configs;
    case AclResourceType::any:
      return false;
  }
  return false;
}

bool is_ip_address(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

// Whether a binding's resource pattern applies to the resource `name` of its type.
bool pattern_applies(const AclBinding& b, std::string_view name) {
  if (b.pattern_type == AclPatternType::literal) {
    return b.resource_name == name || b.resource_name == "*";
  }
  return b.pattern_type == AclPatternType::prefixed && name.starts_with(b.resource_name);
}

// Whether an ALLOW of `granted` allows `wanted`.
bool allow_covers(AclOperation granted, AclOperation wanted) {
  using O = AclOperation;
  if (granted == wanted || granted == O::all) return true;
  if (wanted == O::describe) {
    return granted == O::read || granted == O::write || granted == O::delete_ ||
           granted == O::alter;
  }
  return wanted == O::describe_configs && granted == O::alter_configs;
}

}  // namespace

std::string_view to_string(AclOperation op) { return name_of(op, kOperations); }
std::string_view to_string(AclResourceType type) { return name_of(type, kResourceTypes); }
std::string_view to_string(AclPatternType type) { return name_of(type, kPatternTypes); }
std::string_view to_string(AclPermission permission) { return name_of(permission, kPermissions); }

std::optional<AclOperation> parse_acl_operation(std::string_view name) {
  return parse_name(name, kOperations);
}
std::optional<AclResourceType> parse_acl_resource_type(std::string_view name) {
  return parse_name(name, kResourceTypes);
}
std::optional<AclPatternType> parse_acl_pattern_type(std::string_view name) {
  return parse_name(name, kPatternTypes);
}
std::optional<AclPermission> parse_acl_permission(std::string_view name) {
  return parse_name(name, kPermissions);
}

std::optional<std::string> invalid_acl(const AclBinding& b) {
  if (b.resource_type == AclResourceType::any)
    return "resource_type must be TOPIC, GROUP or CLUSTER";
  if (b.pattern_type != AclPatternType::literal && b.pattern_type != AclPatternType::prefixed) {
    return "pattern_type must be LITERAL or PREFIXED";
  }
  if (b.permission == AclPermission::any) return "permission must be ALLOW or DENY";
  if (b.resource_name.empty() || b.resource_name.size() > 1024 ||
      has_control_characters(b.resource_name)) {
    return "resource_name must be 1 to 1024 characters, none of them control characters";
  }
  if (b.resource_type == AclResourceType::cluster &&
      (b.resource_name != kClusterResourceName || b.pattern_type != AclPatternType::literal)) {
    return fmt::format("the CLUSTER resource is named '{}' (LITERAL)", kClusterResourceName);
  }
  const auto colon = b.principal.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == b.principal.size() ||
      b.principal.size() > 1024 || has_control_characters(b.principal)) {
    return fmt::format("principal '{}' is not of the form Type:name (User:alice, User:*)",
                       b.principal);
  }
  if (b.host != "*" && !is_ip_address(b.host)) {
    return fmt::format("host '{}' is neither '*' nor an IP address", b.host);
  }
  if (!operation_applies(b.resource_type, b.operation)) {
    return fmt::format("operation {} does not apply to resource type {}", to_string(b.operation),
                       to_string(b.resource_type));
  }
  return std::nullopt;
}

bool AclFilter::matches(const AclBinding& b) const {
  if (resource_type != AclResourceType::any && resource_type != b.resource_type) return false;
  if (principal && *principal != b.principal) return false;
  if (host && *host != b.host) return false;
  if (operation != AclOperation::any && operation != b.operation) return false;
  if (permission != AclPermission::any && permission != b.permission) return false;
  switch (pattern_type) {
    case AclPatternType::any:
      return !resource_name || *resource_name == b.resource_name;
    case AclPatternType::match:
      return !resource_name || pattern_applies(b, *resource_name);
    case AclPatternType::literal:
    case AclPatternType::prefixed:
      return pattern_type == b.pattern_type &&
             (!resource_name || *resource_name == b.resource_name);
  }
  return false;
}

std::string acls_to_json(std::span<const AclBinding> acls) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("version").value(int64_t{1}).key("acls").begin_array();
  for (const auto& b : acls) {
    w.begin_object()
        .key("resource_type")
        .value(to_string(b.resource_type))
        .key("resource_name")
        .value(b.resource_name)
        .key("pattern_type")
        .value(to_string(b.pattern_type))
        .key("principal")
        .value(b.principal)
        .key("host")
        .value(b.host)
        .key("operation")
        .value(to_string(b.operation))
        .key("permission")
        .value(to_string(b.permission))
        .end_object();
  }
  w.end_array().end_object();
  return out;
}

std::optional<std::vector<AclBinding>> acls_from_json(std::string_view json, std::string* error) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto e = parser.parse(json.data(), json.size()).get(doc)) {
    *error = fmt::format("not JSON: {}", simdjson::error_message(e));
    return std::nullopt;
  }
  int64_t version = 0;
  simdjson::dom::array list;
  if (doc["version"].get_int64().get(version) || version != 1 ||
      doc["acls"].get_array().get(list)) {
    *error = "expected {\"version\":1,\"acls\":[...]}";
    return std::nullopt;
  }
  std::vector<AclBinding> out;
  for (auto item : list) {
    auto text = [&](const char* field) -> std::optional<std::string_view> {
      std::string_view s;
      if (item[field].get_string().get(s)) return std::nullopt;
      return s;
    };
    auto resource_type = text("resource_type");
    auto resource_name = text("resource_name");
    auto pattern_type = text("pattern_type");
    auto principal = text("principal");
    auto host = text("host");
    auto operation = text("operation");
    auto permission = text("permission");
    AclBinding b;
    auto rt = resource_type ? parse_acl_resource_type(*resource_type) : std::nullopt;
    auto pt = pattern_type ? parse_acl_pattern_type(*pattern_type) : std::nullopt;
    auto op = operation ? parse_acl_operation(*operation) : std::nullopt;
    auto pe = permission ? parse_acl_permission(*permission) : std::nullopt;
    if (!rt || !pt || !op || !pe || !resource_name || !principal || !host) {
      *error = fmt::format("binding {} lacks a field or has an unknown name", out.size());
      return std::nullopt;
    }
    b.resource_type = *rt;
    b.resource_name = std::string(*resource_name);
    b.pattern_type = *pt;
    b.principal = std::string(*principal);
    b.host = std::string(*host);
    b.operation = *op;
    b.permission = *pe;
    if (auto why = invalid_acl(b)) {
      *error = fmt::format("binding {}: {}", out.size(), *why);
      return std::nullopt;
    }
    out.push_back(std::move(b));
  }
  return out;
}

Authorizer::Authorizer(Options options)
    : options_(std::move(options)), acls_(std::make_shared<const std::vector<AclBinding>>()) {}

void Authorizer::set(std::vector<AclBinding> acls) {
  auto next = std::make_shared<const std::vector<AclBinding>>(std::move(acls));
  std::lock_guard lock(mu_);
  acls_ = std::move(next);
}

std::shared_ptr<const std::vector<AclBinding>> Authorizer::acls() const {
  std::lock_guard lock(mu_);
  return acls_;
}

bool Authorizer::allowed(std::string_view principal, std::string_view host, AclOperation op,
                         AclResourceType type, std::string_view name) const {
  if (!options_.enabled) return true;
  if (std::find(options_.super_users.begin(), options_.super_users.end(), principal) !=
      options_.super_users.end()) {
    return true;
  }
  const auto acls = this->acls();
  bool any_for_resource = false;
  bool allow = false;
  for (const auto& b : *acls) {
    if (b.resource_type != type || !pattern_applies(b, name)) continue;
    any_for_resource = true;
    if (b.principal != principal && b.principal != "User:*") continue;
    if (b.host != "*" && b.host != host) continue;
    if (b.permission == AclPermission::deny) {
      if (b.operation == op || b.operation == AclOperation::all) return false;
    } else if (allow_covers(b.operation, op)) {
      allow = true;
    }
  }
  return allow || (!any_for_resource && options_.allow_everyone_if_no_acl_found);
}

}  // namespace sluice::broker
