#pragma once

#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "broker/acl.h"

namespace sluice::broker {

// Where a broker's ACLs are kept. A change is durable before update returns, and the
// authorizer applies it to the next request on this broker.
class AclStore {
 public:
  // The bindings to store, computed from the current ones.
  using Change = std::function<std::vector<AclBinding>(const std::vector<AclBinding>&)>;
  virtual ~AclStore() = default;
  // Blocking (a file write or an etcd round trip). nullopt on success, else what failed.
  virtual std::optional<std::string> update(const Change& change) = 0;
};

// A standalone broker's ACLs: kFileName in its first log directory, rewritten whole and
// atomically (a crash leaves the old list or the new one).
class FileAclStore final : public AclStore {
 public:
  static constexpr std::string_view kFileName = "acls.json";

  FileAclStore(std::filesystem::path file, Authorizer& authorizer);
  // Reads the file into the authorizer (no file: no ACLs). The error names the file and why.
  std::optional<std::string> load();
  std::optional<std::string> update(const Change& change) override;

 private:
  const std::filesystem::path file_;
  Authorizer& authorizer_;
  std::mutex mu_;  // one change at a time
};

}  // namespace sluice::broker
