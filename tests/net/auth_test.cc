#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "common/base64.h"
#include "net/http/credentials.h"
#include "net/http/users_file.h"
#include "tests/temp_dir.h"

namespace sluice::net {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(BasicAuthorizationTest, ParsesUserAndPassword) {
  auto c = parse_basic_authorization("Basic " + base64_encode("alice:p:w d"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "p:w d");  // everything after the first ':'
  c = parse_basic_authorization("  bAsIc   " + base64_encode("bob:") + " ");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "bob");
  EXPECT_EQ(c->password, "");
}

TEST(BasicAuthorizationTest, RefusesAnythingElse) {
  for (const std::string& header : std::vector<std::string>{
           "", "Basic", "Basic ", "Bearer " + base64_encode("a:b"), "Basic " + base64_encode("ab"),
           "Basic " + base64_encode(":b"), "Basic YWxpY2U6c2VjcmV0!",
           "Basic YWxpY2U6c2VjcmV0=", "Basicx " + base64_encode("a:b")}) {
    EXPECT_FALSE(parse_basic_authorization(header)) << header;
  }
}

TEST(BasicAuthorizationTest, OnlyTheProbesNeedNoCredentials) {
  EXPECT_TRUE(is_unauthenticated_path("/healthz"));
  EXPECT_TRUE(is_unauthenticated_path("/readyz?verbose=1"));
  EXPECT_FALSE(is_unauthenticated_path("/healthz/x"));
  EXPECT_FALSE(is_unauthenticated_path("/metrics"));
  EXPECT_FALSE(is_unauthenticated_path("/%68ealthz"));
}

TEST(UsersFileTest, EntriesVerifyOnlyTheirPassword) {
  const UserEntry entry = hash_password("correct horse", 1000);
  EXPECT_TRUE(verify_password(entry, "correct horse"));
  EXPECT_FALSE(verify_password(entry, "correct hors"));
  EXPECT_FALSE(verify_password(entry, ""));
  // A fresh salt every time: the same password never gives the same entry.
  EXPECT_NE(hash_password("correct horse", 1000).hash, entry.hash);
}

TEST(UsersFileTest, RoundTripsThroughTheFileWithoutTheClearPassword) {
  testing::TempDir dir;
  Users users;
  users["alice"] = hash_password("wonderland", 1000);
  users["bob"] = hash_password("builder", 1000);
  write_users_file(dir.file("users"), users);
  std::ifstream in(dir.file("users"));
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_THAT(text, Not(HasSubstr("wonderland")));
  EXPECT_THAT(text, Not(HasSubstr(base64_encode("wonderland"))));
  EXPECT_THAT(text, HasSubstr("alice:pbkdf2-sha256:1000:"));
  const Users back = read_users_file(dir.file("users"));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_TRUE(verify_password(back.at("alice"), "wonderland"));
  EXPECT_TRUE(verify_password(back.at("bob"), "builder"));
  EXPECT_EQ(std::filesystem::status(dir.file("users")).permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(UsersFileTest, MalformedLineNamesSourceAndLine) {
  const std::string good = render_users({{"alice", hash_password("x", 1)}});
  EXPECT_NO_THROW(parse_users("# comment\n\n" + good, "users"));
  auto error_of = [](const std::string& text) {
    try {
      parse_users(text, "users");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error_of("alice:clear-password\n"), HasSubstr("users:1: not five"));
  EXPECT_THAT(error_of("\nalice:md5:1:AAAA:AAAA\n"),
              HasSubstr("users:2: unknown hash scheme 'md5'"));
  EXPECT_THAT(error_of("alice:pbkdf2-sha256:0:AAAA:AAAA\n"), HasSubstr("bad iteration count '0'"));
  EXPECT_THAT(error_of("alice:pbkdf2-sha256:1:AAAA:AAAA\n"), HasSubstr("bad hash"));
  EXPECT_THAT(error_of(good + good), HasSubstr("users:2: user 'alice' appears twice"));
  EXPECT_THAT(error_of(" x:pbkdf2-sha256:1:AAAA:AAAA\n"), HasSubstr("bad user name ' x'"));
}

TEST(UsersFileTest, UnreadableFileIsNamed) {
  EXPECT_THROW(
      {
        try {
          read_users_file("/nonexistent/users");
        } catch (const std::runtime_error& e) {
          EXPECT_THAT(e.what(), HasSubstr("cannot read users file '/nonexistent/users'"));
          throw;
        }
      },
      std::runtime_error);
}

}  // namespace
}  // namespace sluice::net
