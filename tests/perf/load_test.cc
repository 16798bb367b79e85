// sluice-load, run as a program against the real broker: its JSON result must agree with what
// the broker stored and served, in the modes whose counts are exact.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "tests/net/broker_process.h"
#include "tests/net/http_client.h"

namespace sluice::testing {
namespace {

struct LoadRun {
  int exit_code = -1;
  std::string output;  // stdout: the JSON result
};

LoadRun run_load(const std::string& args) {
  LoadRun run;
  const std::string command = std::string(SLUICE_LOAD_BINARY) + " " + args + " --no-progress";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0) run.output.append(chunk, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

int64_t field(const std::string& json, const char* name) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc)) return -1;
  int64_t value = -1;
  if (doc[name].get(value)) {
    double d = -1;
    if (doc[name].get(d)) return -1;
    value = static_cast<int64_t>(d);
  }
  return value;
}

std::string url(const BrokerProcess& broker) {
  return "--url http://127.0.0.1:" + std::to_string(broker.port());
}

TEST(LoadTest, PipelinedProduceReportsExactlyTheRecordsTheBrokerStored) {
  BrokerProcess broker;
  auto run = run_load("produce " + url(broker) +
                      " --topic t --format raw --records-per-request 100 --connections 2"
                      " --in-flight 4 --records 5000 --duration 60");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(field(run.output, "records"), 5000) << run.output;
  EXPECT_EQ(field(run.output, "error_count"), 0) << run.output;
  EXPECT_EQ(field(run.output, "in_flight"), 4) << run.output;
  auto offsets = http_request(broker.port(), "GET", "/topics/t/partitions/0/offsets");
  EXPECT_NE(offsets.body.find("\"end_offset\":5000"), std::string::npos) << offsets.body;
}

TEST(LoadTest, ConsumerGroupInstanceReadsEveryStoredRecord) {
  BrokerProcess broker;
  ASSERT_EQ(run_load("produce " + url(broker) +
                     " --topic c --format binary --records-per-request 500 --connections 1"
                     " --records 3000 --duration 60")
                .exit_code,
            0);
  auto run = run_load("consume " + url(broker) +
                      " --topic c --format binary --group g --connections 1 --records 3000"
                      " --duration 60");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(field(run.output, "records"), 3000) << run.output;
  EXPECT_EQ(field(run.output, "error_count"), 0) << run.output;
  // The instance left its group when the run ended.
  EXPECT_EQ(http_request(broker.port(), "GET", "/consumers/g/instances/c0/offsets").status, 404);
}

TEST(LoadTest, RawFetchCountsTheRecordsOfEachReply) {
  BrokerProcess broker;
  ASSERT_EQ(run_load("produce " + url(broker) +
                     " --topic f --format raw --records-per-request 1000 --connections 1"
                     " --records 10000 --duration 60")
                .exit_code,
            0);
  auto run = run_load("fetch " + url(broker) +
                      " --topic f --format raw --max-bytes 65536 --connections 1 --records 10000"
                      " --duration 60");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GE(field(run.output, "records"), 10000) << run.output;
  EXPECT_EQ(field(run.output, "error_count"), 0) << run.output;
}

TEST(LoadTest, RefusesHostsOtherThanLoopback) {
  auto run = run_load("produce --url http://192.0.2.1:8080 --duration 1");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(run.output.empty());
}

}  // namespace
}  // namespace sluice::testing
