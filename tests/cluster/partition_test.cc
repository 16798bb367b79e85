// Network partitions (docs/CLUSTER.md, "Network partitions"): etcd, three brokers and the
// test's client each run in a network namespace of their own on a private bridge
// (tests/cluster/netns.h), and iptables DROP rules cut them apart. Each test checks, besides
// its scenario, what the kill tests check: every record acknowledged with acks=all is readable
// at its offset with its bytes through every broker, and after the heal the replicas' logs are
// identical.
//
// Clients: the test's thread enters the client namespace for the whole test (setns is per
// thread, and the threads it starts inherit it), so every request the test makes, including
// the helpers' readiness checks, leaves from there; the `ip` and `iptables` commands run in
// the root namespace through the lab. Skipped, with the reason, where namespaces or iptables
// are refused (not root, no iproute2 or iptables).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/acked_records.h"
#include "tests/cluster/cluster_state.h"
#include "tests/cluster/etcd_process.h"
#include "tests/cluster/netns.h"
#include "tests/net/broker_process.h"
#include "tests/net/http_client.h"

namespace sluice::testing {
namespace {

using Clock = std::chrono::steady_clock;

const std::map<std::string, std::string> kJson = {{"Content-Type", "application/json"}};
constexpr auto kLagTime = 2000ms;  // replica.lag.time.max.ms
constexpr auto kSession = 2000ms;  // broker.session.timeout.ms

std::string host_of(int64_t id) { return "b" + std::to_string(id); }

// acks=all records, one per request, sent in a loop through the broker `via` names (which may
// change); every answer is kept with when it was sent.
class Workload {
 public:
  struct Answer {
    Clock::time_point sent;
    int64_t via = -1;
    std::string value;
    Produced result;
  };

  Workload(std::string topic, std::string prefix, std::function<HttpTarget(int64_t)> target,
           int64_t via)
      : topic_(std::move(topic)),
        prefix_(std::move(prefix)),
        target_(std::move(target)),
        via_(via) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Workload() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Answer> answers() const {
    std::lock_guard lock(mu_);
    return answers_;
  }
  size_t acked_count() const {
    std::lock_guard lock(mu_);
    return acked_;
  }
  // Successes among the requests sent after `t`.
  size_t acked_after(Clock::time_point t) const {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(std::count_if(answers_.begin(), answers_.end(), [&](auto& a) {
      return a.sent > t && a.result.offset >= 0;
    }));
  }
  // value -> offset of every success; value -> 1 of every answer that may have been appended.
  void collect(std::map<std::string, int64_t>& acked,
               std::map<std::string, int64_t>& unconfirmed) const {
    std::lock_guard lock(mu_);
    for (const auto& a : answers_) {
      if (a.result.offset >= 0) {
        acked[a.value] = a.result.offset;
      } else if (a.result.error_code != 50303 && a.result.error_code != 50302) {
        unconfirmed[a.value] = 1;  // 50304, or no answer: maybe appended
      }
    }
  }

 private:
  void loop() {
    for (int n = 0; !stop_ && n < 100000; ++n) {
      Answer a;
      a.sent = Clock::now();
      a.via = via_;
      a.value = prefix_ + std::to_string(n);
      a.result = produce_one(target_(a.via), topic_, 0, a.value);
      const bool ok = a.result.offset >= 0;
      {
        std::lock_guard lock(mu_);
        answers_.push_back(std::move(a));
        if (ok) ++acked_;
      }
      if (!ok) std::this_thread::sleep_for(50ms);  // a client's retry back-off
    }
  }

