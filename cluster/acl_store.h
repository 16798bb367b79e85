#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "broker/acl_store.h"
#include "cluster/metadata.h"

namespace sluice::cluster {

class ClusterNode;

// Cluster mode: the ACLs live in etcd under <prefix>/acls (one document). A change is a
// compare-and-swap on that key, so concurrent changes through different brokers never lose
// one another; every broker applies the new document from its watch (within a heartbeat or
// so), the broker that made the change at once.
class EtcdAclStore final : public broker::AclStore {
 public:
  EtcdAclStore(ClusterNode& node, broker::Authorizer& authorizer);
  std::optional<std::string> update(const Change& change) override;
  // Applies the ACLs of `view` if they are newer than those applied; a document that does not
  // parse is logged and the ACLs applied before stay (never fewer checks by accident).
  void apply(const ClusterView& view);

 private:
  ClusterNode& node_;
  broker::Authorizer& authorizer_;
  std::mutex mu_;
  int64_t applied_revision_ = -1;  // guarded by mu_: the acls key's mod_revision applied
};

}  // namespace sluice::cluster
