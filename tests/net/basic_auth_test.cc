// HTTP Basic authentication against the real binary: the users file made with `sluice user`,
// missing, wrong and right credentials on every route family.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "common/base64.h"
#include "tests/net/broker_process.h"
#include "tests/net/http_client.h"
#include "tests/net/security_util.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// `sluice user add NAME` with the password on standard input.
ShellResult add_user(const std::string& file, const std::string& name,
                     const std::string& password) {
  return shell("printf '%s\\n' '" + password + "' | " + std::string(SLUICE_BINARY) + " user add " +
               name + " --users-file " + file);
}

std::map<std::string, std::string> basic(
    const std::string& user, const std::string& password,
    const std::string& content_type = "application/vnd.kafka.json.v2+json") {
  return {{"Authorization", "Basic " + base64_encode(user + ":" + password)},
          {"Content-Type", content_type}};
}

class BasicAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    users_ = dir_.file("users").string();
    ASSERT_EQ(add_user(users_, "alice", "s3cret:with colon").exit_code, 0);
    BrokerProcess::Options options;
    options.sets = {"authentication.method=basic", "authentication.basic.users.file=" + users_};
    broker_ = std::make_unique<BrokerProcess>(options);
  }

  HttpResponse call(std::string_view method, std::string_view target, std::string_view body,
                    const std::map<std::string, std::string>& headers) {
    return http_request(broker_->port(), method, target, body, headers);
  }

  TempDir dir_;
  std::string users_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(BasicAuthTest, ProbesAnswerWithoutCredentials) {
  EXPECT_EQ(call("GET", "/healthz", {}, {}).status, 200);
  EXPECT_EQ(call("GET", "/readyz", {}, {}).status, 200);
}

TEST_F(BasicAuthTest, EveryRouteFamilyNeedsRightCredentials) {
  const std::string records = R"({"records":[{"value":{"n":1}}]})";
  struct Case {
    std::string method, target, body;
    std::string content_type = "application/vnd.kafka.json.v2+json";
  };
  const std::vector<Case> cases = {
      {"POST", "/topics/auth", records},                                    // v2 produce
      {"GET", "/topics", ""},                                               // v2 metadata
      {"GET", "/topics/auth/partitions/0/records?offset=0&timeout=0", ""},  // fetch
      {"POST", "/consumers/g", R"({"name":"c","format":"json"})",
       "application/vnd.kafka.v2+json"},  // consumer groups
      {"GET", "/v3/clusters", ""},        // v3
      {"GET", "/metrics", ""},            // operations
      {"GET", "/v1/recovery", ""},
      {"GET", "/no/such/route", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.target);
    const auto missing =
        call(c.method, c.target, c.body, {{"Content-Type", "application/vnd.kafka.json.v2+json"}});
    EXPECT_EQ(missing.status, 401);
    EXPECT_EQ(missing.header("www-authenticate"), "Basic realm=\"sluice\"");
    EXPECT_THAT(missing.body, HasSubstr("\"error_code\":40101"));
    const auto wrong = call(c.method, c.target, c.body, basic("alice", "guess", c.content_type));
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(wrong.header("www-authenticate"), "Basic realm=\"sluice\"");
    EXPECT_THAT(wrong.body, HasSubstr("\"error_code\":40101"));
    EXPECT_EQ(
        call(c.method, c.target, c.body, basic("mallory", "s3cret:with colon", c.content_type))
            .status,
        401);
    const auto right =
        call(c.method, c.target, c.body, basic("alice", "s3cret:with colon", c.content_type));
    EXPECT_NE(right.status, 401) << right.body;
    EXPECT_LT(right.status, c.target == "/no/such/route" ? 500 : 300) << right.body;
  }
  // The refused produce stored nothing: only the authenticated one did.
  const auto fetched =
      call("GET", "/topics/auth/partitions/0/records?offset=0&timeout=0", {},
           {{"Authorization", basic("alice", "s3cret:with colon")["Authorization"]},
            {"Accept", "application/vnd.kafka.json.v2+json"}});
  EXPECT_THAT(fetched.body, HasSubstr("\"offset\":0"));
  EXPECT_THAT(fetched.body, Not(HasSubstr("\"offset\":1")));
}

TEST_F(BasicAuthTest, StreamedProduceNeedsCredentials) {
  const std::string url = "http://127.0.0.1:" + std::to_string(broker_->port());
  const auto clusters = call("GET", "/v3/clusters", {}, basic("alice", "s3cret:with colon"));
  const auto at = clusters.body.find("\"cluster_id\":\"") + 14;
  const std::string cluster = clusters.body.substr(at, clusters.body.find('"', at) - at);
  const std::string stream =
      "printf '{\"value\":{\"type\":\"JSON\",\"data\":1}}' | curl -sS "
      "-H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' "
      "--data-binary @- -w '\\n%{http_code}' ";
  const std::string target = url + "/v3/clusters/" + cluster + "/topics/streamed/records";
  const auto refused = shell(stream + target);
  EXPECT_THAT(refused.output, HasSubstr("40101"));
  EXPECT_THAT(refused.output, HasSubstr("\n401"));
  const auto stored = shell(stream + "-u 'alice:s3cret:with colon' " + target);
  EXPECT_THAT(stored.output, HasSubstr("\"error_code\":200"));
}