  std::string topic_;
  std::string prefix_;
  std::function<HttpTarget(int64_t)> target_;
  int64_t via_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Answer> answers_;
  size_t acked_ = 0;
  std::thread thread_;
};

class PartitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = NetworkLab::unavailable()) {
      GTEST_SKIP() << "network partition tests skipped: " << *why;
    }
    lab_ = std::make_unique<NetworkLab>(std::vector<std::string>{"etcd", "b1", "b2", "b3", "cl"});
    client_ = std::make_unique<ClientThreadNamespace>(lab_->namespace_name("cl"));
    EtcdProcess::Options etcd;
    etcd.host = lab_->address("etcd");
    etcd.command_prefix = lab_->exec_prefix("etcd");
    etcd_ = std::make_unique<EtcdProcess>(etcd);
    for (int64_t id = 1; id <= 3; ++id) {
      BrokerProcess::Options o;
      o.host = lab_->address(host_of(id));
      o.command_prefix = lab_->exec_prefix(host_of(id));
      o.sets = {"broker.id=" + std::to_string(id),
                "etcd.endpoints=" + etcd_->endpoint(),
                "broker.session.timeout.ms=" + std::to_string(kSession.count()),
                "broker.heartbeat.interval.ms=200",
                "replica.lag.time.max.ms=" + std::to_string(kLagTime.count()),
                "request.timeout.ms=4000",
                "cluster.leader.wait.ms=1000"};
      brokers_.push_back(std::make_unique<BrokerProcess>(o));
    }
    ASSERT_TRUE(eventually([&] {
      for (int64_t id = 1; id <= 3; ++id) {
        if (state(id).brokers.size() != 3) return false;
      }
      return true;
    })) << "brokers did not all register";
    cluster_id_ = state(1).cluster_id;
  }

  void TearDown() override {
    if (HasFailure() && lab_) {
      for (size_t i = 0; i < brokers_.size(); ++i) {
        std::cerr << "===== broker " << i + 1 << "\n" << brokers_[i]->output();
      }
      std::cerr << "===== iptables\n" << lab_->rules();
    }
    brokers_.clear();  // stopped by their PIDs before their namespaces go
    etcd_.reset();
    client_.reset();
    if (lab_) {
      const std::string tag = lab_->tag();
      lab_.reset();
      EXPECT_EQ(NetworkLab::leftovers(tag), "") << "the lab was not removed";
    }
  }

  HttpTarget at(int64_t id, std::chrono::milliseconds timeout = 20s) const {
    const auto& b = *brokers_[static_cast<size_t>(id - 1)];
    return HttpTarget{b.host(), b.port(), timeout};
  }
  ClusterState state(int64_t via) const { return cluster_state(at(via, 5s)); }
  PartitionInfo partition(int64_t via, const std::string& topic) const {
    return state(via).partitions.at({topic, 0});
  }
  BrokerProcess& broker(int64_t id) { return *brokers_[static_cast<size_t>(id - 1)]; }

  // A one-partition topic on all three brokers, in sync everywhere; returns its leader.
  int64_t create(const std::string& topic, const std::string& configs = "") {
    auto created = http_request(at(1), "POST", "/v3/clusters/" + cluster_id_ + "/topics",
                                R"({"topic_name":")" + topic +
                                    R"(","partitions_count":1,"replication_factor":3)" +
                                    (configs.empty() ? "" : R"(,"configs":)" + configs) + "}",
                                kJson);
    EXPECT_EQ(created.status, 201) << created.body;
    EXPECT_TRUE(eventually([&] { return in_sync_everywhere(topic, 3); }));
    return partition(1, topic).leader;
  }
  bool in_sync_everywhere(const std::string& topic, size_t isr) const {
    for (int64_t id = 1; id <= 3; ++id) {
      const auto p = partition(id, topic);
      if (p.leader < 0 || p.isr.size() != isr) return false;
    }
    return true;
  }
  static std::vector<int64_t> sorted(std::vector<int64_t> v) {
    std::sort(v.begin(), v.end());
    return v;
  }

  // The zero-loss checks: what the workloads had acknowledged is at its offset through every
  // broker; then one more acks=all record, every broker stopped, and the three logs compared
  // and verified.
  void expect_nothing_lost(const std::string& topic, const std::vector<const Workload*>& loads) {
    std::map<std::string, int64_t> acked;
    std::map<std::string, int64_t> unconfirmed;
    for (const auto* w : loads) w->collect(acked, unconfirmed);
    EXPECT_GT(acked.size(), 0u);
    for (int64_t id = 1; id <= 3; ++id) {
      SCOPED_TRACE("read through broker " + std::to_string(id));
      expect_acknowledged_records(read_all(at(id), topic, 0), acked, unconfirmed);
      if (HasFatalFailure()) return;
    }
    Produced last;
    ASSERT_TRUE(eventually([&] {
      last = produce_one(at(partition(1, topic).leader), topic, 0, "last");
      return last.offset >= 0;
    })) << last.status
        << " " << last.body;
    ASSERT_TRUE(eventually([&] { return in_sync_everywhere(topic, 3); }));
    std::this_thread::sleep_for(1s);  // the followers fetch it
    for (auto& b : brokers_) ASSERT_EQ(b->terminate(), 0) << b->output();
    const auto reference = dump(broker(1).data_dir(), topic + "-0");
    EXPECT_NE(reference.find("baseOffset"), std::string::npos) << reference;
    for (int64_t id = 2; id <= 3; ++id) {
      EXPECT_EQ(dump(broker(id).data_dir(), topic + "-0"), reference) << "broker " << id;
    }
    for (auto& b : brokers_) {
      auto verified = run_sluice({"verify", "--log-dir", b->data_dir().string()});
      EXPECT_EQ(verified.exit_code, 0) << verified.output;
    }
  }

  std::unique_ptr<NetworkLab> lab_;
  std::unique_ptr<ClientThreadNamespace> client_;
  std::unique_ptr<EtcdProcess> etcd_;
  std::vector<std::unique_ptr<BrokerProcess>> brokers_;
  std::string cluster_id_;
};

