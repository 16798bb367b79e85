// The authorizer's decisions (Kafka's rules) and the stored form of ACLs.

#include "broker/acl.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "broker/acl_store.h"
#include "tests/temp_dir.h"

namespace sluice::broker {
namespace {

using O = AclOperation;
using R = AclResourceType;
using P = AclPatternType;

AclBinding acl(R type, std::string name, P pattern, std::string principal, O op,
               AclPermission permission = AclPermission::allow, std::string host = "*") {
  return {type, std::move(name), pattern, std::move(principal), std::move(host), op, permission};
}

std::unique_ptr<Authorizer> make(std::vector<AclBinding> acls, bool allow_if_none = false,
                                 std::vector<std::string> supers = {}) {
  auto a =
      std::make_unique<Authorizer>(Authorizer::Options{true, std::move(supers), allow_if_none});
  a->set(std::move(acls));
  return a;
}

TEST(AuthorizerTest, ALiteralAllowGrantsExactlyThatOperationOnThatResource) {
  auto a = make({acl(R::topic, "orders", P::literal, "User:alice", O::write)});
  EXPECT_TRUE(a->allowed("User:alice", "10.0.0.1", O::write, R::topic, "orders"));
  EXPECT_FALSE(a->allowed("User:alice", "10.0.0.1", O::read, R::topic, "orders"));
  EXPECT_FALSE(a->allowed("User:bob", "10.0.0.1", O::write, R::topic, "orders"));
  EXPECT_FALSE(a->allowed("User:alice", "10.0.0.1", O::write, R::topic, "orders2"));
  EXPECT_FALSE(a->allowed("User:alice", "10.0.0.1", O::write, R::group, "orders"));
}

TEST(AuthorizerTest, PrefixedAndWildcardPatternsMatch) {
  auto a = make({acl(R::topic, "logs-", P::prefixed, "User:alice", O::read),
                 acl(R::group, "*", P::literal, "User:*", O::read)});
  EXPECT_TRUE(a->allowed("User:alice", "h", O::read, R::topic, "logs-app"));
  EXPECT_TRUE(a->allowed("User:alice", "h", O::read, R::topic, "logs-"));
  EXPECT_FALSE(a->allowed("User:alice", "h", O::read, R::topic, "log"));
  EXPECT_TRUE(a->allowed("User:anyone", "h", O::read, R::group, "g1"));
}

TEST(AuthorizerTest, DenyWinsOverAllow) {
  auto a = make({acl(R::topic, "t", P::prefixed, "User:*", O::all),
                 acl(R::topic, "t-secret", P::literal, "User:bob", O::read, AclPermission::deny)});
  EXPECT_TRUE(a->allowed("User:bob", "h", O::read, R::topic, "t-public"));
  EXPECT_FALSE(a->allowed("User:bob", "h", O::read, R::topic, "t-secret"));
  EXPECT_TRUE(a->allowed("User:bob", "h", O::write, R::topic, "t-secret"));  // only READ denied
  EXPECT_TRUE(a->allowed("User:alice", "h", O::read, R::topic, "t-secret"));
}

TEST(AuthorizerTest, ReadWriteDeleteAlterImplyDescribe) {
  for (O op : {O::read, O::write, O::delete_, O::alter}) {
    auto a = make({acl(R::topic, "t", P::literal, "User:a", op)});
    EXPECT_TRUE(a->allowed("User:a", "h", O::describe, R::topic, "t")) << to_string(op);
  }
  auto configs = make({acl(R::topic, "t", P::literal, "User:a", O::alter_configs)});
  EXPECT_TRUE(configs->allowed("User:a", "h", O::describe_configs, R::topic, "t"));
  EXPECT_FALSE(configs->allowed("User:a", "h", O::describe, R::topic, "t"));
  // A DENY of READ does not deny DESCRIBE.
  auto deny = make({acl(R::topic, "t", P::literal, "User:a", O::describe),
                    acl(R::topic, "t", P::literal, "User:a", O::read, AclPermission::deny)});
  EXPECT_TRUE(deny->allowed("User:a", "h", O::describe, R::topic, "t"));
}

TEST(AuthorizerTest, HostsNarrowABinding) {
  auto a = make(
      {acl(R::topic, "t", P::literal, "User:a", O::read, AclPermission::allow, "192.168.1.5")});
  EXPECT_TRUE(a->allowed("User:a", "192.168.1.5", O::read, R::topic, "t"));
  EXPECT_FALSE(a->allowed("User:a", "192.168.1.6", O::read, R::topic, "t"));
}

TEST(AuthorizerTest, SuperUsersAndResourcesWithoutAclsFollowTheSettings) {
  auto closed = make({acl(R::topic, "named", P::literal, "User:a", O::read)}, false, {"User:root"});
  EXPECT_TRUE(closed->allowed("User:root", "h", O::delete_, R::topic, "anything"));
  EXPECT_FALSE(closed->allowed("User:b", "h", O::read, R::topic, "unnamed"));
  auto open = make({acl(R::topic, "named", P::literal, "User:a", O::read)}, true);
  EXPECT_TRUE(open->allowed("User:b", "h", O::read, R::topic, "unnamed"));
  EXPECT_FALSE(open->allowed("User:b", "h", O::read, R::topic, "named"));  // it has ACLs
  Authorizer off({false, {}, false});
  EXPECT_TRUE(off.allowed("User:b", "h", O::delete_, R::cluster, "kafka-cluster"));
}

TEST(AclTest, InvalidBindingsAreRefusedWithTheReason) {
  auto ok = acl(R::topic, "t", P::literal, "User:a", O::read);
  EXPECT_FALSE(invalid_acl(ok));
  auto bad = ok;
  bad.principal = "alice";
  EXPECT_NE(invalid_acl(bad)->find("Type:name"), std::string::npos);
  bad = ok;
  bad.host = "example.com";
  EXPECT_NE(invalid_acl(bad)->find("IP address"), std::string::npos);
  bad = ok;
  bad.pattern_type = P::match;
  EXPECT_TRUE(invalid_acl(bad));
  bad = acl(R::group, "g", P::literal, "User:a", O::write);
  EXPECT_NE(invalid_acl(bad)->find("does not apply"), std::string::npos);
  bad = acl(R::cluster, "other", P::literal, "User:a", O::alter);
  EXPECT_NE(invalid_acl(bad)->find("kafka-cluster"), std::string::npos);
}

TEST(AclTest, FiltersMatchAsKafkasDo) {
  const auto literal = acl(R::topic, "logs-app", P::literal, "User:a", O::read);
  const auto prefixed = acl(R::topic, "logs-", P::prefixed, "User:a", O::read);
  const auto wildcard = acl(R::topic, "*", P::literal, "User:b", O::write, AclPermission::deny);
  AclFilter all;
  EXPECT_TRUE(all.matches(literal) && all.matches(prefixed) && all.matches(wildcard));
  AclFilter match;
  match.pattern_type = P::match;
  match.resource_name = "logs-app";
  EXPECT_TRUE(match.matches(literal) && match.matches(prefixed) && match.matches(wildcard));
  AclFilter exact;
  exact.resource_name = "logs-";
  EXPECT_FALSE(exact.matches(literal));
  EXPECT_TRUE(exact.matches(prefixed));
  AclFilter denies;
  denies.permission = AclPermission::deny;
  EXPECT_FALSE(denies.matches(literal));
  EXPECT_TRUE(denies.matches(wildcard));
}

TEST(AclTest, TheStoredFormRoundTripsAndRejectsDamage) {
  const std::vector<AclBinding> acls = {
      acl(R::topic, "a\"b", P::prefixed, "User:x", O::alter_configs),
      acl(R::cluster, "kafka-cluster", P::literal, "User:*", O::describe, AclPermission::deny,
          "::1")};
  std::string error;
  auto back = acls_from_json(acls_to_json(acls), &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, acls);
  EXPECT_FALSE(acls_from_json("{\"version\":2,\"acls\":[]}", &error));
  EXPECT_FALSE(acls_from_json("{\"version\":1,\"acls\":[{\"resource_type\":\"TOPIC\"}]}", &error));
  EXPECT_FALSE(acls_from_json("not json", &error));
}

TEST(FileAclStoreTest, ChangesAreDurableAndADamagedFileIsRefused) {
  testing::TempDir dir;
  const auto file = dir.path() / FileAclStore::kFileName;
  {
    Authorizer a({true, {}, false});
    FileAclStore store(file, a);
    ASSERT_FALSE(store.load());  // no file: no ACLs
    EXPECT_TRUE(a.acls()->empty());
    ASSERT_FALSE(store.update([](const std::vector<AclBinding>& current) {
      auto next = current;
      next.push_back(acl(R::topic, "t", P::literal, "User:a", O::read));
      return next;
    }));
    EXPECT_EQ(a.acls()->size(), 1u);
  }
  Authorizer again({true, {}, false});
  FileAclStore reopened(file, again);
  ASSERT_FALSE(reopened.load());
  ASSERT_EQ(again.acls()->size(), 1u);
  EXPECT_TRUE(again.allowed("User:a", "h", O::read, R::topic, "t"));
  std::ofstream(file) << "{\"version\":1,\"acls\":[{";
  auto failed = reopened.load();
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->find(file.string()), std::string::npos) << *failed;
  EXPECT_EQ(again.acls()->size(), 1u);  // what was applied stays
}

}  // namespace
}  // namespace sluice::broker