TEST_F(BasicAuthTest, UsersFileHoldsNoPasswordInClear) {
  std::ifstream in(users_);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_THAT(text, HasSubstr("alice:pbkdf2-sha256:"));
  EXPECT_THAT(text, Not(HasSubstr("s3cret")));
  EXPECT_THAT(text, Not(HasSubstr(base64_encode("s3cret:with colon"))));
  EXPECT_EQ(std::filesystem::status(users_).permissions() & std::filesystem::perms::others_all,
            std::filesystem::perms::none);
}

TEST_F(BasicAuthTest, UsersFileChangesApplyWithoutRestart) {
  EXPECT_EQ(call("GET", "/topics", {}, basic("bob", "pw-of-bob")).status, 401);
  ASSERT_EQ(add_user(users_, "bob", "pw-of-bob").exit_code, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 401;
  while (status == 401 && std::chrono::steady_clock::now() < deadline) {
    status = call("GET", "/topics", {}, basic("bob", "pw-of-bob")).status;
  }
  EXPECT_EQ(status, 200);
  const auto removed =
      shell(std::string(SLUICE_BINARY) + " user remove bob --users-file " + users_);
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  const auto later = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (status == 200 && std::chrono::steady_clock::now() < later) {
    status = call("GET", "/topics", {}, basic("bob", "pw-of-bob")).status;
  }
  EXPECT_EQ(status, 401);
  EXPECT_EQ(call("GET", "/topics", {}, basic("alice", "s3cret:with colon")).status, 200);
}

TEST_F(BasicAuthTest, RepeatedFailuresFromOneAddressAreSlowedDown) {
  auto timed_failure = [this] {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(call("GET", "/topics", {}, basic("alice", "nope")).status, 401);
    return std::chrono::steady_clock::now() - start;
  };
  // The first three are not delayed: the slowest of them is what one PBKDF2 costs here (a
  // sanitizer build on a busy machine takes hundreds of milliseconds).
  std::chrono::steady_clock::duration undelayed{};
  for (int i = 0; i < 3; ++i) undelayed = std::max(undelayed, timed_failure());
  EXPECT_GE(timed_failure(), std::chrono::milliseconds(100));
  EXPECT_GE(timed_failure(), std::chrono::milliseconds(200));
  EXPECT_GE(timed_failure(), std::chrono::milliseconds(400));
  // A success clears the count: the next failure is answered without the 800 ms the seventh
  // would have waited, in about the time of an undelayed one.
  EXPECT_EQ(call("GET", "/topics", {}, basic("alice", "s3cret:with colon")).status, 200);
  EXPECT_LT(timed_failure(), undelayed + std::chrono::milliseconds(400));
}

TEST(UserCommandTest, AddReplaceAndRemove) {
  TempDir dir;
  const std::string file = dir.file("users").string();
  EXPECT_THAT(add_user(file, "carol", "one").output, HasSubstr("added user 'carol'"));
  EXPECT_THAT(add_user(file, "carol", "two").output, HasSubstr("replaced user 'carol'"));
  const auto empty =
      shell("printf '\\n' | " + std::string(SLUICE_BINARY) + " user add dave --users-file " + file);
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_THAT(empty.output, HasSubstr("no password given"));
  const auto bad_name = add_user(file, "a:b", "x");
  EXPECT_EQ(bad_name.exit_code, 2);
  EXPECT_THAT(bad_name.output, HasSubstr("'a:b' is not a valid user name"));
  const auto remove = shell(std::string(SLUICE_BINARY) + " user remove carol --users-file " + file);
  EXPECT_EQ(remove.exit_code, 0) << remove.output;
  const auto again = shell(std::string(SLUICE_BINARY) + " user remove carol --users-file " + file);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.output, HasSubstr("no user 'carol'"));
}

TEST(BasicAuthStartTest, UnreadableUsersFileStopsStartUp) {
  TempDir dir;
  const auto r =
      run_sluice({"serve", "--set", "log.dirs=" + dir.file("data").string(), "--set",
                  "listeners=http://127.0.0.1:0", "--set", "authentication.method=basic", "--set",
                  "authentication.basic.users.file=" + dir.file("no").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("cannot read users file '" + dir.file("no").string() + "'"));
}

}  // namespace
}  // namespace sluice::testing