// Kafka's data loss in Jepsen's 2013 analysis: the ISR shrinks to the leader, then the leader
// loses the cluster. With unclean election off no other broker may lead, so the partition is
// unavailable (acks=all answers an error, never a success) until the leader comes back with
// everything it acknowledged. The test's client keeps reaching the isolated leader: the worst
// case, a client on the minority side.
TEST_F(PartitionTest, AnIsolatedLeaderAloneInTheIsrIsNotReplacedAndLosesNothing) {
  const int64_t leader = create("solo", R"([{"name":"min.insync.replicas","value":"1"}])");
  ASSERT_FALSE(HasFailure());
  std::vector<int64_t> followers;
  for (int64_t id = 1; id <= 3; ++id) {
    if (id != leader) followers.push_back(id);
  }
  Workload load(
      "solo", "s", [&](int64_t id) { return at(id); }, leader);
  ASSERT_TRUE(eventually([&] { return load.acked_count() >= 20; }));
  // The followers lose the leader: they leave the ISR; acks=all goes on (min.insync.replicas 1).
  lab_->isolate(host_of(leader), {host_of(followers[0]), host_of(followers[1])});
  ASSERT_TRUE(eventually(
      [&] { return partition(followers[0], "solo").isr == std::vector<int64_t>{leader}; }, 15s));
  const auto shrunk = Clock::now();
  ASSERT_TRUE(eventually([&] { return load.acked_after(shrunk) >= 10; }));
  // Then etcd: the leader fences itself, its lease expires, and the partition goes offline.
  lab_->cut(host_of(leader), "etcd");
  ASSERT_TRUE(eventually([&] { return partition(followers[0], "solo").leader == -1; }, 15s));
  const auto offline = Clock::now();
  // Unavailable, and nobody else elected, for twice the session timeout.
  std::vector<Produced> refused;
  while (Clock::now() - offline < 2 * kSession) {
    for (int64_t id : followers) {
      const auto p = partition(id, "solo");
      EXPECT_EQ(p.leader, -1) << "broker " << id << " sees leader " << p.leader;
      EXPECT_EQ(p.isr, std::vector<int64_t>{leader});
      refused.push_back(produce_one(at(id), "solo", 0, "refused"));
    }
    std::this_thread::sleep_for(200ms);
  }
  const auto healed = Clock::now();
  lab_->heal();
  // Through the followers and through the isolated leader, acks=all answered an error code.
  for (const auto& r : refused) {
    EXPECT_LT(r.offset, 0) << r.body;
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_GT(r.error_code, 0) << r.body;
  }
  for (const auto& a : load.answers()) {
    if (a.sent <= offline || a.sent >= healed) continue;
    EXPECT_LT(a.result.offset, 0) << a.value << " acknowledged by the isolated leader";
    EXPECT_GT(a.result.error_code, 0) << a.result.status << " " << a.result.body;
  }
  // The leader comes back, leads again, and the followers catch up.
  ASSERT_TRUE(eventually([&] { return in_sync_everywhere("solo", 3); }, 30s));
  EXPECT_EQ(partition(followers[0], "solo").leader, leader);
  const auto back = Clock::now();
  ASSERT_TRUE(eventually([&] { return load.acked_after(back) >= 5; }));
  load.stop();
  expect_nothing_lost("solo", {&load});
}

