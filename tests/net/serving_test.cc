// The serving half in this process (InProcessBroker): handlers against a real broker, without
// a spawned binary.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "broker/partition_log.h"
#include "tests/net/in_process.h"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;
using net::http::verb;

const std::map<std::string, std::string> kJson = {
    {"Content-Type", "application/vnd.kafka.json.v2+json"}};

// Holds every fdatasync while closed, so a test can keep the flusher inside one.
class SyncGate {
 public:
  Result<void> sync(int fd) {
    {
      std::unique_lock lock(mu_);
      ++waiting_;
      changed_.notify_all();
      // Bounded: a broken test must not hang the suite.
      changed_.wait_for(lock, 60s, [&] { return open_; });
      --waiting_;
    }
    return broker::fdatasync_fd(fd);
  }
  void close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  bool wait_for_a_sync() {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, 30s, [&] { return waiting_ > 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool open_ = true;
  int waiting_ = 0;
};

template <typename T>
bool ready(std::future<T>& f, std::chrono::milliseconds wait = 0ms) {
  return f.wait_for(wait) == std::future_status::ready;
}

// I/O threads never sync nor wait for a flush: while the flusher is stuck in an fdatasync, a
// durable produce and a topic delete (which must wait for that flush round) are parked off the
// I/O thread, and a health check on the same thread still answers.
TEST(ServingTest, ASlowSyncHoldsUpNoOtherRequestOnTheSameIoThread) {
  auto gate = std::make_shared<SyncGate>();
  InProcessBroker::Options options;
  options.hooks.sync = [gate](int fd) { return gate->sync(fd); };
  InProcessBroker broker(options);
  const std::string cluster = broker.broker().cluster_id();
  for (const char* topic : {"slow", "doomed"}) {
    auto r = broker.call(verb::post, std::string("/topics/") + topic + "?acks=1",
                         R"({"records":[{"value":1}]})", kJson);
    ASSERT_EQ(r.message.result_int(), 200) << r.message.body();
  }

  gate->close();
  auto produce =
      broker.start(verb::post, "/topics/slow?acks=all", R"({"records":[{"value":2}]})", kJson);
  ASSERT_TRUE(gate->wait_for_a_sync()) << "the flusher never synced";
  auto remove = broker.start(verb::delete_, "/v3/clusters/" + cluster + "/topics/doomed");
  auto health = broker.start(verb::get, "/healthz");
  const bool answered = ready(health, 30s);
  const bool produce_waited = !ready(produce);
  const bool delete_waited = !ready(remove);
  gate->open();
  EXPECT_TRUE(answered) << "the health check waited for the sync";
  EXPECT_TRUE(produce_waited) << "acks=all answered before its sync";
  EXPECT_TRUE(delete_waited) << "the delete did not wait for the flush round";
  if (answered) {
    EXPECT_EQ(health.get().message.result_int(), 200);
  }
  auto produced = produce.get();
  EXPECT_EQ(produced.message.result_int(), 200) << produced.message.body();
  EXPECT_NE(produced.message.body().find(R"("offset":1)"), std::string::npos)
      << produced.message.body();
  EXPECT_EQ(remove.get().message.result_int(), 204);
}

// The first consumer instance on a broker creates __consumer_offsets (50 partition
// directories, each synced): on the broker's worker, never on the I/O thread that took the
// request. With the worker held, the create waits and a health check still answers.
TEST(ServingTest, TheFirstConsumerInstanceCreatesTheOffsetsTopicOffTheIoThread) {
  InProcessBroker broker;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  broker.broker().worker().post([released] { released.wait_for(60s); });

  auto create = broker.start(verb::post, "/consumers/g", R"({"name":"i1","format":"json"})",
                             {{"Content-Type", "application/vnd.kafka.v2+json"}});
  auto health = broker.start(verb::get, "/healthz");
  const bool answered = ready(health, 30s);
  const bool create_waited = !ready(create, 200ms);
  release.set_value();
  EXPECT_TRUE(answered) << "the health check waited for the worker";
  EXPECT_TRUE(create_waited) << "the offsets topic was created on the I/O thread";
  auto created = create.get();
  EXPECT_EQ(created.message.result_int(), 200) << created.message.body();
  auto commit = broker.call(verb::post, "/consumers/g/instances/i1/offsets", R"({"offsets":[]})",
                            {{"Content-Type", "application/vnd.kafka.v2+json"}});
  EXPECT_EQ(commit.message.result_int(), 200) << commit.message.body();
}

// A consumer request naming a topic that does not exist is refused naming that topic: a commit
// (whose writes go to __consumer_offsets, which the message must not name instead) and a seek
// to the beginning or the end.
TEST(ServingTest, ConsumerRequestsNamingAMissingTopicNameIt) {
  InProcessBroker broker;
  const std::map<std::string, std::string> v2 = {{"Content-Type", "application/vnd.kafka.v2+json"}};
  auto created = broker.call(verb::post, "/consumers/g", R"({"name":"i1"})", v2);
  ASSERT_EQ(created.message.result_int(), 200) << created.message.body();
  const std::string not_found =
      R"({"error_code":40401,"message":"Topic not found. Topic 'nosuch' does not exist."})";
  auto commit = broker.call(verb::post, "/consumers/g/instances/i1/offsets",
                            R"({"offsets":[{"topic":"nosuch","partition":0,"offset":1}]})", v2);
  EXPECT_EQ(commit.message.result_int(), 404);
  EXPECT_EQ(commit.message.body(), not_found);
  for (const char* edge : {"beginning", "end"}) {
    auto seek = broker.call(verb::post, std::string("/consumers/g/instances/i1/positions/") + edge,
                            R"({"partitions":[{"topic":"nosuch","partition":0}]})", v2);
    EXPECT_EQ(seek.message.result_int(), 404) << edge;
    EXPECT_EQ(seek.message.body(), not_found) << edge;
  }
  auto assign = broker.call(verb::post, "/consumers/g/instances/i1/assignments",
                            R"({"partitions":[{"topic":"nosuch","partition":0}]})", v2);
  EXPECT_EQ(assign.message.result_int(), 404);
  EXPECT_EQ(assign.message.body(), not_found);
}

}  // namespace
}  // namespace sluice::testing
