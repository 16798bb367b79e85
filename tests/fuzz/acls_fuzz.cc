// libFuzzer target: the stored ACL document (acls.json, or the etcd key another broker wrote),
// which every broker parses. Whatever parses must hold only bindings invalid_acl accepts, and
// must survive its own encoding unchanged; the authorizer must decide on it without failing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/acl.h"
#include "common/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::broker;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto acls = acls_from_json(in, &error);
  if (!acls) {
    SLUICE_CHECK(!error.empty(), "a refused document says why");
    return 0;
  }
  for (const auto& b : *acls) SLUICE_CHECK(!invalid_acl(b), "parsed bindings are valid");
  auto again = acls_from_json(acls_to_json(*acls), &error);
  SLUICE_CHECK(again && *again == *acls, "the stored form round-trips");
  Authorizer authorizer({true, {}, false});
  authorizer.set(*acls);
  for (const auto& b : *acls) {
    (void)authorizer.allowed(b.principal, b.host, AclOperation::describe, b.resource_type,
                             b.resource_name);
  }
  return 0;
}