// The leader still holds its lease but no follower reaches it: it removes them from the ISR in
// etcd after replica.lag.time.max.ms, and acks=all is refused (50303) before anything is
// appended while the ISR is below min.insync.replicas.
TEST_F(PartitionTest, ALeaderCutFromItsFollowersShrinksTheIsrAndRefusesAcksAllBelowTheMinimum) {
  const int64_t leader = create("cut");
  ASSERT_FALSE(HasFailure());
  std::vector<int64_t> followers;
  for (int64_t id = 1; id <= 3; ++id) {
    if (id != leader) followers.push_back(id);
  }
  const int64_t epoch = partition(leader, "cut").leader_epoch;
  Workload load(
      "cut", "c", [&](int64_t id) { return at(id); }, leader);
  ASSERT_TRUE(eventually([&] { return load.acked_count() >= 20; }));
  lab_->isolate(host_of(leader), {host_of(followers[0]), host_of(followers[1])});
  const auto cut = Clock::now();  // the rules are in place: what is sent now stays on the leader
  // etcd holds the smaller ISR: every broker sees it.
  ASSERT_TRUE(eventually(
      [&] {
        for (int64_t id = 1; id <= 3; ++id) {
          if (partition(id, "cut").isr != std::vector<int64_t>{leader}) return false;
        }
        return true;
      },
      15s));
  const auto shrunk = Clock::now();
  EXPECT_EQ(partition(followers[0], "cut").leader, leader);
  EXPECT_EQ(partition(followers[0], "cut").leader_epoch, epoch);
  const auto refused = produce_one(at(leader), "cut", 0, "refused");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.error_code, 50303) << refused.body;
  EXPECT_NE(refused.body.find("ISR [" + std::to_string(leader) + "], min.insync.replicas 2"),
            std::string::npos)
      << refused.body;
  std::this_thread::sleep_for(1s);
  const auto healed = Clock::now();
  lab_->heal();
  // Nothing sent after the cut was acknowledged before the heal; what was sent once etcd had
  // the smaller ISR was refused before being appended.
  for (const auto& a : load.answers()) {
    if (a.sent <= cut || a.sent >= healed) continue;
    EXPECT_LT(a.result.offset, 0) << a.value << " acknowledged without its followers";
    if (a.sent > shrunk + 500ms) {
      EXPECT_EQ(a.result.error_code, 50303) << a.result.body;
    }
  }
  ASSERT_TRUE(eventually([&] { return in_sync_everywhere("cut", 3); }, 30s));
  const auto back = Clock::now();
  ASSERT_TRUE(eventually([&] { return load.acked_after(back) >= 5; }));
  load.stop();
  expect_nothing_lost("cut", {&load});
}

// A follower that cannot reach the leader (but reaches etcd and everyone else) leaves the ISR
// once it has not caught up for replica.lag.time.max.ms; acks=all goes on with the other two,
// and the follower catches up and rejoins after the heal.
TEST_F(PartitionTest, AFollowerCutFromTheLeaderLeavesTheIsrAfterTheLagTimeAndRejoins) {
  const int64_t leader = create("lag");
  ASSERT_FALSE(HasFailure());
  const int64_t cut_off = leader % 3 + 1;
  const int64_t other = 6 - leader - cut_off;
  Workload load(
      "lag", "l", [&](int64_t id) { return at(id); }, leader);
  ASSERT_TRUE(eventually([&] { return load.acked_count() >= 20; }));
  ASSERT_EQ(partition(other, "lag").isr.size(), 3u);
  const auto cut = Clock::now();
  lab_->cut(host_of(cut_off), host_of(leader));
  const std::vector<int64_t> two = sorted({leader, other});
  ASSERT_TRUE(eventually([&] { return sorted(partition(other, "lag").isr) == two; }, 20s));
  const auto left = Clock::now() - cut;
  // Not before the lag time (less the follower's last long-poll), not long after it.
  EXPECT_GE(left, kLagTime - 600ms);
  EXPECT_LE(left, kLagTime + 10s);
  const auto shrunk = Clock::now();
  ASSERT_TRUE(eventually([&] { return load.acked_after(shrunk) >= 10; }));
  EXPECT_EQ(sorted(partition(cut_off, "lag").isr), two);  // it reaches etcd: it sees itself out
  EXPECT_EQ(partition(other, "lag").leader, leader);
  lab_->heal();
  ASSERT_TRUE(eventually([&] { return in_sync_everywhere("lag", 3); }, 30s));
  const auto back = Clock::now();
  ASSERT_TRUE(eventually([&] { return load.acked_after(back) >= 5; }));
  load.stop();
  expect_nothing_lost("lag", {&load});
}

