#include "cluster/acl_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "cluster/node.h"

namespace sluice::cluster {

EtcdAclStore::EtcdAclStore(ClusterNode& node, broker::Authorizer& authorizer)
    : node_(node), authorizer_(authorizer) {}

void EtcdAclStore::apply(const ClusterView& view) {
  std::lock_guard lock(mu_);
  if (view.acls_mod_revision <= applied_revision_) return;
  std::vector<broker::AclBinding> acls;
  if (!view.acls.empty()) {
    std::string error;
    auto parsed = broker::acls_from_json(view.acls, &error);
    if (!parsed) {
      spdlog::error("ACLs at etcd key {} (revision {}) not applied, the previous ones stay: {}",
                    node_.layout().acls(), view.acls_mod_revision, error);
      return;
    }
    acls = std::move(*parsed);
  }
  authorizer_.set(std::move(acls));
  applied_revision_ = view.acls_mod_revision;
}

std::optional<std::string> EtcdAclStore::update(const Change& change) {
  const std::string key = node_.layout().acls();
  for (int attempt = 0; attempt < 20; ++attempt) {
    const auto view = node_.view();
    std::vector<broker::AclBinding> current;
    if (!view->acls.empty()) {
      std::string error;
      auto parsed = broker::acls_from_json(view->acls, &error);
      if (!parsed) return fmt::format("the ACLs at etcd key {} are damaged: {}", key, error);
      current = std::move(*parsed);
    }
    auto next = change(current);
    Txn txn;
    txn.compare.push_back(
        {key, Compare::Target::mod, Compare::Op::equal, view->acls_mod_revision, {}});
    txn.success.push_back(TxnOp::put(key, broker::acls_to_json(next)));
    auto answer = node_.txn(txn);
    if (!answer) return fmt::format("etcd did not take the change: {}", answer.error().message());
    if (answer->succeeded) {
      std::lock_guard lock(mu_);
      if (answer->header.revision > applied_revision_) {
        authorizer_.set(std::move(next));
        applied_revision_ = answer->header.revision;
      }
      return std::nullopt;
    }
    // Another broker changed them first: start again from its version once the view has it.
    const int64_t seen = view->acls_mod_revision;
    node_.wait_for([seen](const ClusterView& v) { return v.acls_mod_revision != seen; },
                   std::chrono::milliseconds(1000));
  }
  return "the ACLs kept changing during this change; retry";
}

}  // namespace sluice::cluster
