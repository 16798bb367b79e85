#include "broker/acl_store.h"

#include <fmt/format.h>

#include <system_error>

#include "common/file.h"

namespace sluice::broker {

FileAclStore::FileAclStore(std::filesystem::path file, Authorizer& authorizer)
    : file_(std::move(file)), authorizer_(authorizer) {}

std::optional<std::string> FileAclStore::load() {
  std::error_code ec;
  if (!std::filesystem::exists(file_, ec)) {
    if (ec) return fmt::format("cannot read ACLs from {}: {}", file_.string(), ec.message());
    authorizer_.set({});
    return std::nullopt;
  }
  auto content = read_file(file_);
  if (!content) {
    return fmt::format("cannot read ACLs from {}: {}", file_.string(), content.error().message());
  }
  std::string error;
  auto acls = acls_from_json(*content, &error);
  if (!acls) return fmt::format("ACL file {} is damaged: {}", file_.string(), error);
  authorizer_.set(std::move(*acls));
  return std::nullopt;
}

std::optional<std::string> FileAclStore::update(const Change& change) {
  std::lock_guard lock(mu_);
  auto next = change(*authorizer_.acls());
  if (auto r = write_file_atomically(file_, acls_to_json(next)); !r) {
    return fmt::format("cannot write ACLs to {}: {}", file_.string(), r.error().message());
  }
  authorizer_.set(std::move(next));
  return std::nullopt;
}

}  // namespace sluice::broker