// The leader loses etcd but still reaches its followers and clients: once its last lease
// renewal is older than the session timeout it fences itself and acknowledges nothing, the
// controller elects an in-sync follower at the next epoch, and after the heal the old leader
// follows it (cutting what it alone held, if anything) until the three logs match.
TEST_F(PartitionTest, ALeaderCutFromEtcdFencesItselfAndFollowsTheNewLeaderAfterTheHeal) {
  const int64_t old_leader = create("fence");
  ASSERT_FALSE(HasFailure());
  const int64_t via = old_leader % 3 + 1;  // a majority-side broker the second client uses
  const int64_t epoch = partition(via, "fence").leader_epoch;
  Workload to_old(
      "fence", "o", [&](int64_t id) { return at(id); }, old_leader);
  Workload to_majority(
      "fence", "m", [&](int64_t id) { return at(id); }, via);
  ASSERT_TRUE(eventually([&] { return to_old.acked_count() >= 10; }));
  ASSERT_TRUE(eventually([&] { return to_majority.acked_count() >= 10; }));
  const auto cut = Clock::now();
  lab_->cut(host_of(old_leader), "etcd");
  int64_t new_leader = -1;
  ASSERT_TRUE(eventually(
      [&] {
        const auto p = partition(via, "fence");
        new_leader = p.leader;
        return p.leader >= 0 && p.leader != old_leader && p.leader_epoch > epoch;
      },
      15s));
  const auto elected = Clock::now();
  EXPECT_LT(elected - cut, kSession + 8s);
  // The majority side takes acks=all again.
  ASSERT_TRUE(eventually([&] { return to_majority.acked_after(elected) >= 10; }, 15s));
  // Both followers follow the new leader now. The old one refuses acks=all, but acks=1 makes
  // no promise past a failover (as in Kafka): what it appends now, only it holds.
  ASSERT_TRUE(eventually([&] {
    return partition(old_leader % 3 + 1, "fence").leader == new_leader &&
           partition((old_leader + 1) % 3 + 1, "fence").leader == new_leader;
  }));
  std::this_thread::sleep_for(500ms);
  auto alone = http_request(at(old_leader), "POST", "/topics/fence/partitions/0?acks=1",
                            R"({"records":[{"value":"alone1"},{"value":"alone2"}]})", kJsonV2);
  const bool appended_alone = alone.status == 200 &&
                              alone.body.find(R"("offset":)") != std::string::npos &&
                              alone.body.find(R"("offset":null)") == std::string::npos;
  const auto healed = Clock::now();
  lab_->heal();
  // The old leader acknowledged nothing sent once the new one was elected.
  for (const auto& a : to_old.answers()) {
    if (a.sent <= elected || a.sent >= healed) continue;
    EXPECT_LT(a.result.offset, 0) << a.value << " acknowledged by the fenced leader";
  }
  // It comes back as a follower of the new leader and rejoins the ISR.
  ASSERT_TRUE(eventually(
      [&] {
        return in_sync_everywhere("fence", 3) &&
               partition(old_leader, "fence").leader == new_leader;
      },
      30s));
  const auto back = Clock::now();
  ASSERT_TRUE(eventually([&] { return to_old.acked_after(back) >= 5; }));
  to_old.stop();
  to_majority.stop();
  if (appended_alone) {
    // It cut what it alone held, keeping a copy in quarantine, before it followed.
    EXPECT_NE(broker(old_leader).output().find("log diverged from broker"), std::string::npos);
    const auto quarantine = broker(old_leader).data_dir() / "quarantine" / "fence-0";
    EXPECT_TRUE(std::filesystem::exists(quarantine) && !std::filesystem::is_empty(quarantine));
    const auto log = read_all(at(new_leader), "fence", 0);
    for (const auto& [offset, value] : log) EXPECT_NE(value.rfind("alone", 0), 0u) << offset;
  }
  expect_nothing_lost("fence", {&to_old, &to_majority});
}

}  // namespace
}  // namespace sluice::testing
