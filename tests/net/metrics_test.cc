// /metrics against Prometheus's own linter: `promtool check metrics` must find no problem in
// what a live broker serves. promtool comes with Debian's `prometheus` package, which also sets
// up a daemon, so the build does not install it: scripts/install-promtool.sh puts the one
// binary on the PATH (CI runs it), and without it this test is skipped.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "tests/net/api_test_util.h"
#include "tests/net/broker_process.h"
#include "tests/net/http_client.h"
#include "tests/temp_dir.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;

const std::map<std::string, std::string> kV2 = {{"Content-Type", "application/vnd.kafka.v2+json"}};

// $PROMTOOL, else promtool on the PATH.
std::optional<fs::path> find_promtool() {
  if (const char* env = std::getenv("PROMTOOL"); env != nullptr && *env != '\0') return env;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path candidate = fs::path(dir) / "promtool";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// Runs `promtool check metrics` on `text`; its exit code and output.
std::pair<int, std::string> promtool_check(const fs::path& promtool, const std::string& text) {
  TempDir dir;
  const fs::path input = dir.path() / "metrics.txt";
  std::ofstream(input) << text;
  const std::string command =
      "'" + promtool.string() + "' check metrics < '" + input.string() + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;) output.append(buf, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(MetricsTest, PromtoolFindsNoProblemInALiveBrokersMetrics) {
  const auto promtool = find_promtool();
  if (!promtool) GTEST_SKIP() << "promtool not found; scripts/install-promtool.sh installs it";
  BrokerProcess broker;
  const uint16_t port = broker.port();
  // Something in every family: requests on several routes and statuses, partitions, a group
  // with a committed offset, and a group name that needs escaping in a label.
  ASSERT_EQ(
      http_request(port, "POST", "/topics/orders", R"({"records":[{"value":1}]})", kJson).status,
      200);
  EXPECT_EQ(http_request(port, "GET", "/no/such/path").status, 404);
  const std::string group = "/consumers/g%22%5C";
  ASSERT_EQ(http_request(port, "POST", group, R"({"name":"c","format":"json"})", kV2).status, 200);
  ASSERT_EQ(http_request(port, "POST", group + "/instances/c/subscription",
                         R"({"topics":["orders"]})", kV2)
                .status,
            204);
  const auto commit =
      http_request(port, "POST", group + "/instances/c/offsets",
                   R"({"offsets":[{"topic":"orders","partition":0,"offset":0}]})", kV2);
  ASSERT_EQ(commit.status, 200) << commit.body;

  const auto metrics = http_request(port, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("sluice_http_request_duration_seconds_count{route=\"/topics/{}\"}"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("sluice_consumer_group_lag{group=\"g\\\"\\\\\""), std::string::npos)
      << metrics.body;
  // The produce above was synced: the fsync histogram has counted it.
  EXPECT_NE(metrics.body.find("sluice_fsync_duration_seconds_bucket{le=\"+Inf\"}"),
            std::string::npos)
      << metrics.body;
  EXPECT_EQ(metrics.body.find("sluice_fsync_duration_seconds_count 0\n"), std::string::npos)
      << metrics.body;
  const auto [code, output] = promtool_check(*promtool, metrics.body);
  EXPECT_EQ(code, 0) << output << "\n" << metrics.body;
  EXPECT_EQ(output, "") << metrics.body;
}

}  // namespace
}  // namespace sluice::testing
