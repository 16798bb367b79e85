// Two processes on one data directory: the second broker and `sluice recover` refuse, naming
// the directory and the PID of the broker that holds it; `sluice verify` only warns.
#include <gtest/gtest.h>

#include <string>

#include "tests/net/broker_process.h"
#include "tests/net/http_client.h"

namespace sluice::testing {
namespace {

TEST(LogDirLockTest, SecondBrokerOnTheSameLogDirExitsNamingDirAndHolder) {
  BrokerProcess first;
  const auto second = run_sluice({"serve", "--set", "log.dirs=" + first.data_dir().string(),
                                  "--set", "listeners=http://127.0.0.1:0"});
  EXPECT_NE(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find(first.data_dir().string()), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("process " + std::to_string(first.pid())), std::string::npos)
      << second.output;
  // The first one is unharmed and still serves.
  EXPECT_EQ(http_request(first.port(), "GET", "/readyz").status, 200);
}

TEST(LogDirLockTest, RecoverRefusesWhileABrokerRunsAndVerifyWarns) {
  BrokerProcess broker;
  const std::string dir = broker.data_dir().string();
  const auto recover = run_sluice({"recover", "--log-dir", dir});
  EXPECT_EQ(recover.exit_code, 1) << recover.output;
  EXPECT_NE(recover.output.find(dir), std::string::npos) << recover.output;
  EXPECT_NE(recover.output.find("process " + std::to_string(broker.pid())), std::string::npos)
      << recover.output;

  const auto verify = run_sluice({"verify", "--log-dir", dir});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_NE(verify.output.find("warning: a broker (pid " + std::to_string(broker.pid())),
            std::string::npos)
      << verify.output;

  // Once the broker is gone the lock goes with it, and recover runs.
  EXPECT_EQ(broker.terminate(), 0);
  const auto after = run_sluice({"recover", "--log-dir", dir});
  EXPECT_EQ(after.exit_code, 0) << after.output;
}

TEST(LogDirLockTest, BrokerKilledWithSigkillLeavesNoLockBehind) {
  BrokerProcess broker;
  broker.kill9();
  broker.restart();
  EXPECT_EQ(http_request(broker.port(), "GET", "/readyz").status, 200);
}

}  // namespace
}  // namespace sluice::testing
