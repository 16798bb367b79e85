// Replicated partitions (docs/CLUSTER.md, "Replication"): three brokers hold the same log,
// acks=all survives the leader's death, a returning replica cuts what diverged and catches
// up, and acks=all refuses to run below min.insync.replicas.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/acked_records.h"
#include "tests/cluster/cluster_state.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;

const std::map<std::string, std::string> kJson = {{"Content-Type", "application/json"}};

class ReplicationTest : public ClusterFixture {
 protected:
  void start(const std::vector<std::string>& extra = {}) {
    brokers_ = start_brokers(3, extra);
    ASSERT_FALSE(HasFailure());
    cluster_id_ = cluster_state(port(1)).cluster_id;
  }
  void create(const std::string& topic, int partitions) {
    auto created = http_request(port(1), "POST", "/v3/clusters/" + cluster_id_ + "/topics",
                                R"({"topic_name":")" + topic + R"(","partitions_count":)" +
                                    std::to_string(partitions) + R"(,"replication_factor":3})",
                                kJson);
    ASSERT_EQ(created.status, 201) << created.body;
    ASSERT_TRUE(eventually([&] { return all_in_sync(topic, partitions, 3); }));
  }
  // Every live broker shows each partition led, with `isr` members.
  bool all_in_sync(const std::string& topic, int partitions, size_t isr) {
    for (auto& b : brokers_) {
      if (b->pid() <= 0) continue;
      auto s = cluster_state(b->port());
      for (int p = 0; p < partitions; ++p) {
        auto it = s.partitions.find({topic, p});
        if (it == s.partitions.end() || it->second.leader < 0 || it->second.isr.size() != isr) {
          return false;
        }
      }
    }
    return true;
  }
  PartitionInfo partition(int64_t via, const std::string& topic, int64_t p) {
    return cluster_state(port(via)).partitions.at({topic, p});
  }
  // After the brokers stopped: `dir` dumps the same on each of `ids` as on the first, whose
  // dump it returns.
  std::string expect_same_log(const std::string& dir, std::initializer_list<int64_t> ids) {
    const auto reference = dump(broker(*ids.begin()).data_dir(), dir);
    for (int64_t id : ids) EXPECT_EQ(dump(broker(id).data_dir(), dir), reference) << dir;
    return reference;
  }
  // Brokers of a partition left to its leader alone: an R=2 topic `topic` with the config
  // `config` (a v3 configs entry) takes `record` at offset 0, then its follower stops cleanly
  // and the ISR shrinks to the leader; the third broker holds no replica.
  struct Alone {
    int64_t leader = -1;
    int64_t follower = -1;
    int64_t bystander = -1;
    int64_t epoch = -1;  // the leader epoch before the follower stopped
  };
  Alone leader_left_alone(const std::string& topic, const std::string& config,
                          const std::string& record) {
    Alone a;
    auto created = http_request(port(1), "POST", "/v3/clusters/" + cluster_id_ + "/topics",
                                R"({"topic_name":")" + topic +
                                    R"(","partitions_count":1,"replication_factor":2,"configs":[)" +
                                    config + "]}",
                                kJson);
    EXPECT_EQ(created.status, 201) << created.body;
    if (created.status != 201 || !eventually([&] { return all_in_sync(topic, 1, 2); })) {
      ADD_FAILURE() << topic << " never had its two replicas in sync";
      return a;
    }
    const auto before = partition(1, topic, 0);
    a.leader = before.leader;
    a.follower = before.replicas[0] == a.leader ? before.replicas[1] : before.replicas[0];
    a.bystander = 6 - a.leader - a.follower;
    a.epoch = before.leader_epoch;
    EXPECT_EQ(produce_one(port(a.leader), topic, 0, record).offset, 0);
    EXPECT_EQ(broker(a.follower).terminate(), 0);
    EXPECT_TRUE(eventually([&] { return partition(a.bystander, topic, 0).isr.size() == 1; }));
    return a;
  }
  // Every broker's data directory passes `sluice verify`.
  void expect_verified() {
    for (auto& b : brokers_) {
      auto verified = run_sluice({"verify", "--log-dir", b->data_dir().string()});
      EXPECT_EQ(verified.exit_code, 0) << verified.output;
    }
  }
  // A failed test shows what each broker logged.
  void TearDown() override {
    if (!HasFailure()) return;
    for (size_t i = 0; i < brokers_.size(); ++i) {
      std::cerr << "===== broker " << i + 1 << "\n" << brokers_[i]->output();
    }
  }
  uint16_t port(int64_t id) const { return brokers_[static_cast<size_t>(id - 1)]->port(); }
  BrokerProcess& broker(int64_t id) { return *brokers_[static_cast<size_t>(id - 1)]; }

  std::vector<std::unique_ptr<BrokerProcess>> brokers_;
  std::string cluster_id_;
};

TEST_F(ReplicationTest, ThreeReplicasHoldTheSameLogUpToTheHighWatermark) {
  start();
  if (HasFatalFailure()) return;
  create("rep", 6);
  if (HasFatalFailure()) return;
  // Every broker shows the same leaders, replicas and in-sync sets, in /v1/cluster and v3.
  const auto first = cluster_state(port(1));
  for (int id = 2; id <= 3; ++id) {
    const auto other = cluster_state(port(id));
    for (int p = 0; p < 6; ++p) {
      EXPECT_EQ(other.partitions.at({"rep", p}).leader, first.partitions.at({"rep", p}).leader);
      EXPECT_EQ(other.partitions.at({"rep", p}).replicas, first.partitions.at({"rep", p}).replicas);
      EXPECT_EQ(other.partitions.at({"rep", p}).isr, first.partitions.at({"rep", p}).isr);
    }
    auto replicas = http_request(
        port(id), "GET", "/v3/clusters/" + cluster_id_ + "/topics/rep/partitions/0/replicas");
    EXPECT_EQ(replicas.status, 200);
    size_t in_sync = 0;
    for (size_t at = 0; (at = replicas.body.find(R"("is_in_sync":true)", at)) != std::string::npos;
         ++at) {
      ++in_sync;
    }
    EXPECT_EQ(in_sync, 3u) << replicas.body;
  }
  // 4 connections produce acks=all to the whole topic, through every broker.
  std::atomic<int> failures{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&, t] {
      const uint16_t via = port(t % 3 + 1);
      for (int i = 0; i < 20; ++i) {
        std::string body = R"({"records":[)";
        for (int k = 0; k < 5; ++k) {
          body += (k ? "," : "") + std::string(R"({"key":"k)") +
                  std::to_string(t * 1000 + i * 5 + k) + R"(","value":)" + std::to_string(i) + "}";
        }
        body += "]}";
        auto r = http_request(via, "POST", "/topics/rep?acks=all", body, kJsonV2);
        if (r.status != 200 || r.body.find(R"("error")") == std::string::npos ||
            r.body.find(R"("error":")") != std::string::npos) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(failures.load(), 0);
  // Everything acknowledged is below the high watermark, which every replica holds.
  int64_t total = 0;
  for (int p = 0; p < 6; ++p) {
    auto info = partition(1, "rep", p);
    auto offsets =
        http_request(port(1), "GET", "/topics/rep/partitions/" + std::to_string(p) + "/offsets");
    simdjson::dom::parser parser;
    total += parser.parse(offsets.body)["end_offset"].get_int64().value();
  }
  EXPECT_EQ(total, 4 * 20 * 5);
  for (auto& b : brokers_) ASSERT_EQ(b->terminate(), 0) << b->output();
  for (int p = 0; p < 6; ++p) {
    const auto reference = expect_same_log("rep-" + std::to_string(p), {1, 2, 3});
    EXPECT_NE(reference.find("baseOffset"), std::string::npos) << reference;
  }
  expect_verified();
}

// kill -9 of the leader in the middle of acks=all traffic: a survivor takes acks=all within
// 5 s, every acknowledged record is where its answer said, the high watermark a consumer
// polls never goes back, and the old leader comes back as a follower whose log matches.
TEST_F(ReplicationTest, AKilledLeaderLosesNoAcknowledgedRecordAndRejoinsAsAFollower) {
  start();
  if (HasFatalFailure()) return;
  create("fo", 1);
  if (HasFatalFailure()) return;
  const int64_t leader = partition(1, "fo", 0).leader;
  const int64_t via = leader % 3 + 1;           // produces through this survivor
  const int64_t poller = (leader + 1) % 3 + 1;  // and polls the high watermark through this one
  std::mutex mu;
  std::map<std::string, int64_t> acked;  // value -> offset
  std::map<std::string, int64_t> unconfirmed;
  std::atomic<bool> stop{false};
  std::atomic<bool> killed{false};
  std::atomic<int64_t> first_after_kill_ms{-1};
  std::chrono::steady_clock::time_point kill_time;
  std::thread producer([&] {
    for (int n = 0; n < 20000 && !stop; ++n) {
      const std::string value = "v" + std::to_string(n);
      const bool after_kill = killed.load();
      auto r = produce_one(port(via), "fo", 0, value);
      std::lock_guard lock(mu);
      if (r.offset >= 0) {
        acked[value] = r.offset;
        if (after_kill && first_after_kill_ms < 0) {
          first_after_kill_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - kill_time)
                                    .count();
        }
      } else if (r.error_code == 50304) {
        unconfirmed[value] = 1;
      } else if (r.error_code != 50302 && r.error_code != 50303) {
        ADD_FAILURE() << "unexpected answer: " << r.status << " " << r.body;
      }
      if (r.offset < 0) std::this_thread::sleep_for(20ms);  // a client's retry back-off
    }
  });
  std::atomic<bool> hw_went_back{false};
  std::thread watcher([&] {
    int64_t seen = 0;
    while (!stop) {
      try {
        auto r = http_request(port(poller), "GET", "/topics/fo/partitions/0/offsets");
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        if (r.status == 200 && !parser.parse(r.body).get(doc)) {
          const int64_t end = doc["end_offset"].get_int64().value();
          if (end < seen) hw_went_back = true;
          seen = std::max(seen, end);
        }
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(20ms);
    }
  });
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return acked.size() >= 30;
  }));
  {
    std::lock_guard lock(mu);
    kill_time = std::chrono::steady_clock::now();
  }
  broker(leader).kill9();
  killed = true;
  const bool recovered = eventually([&] { return first_after_kill_ms.load() >= 0; }, 15s);
  std::this_thread::sleep_for(500ms);
  stop = true;
  producer.join();
  watcher.join();
  ASSERT_TRUE(recovered);
  EXPECT_LT(first_after_kill_ms.load(), 5000) << "first acks=all success after the kill";
  EXPECT_FALSE(hw_went_back.load());
  // Every acknowledged record is at its offset, through every survivor.
  for (int64_t id : {via, poller}) {
    expect_acknowledged_records(read_all(port(id), "fo", 0), acked, unconfirmed);
    if (HasFatalFailure()) return;
  }
  // The old leader comes back, cuts what it alone had, catches up and rejoins the ISR.
  broker(leader).restart();
  ASSERT_TRUE(eventually([&] { return all_in_sync("fo", 1, 3); }, 30s));
  ASSERT_TRUE(eventually([&] {
    const auto now_leader = partition(via, "fo", 0).leader;
    auto r = produce_one(port(now_leader), "fo", 0, "after");
    return r.offset >= 0;
  }));
  // Let the follower fetch the last record, then compare the three logs.
  std::this_thread::sleep_for(1s);
  for (auto& b : brokers_) ASSERT_EQ(b->terminate(), 0) << b->output();
  expect_same_log("fo-0", {via, poller, leader});
  expect_verified();
}

// Both followers stop (SIGSTOP): once their leases expire the ISR is the leader alone, and
// acks=all is refused before anything is appended; they come back into the ISR on SIGCONT.
TEST_F(ReplicationTest, AcksAllIsRefusedBelowMinInsyncReplicasAndResumesWhenFollowersReturn) {
  start();
  if (HasFatalFailure()) return;
  create("iso", 1);
  if (HasFatalFailure()) return;
  const int64_t leader = partition(1, "iso", 0).leader;
  ASSERT_GE(produce_one(port(leader), "iso", 0, "before").offset, 0);
  std::vector<int64_t> followers;
  for (int64_t id = 1; id <= 3; ++id) {
    if (id != leader) followers.push_back(id);
  }
  for (int64_t id : followers) ::kill(broker(id).pid(), SIGSTOP);
  const bool shrunk = eventually(
      [&] { return partition(leader, "iso", 0).isr == std::vector<int64_t>{leader}; }, 15s);
  Produced refused;
  if (shrunk) refused = produce_one(port(leader), "iso", 0, "refused");
  auto end = http_request(port(leader), "GET", "/topics/iso/partitions/0/offsets");
  auto metrics = http_request(port(leader), "GET", "/metrics");
  for (int64_t id : followers) ::kill(broker(id).pid(), SIGCONT);
  ASSERT_TRUE(shrunk);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.error_code, 50303) << refused.body;
  EXPECT_NE(refused.body.find("ISR [" + std::to_string(leader) + "], min.insync.replicas 2"),
            std::string::npos)
      << refused.body;
  EXPECT_NE(end.body.find(R"("end_offset":1)"), std::string::npos) << end.body;
  EXPECT_NE(metrics.body.find("\nsluice_under_min_isr_partitions 1\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("\nsluice_under_replicated_partitions 1\n"), std::string::npos);
  EXPECT_NE(metrics.body.find(R"(sluice_partition_in_sync_replicas{topic="iso",partition="0"} 1)"),
            std::string::npos);
  ASSERT_TRUE(eventually([&] { return all_in_sync("iso", 1, 3); }, 30s));
  EXPECT_EQ(produce_one(port(leader), "iso", 0, "after").offset, 1);
  for (int64_t id : followers) {
    const auto log = read_all(port(id), "iso", 0);
    EXPECT_EQ(log.size(), 2u);
  }
}

// A leader paused past its session timeout while a request waits for it: a new leader takes
// over and takes writes; the old one, resumed, acknowledges nothing it alone holds and follows.
TEST_F(ReplicationTest, AZombieLeaderAcknowledgesNothingAndBecomesAFollower) {
  start();
  if (HasFatalFailure()) return;
  create("z", 1);
  if (HasFatalFailure()) return;
  const int64_t old_leader = partition(1, "z", 0).leader;
  const int64_t other = old_leader % 3 + 1;
  ASSERT_EQ(produce_one(port(old_leader), "z", 0, "first").offset, 0);
  ASSERT_TRUE(stop_process(broker(old_leader).pid()));
  // A request parked in the paused leader's socket.
  RawSocket parked(port(old_leader));
  const std::string body = R"({"records":[{"value":"parked"}]})";
  parked.send(
      "POST /topics/z/partitions/0?acks=all HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/vnd.kafka.json.v2+json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  const bool moved = eventually(
      [&] {
        const auto p = partition(other, "z", 0);
        return p.leader >= 0 && p.leader != old_leader;
      },
      15s);
  int64_t new_leader = -1;
  Produced taken;
  if (moved) {
    new_leader = partition(other, "z", 0).leader;
    taken = produce_one(port(new_leader), "z", 0, "taken");
  }
  ::kill(broker(old_leader).pid(), SIGCONT);
  ASSERT_TRUE(moved);
  EXPECT_EQ(taken.offset, 1) << taken.body;
  const std::string answer = parked.read_until("\r\n\r\n{", 40000) + parked.read_until("}", 2000);
  // Refused before the append (the old leader knows it is fenced), refused as not confirmed,
  // or (its view already new) forwarded to the new leader, which stored it: never a success
  // for what only the old leader holds.
  const bool refused = answer.find("50302") != std::string::npos;
  const bool unconfirmed = answer.find("50304") != std::string::npos;
  const bool forwarded_ok = answer.find("200 OK") != std::string::npos;
  EXPECT_TRUE(refused || unconfirmed || forwarded_ok) << answer;
  ASSERT_TRUE(eventually([&] { return all_in_sync("z", 1, 3); }, 30s));
  const auto log = read_all(port(new_leader), "z", 0);
  EXPECT_EQ(log.at(0), "first");
  EXPECT_EQ(log.at(1), "taken");
  if (forwarded_ok) {
    EXPECT_EQ(log.size(), 3u);
  }
  std::this_thread::sleep_for(1s);
  for (auto& b : brokers_) ASSERT_EQ(b->terminate(), 0) << b->output();
  expect_same_log("z-0", {new_leader, old_leader});
}

// The last in-sync replica of a partition loses its lease without losing its data (paused past
// the session timeout; a network partition from etcd does the same): the partition goes
// offline, and once the broker registers again it leads again, even though it started on
// fresh data directories (its new registration names the broker epoch its data dates from).
TEST_F(ReplicationTest, ALastInSyncReplicaThatOnlyLostItsLeaseLeadsAgainWhenItRegistersAgain) {
  start();
  if (HasFatalFailure()) return;
  const Alone alone =
      leader_left_alone("ll", R"({"name":"min.insync.replicas","value":"1"})", "kept");
  if (HasFailure()) return;
  const int64_t leader = alone.leader;
  const int64_t bystander = alone.bystander;
  ::kill(broker(leader).pid(), SIGSTOP);
  const bool offline = eventually([&] { return partition(bystander, "ll", 0).leader == -1; }, 15s);
  ::kill(broker(leader).pid(), SIGCONT);
  ASSERT_TRUE(offline);
  ASSERT_TRUE(eventually([&] { return partition(bystander, "ll", 0).leader == leader; }, 20s));
  Produced after;
  ASSERT_TRUE(eventually([&] {
    after = produce_one(port(leader), "ll", 0, "again");
    return after.offset >= 0;
  })) << after.status
      << " " << after.body;
  EXPECT_EQ(after.offset, 1) << after.body;
  const auto log = read_all(port(bystander), "ll", 0);
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.begin()->second, "kept");
}

// A follower whose data directory is wiped comes back empty, copies the log, and rejoins.
TEST_F(ReplicationTest, AFollowerWithAWipedDataDirectoryCatchesUpBeforeRejoiningTheIsr) {
  start();
  if (HasFatalFailure()) return;
  create("w", 1);
  if (HasFatalFailure()) return;
  const int64_t leader = partition(1, "w", 0).leader;
  const int64_t follower = leader % 3 + 1;
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(produce_one(port(leader), "w", 0, "r" + std::to_string(i)).offset, i);
  }
  ASSERT_EQ(broker(follower).terminate(), 0);
  for (const auto& entry : fs::directory_iterator(broker(follower).data_dir())) {
    fs::remove_all(entry.path());
  }
  ASSERT_TRUE(eventually([&] { return all_in_sync("w", 1, 2); }, 15s));
  const auto r20 = produce_one(port(leader), "w", 0, "r20");
  ASSERT_GE(r20.offset, 0) << r20.status << " " << r20.body;
  broker(follower).restart();
  ASSERT_TRUE(eventually([&] { return all_in_sync("w", 1, 3); }, 30s));
  std::this_thread::sleep_for(500ms);
  for (auto& b : brokers_) ASSERT_EQ(b->terminate(), 0) << b->output();
  const auto reference = expect_same_log("w-0", {leader, follower});
  EXPECT_NE(reference.find("baseOffset: 20"), std::string::npos) << reference;
}

// SIGTERM revokes the lease first, so another in-sync replica leads at once; when the broker
// is back and in sync, the controller gives its preferred replica the leadership back.
TEST_F(ReplicationTest, SigtermHandsLeadershipOverAndThePreferredReplicaTakesItBack) {
  start({"leader.imbalance.check.interval.seconds=1"});
  if (HasFatalFailure()) return;
  create("pl", 1);
  if (HasFatalFailure()) return;
  const auto before = partition(1, "pl", 0);
  const int64_t preferred = before.replicas.front();
  ASSERT_EQ(before.leader, preferred);
  const int64_t other = preferred % 3 + 1;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(produce_one(port(preferred), "pl", 0, "a").offset, i);
  const auto stopped = std::chrono::steady_clock::now();
  ASSERT_EQ(broker(preferred).terminate(), 0);
  Produced after;
  ASSERT_TRUE(eventually([&] {
    after = produce_one(port(other), "pl", 0, "b");
    return after.offset >= 0;
  }));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 3s) << "no handover at SIGTERM";
  EXPECT_EQ(after.offset, 5);
  broker(preferred).restart();
  ASSERT_TRUE(eventually(
      [&] {
        const auto p = partition(other, "pl", 0);
        return p.leader == preferred && p.isr.size() == 3;
      },
      30s));
  EXPECT_GE(partition(other, "pl", 0).leader_epoch, before.leader_epoch + 2);
  const auto back = produce_one(port(other), "pl", 0, "c");
  EXPECT_EQ(back.offset, 6) << back.body;
  const auto log = read_all(port(preferred), "pl", 0);
  EXPECT_EQ(log.size(), 7u);
}

// With unclean.leader.election.enable on a topic, a partition whose in-sync replicas are all
// gone comes back on a live replica that was not in sync (without it, the partition waits for
// its last in-sync replica: ClusterTopicsTest).
TEST_F(ReplicationTest, AnUncleanElectionBringsAPartitionBackOnAReplicaOutsideTheIsr) {
  start();
  if (HasFatalFailure()) return;
  const Alone alone =
      leader_left_alone("u", R"({"name":"unclean.leader.election.enable","value":"True"})", "x");
  if (HasFailure()) return;
  const int64_t leader = alone.leader;
  const int64_t follower = alone.follower;
  const int64_t bystander = alone.bystander;
  ASSERT_EQ(broker(leader).terminate(), 0);
  ASSERT_TRUE(eventually([&] { return partition(bystander, "u", 0).leader == -1; }));
  broker(follower).restart();
  ASSERT_TRUE(eventually([&] { return partition(bystander, "u", 0).leader == follower; }, 20s));
  const auto after = partition(bystander, "u", 0);
  EXPECT_EQ(after.isr, std::vector<int64_t>{follower});
  EXPECT_GT(after.leader_epoch, alone.epoch);
  auto r = http_request(port(bystander), "POST", "/topics/u/partitions/0?acks=1",
                        R"({"records":[{"value":"y"}]})", kJsonV2);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("offset":1)"), std::string::npos) << r.body;
}

// A follower that was away while retention removed the leader's oldest segments cannot continue
// its log: it keeps a copy of it in quarantine, restarts empty at the leader's log start, and
// catches up.
TEST_F(ReplicationTest, AFollowerBehindTheLeadersLogStartRestartsThereKeepingACopy) {
  start({"log.retention.check.interval.ms=200"});
  if (HasFatalFailure()) return;
  auto created = http_request(
      port(1), "POST", "/v3/clusters/" + cluster_id_ + "/topics",
      R"({"topic_name":"rs","partitions_count":1,"replication_factor":3,"configs":[)"
      R"({"name":"segment.bytes","value":"1024"},{"name":"retention.bytes","value":"2048"}]})",
      kJson);
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_TRUE(eventually([&] { return all_in_sync("rs", 1, 3); }));
  const int64_t leader = partition(1, "rs", 0).leader;
  const int64_t follower = leader % 3 + 1;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(produce_one(port(leader), "rs", 0, "old").offset, i);
  std::this_thread::sleep_for(500ms);  // the follower fetches them
  ASSERT_EQ(broker(follower).terminate(), 0);
  ASSERT_TRUE(eventually([&] { return partition(leader, "rs", 0).isr.size() == 2; }));
  for (int i = 0; i < 100; ++i) {
    ASSERT_GE(produce_one(port(leader), "rs", 0, std::string(40, 'n')).offset, 0);
  }
  ASSERT_TRUE(eventually([&] {
    auto r = http_request(port(leader), "GET", "/topics/rs/partitions/0/offsets");
    simdjson::dom::parser parser;
    return parser.parse(r.body)["beginning_offset"].get_int64().value() > 3;
  }));
  broker(follower).restart();
  ASSERT_TRUE(eventually([&] { return all_in_sync("rs", 1, 3); }, 30s));
  const auto quarantine = broker(follower).data_dir() / "quarantine" / "rs-0";
  ASSERT_TRUE(fs::exists(quarantine));
  EXPECT_FALSE(fs::is_empty(quarantine));
  EXPECT_NE(broker(follower).output().find("restarted empty at offset"), std::string::npos);
}

// The last in-sync replica of a partition comes back with its data directory wiped: it is not
// elected (its log no longer holds what was acknowledged), and the partition stays offline,
// also after that broker restarts again with the directories its wiped start created.
TEST_F(ReplicationTest, AWipedLastInSyncReplicaIsNotElected) {
  start();
  if (HasFatalFailure()) return;
  auto created =
      http_request(port(1), "POST", "/v3/clusters/" + cluster_id_ + "/topics",
                   R"({"topic_name":"wl","partitions_count":1,"replication_factor":2})", kJson);
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_TRUE(eventually([&] { return all_in_sync("wl", 1, 2); }));
  const auto before = partition(1, "wl", 0);
  const int64_t leader = before.leader;
  const int64_t follower = before.replicas[0] == leader ? before.replicas[1] : before.replicas[0];
  const int64_t bystander = 6 - leader - follower;
  ASSERT_EQ(produce_one(port(leader), "wl", 0, "kept").offset, 0);
  ASSERT_EQ(broker(follower).terminate(), 0);
  ASSERT_TRUE(eventually([&] { return partition(bystander, "wl", 0).isr.size() == 1; }));
  ASSERT_EQ(broker(leader).terminate(), 0);
  ASSERT_TRUE(eventually([&] { return partition(bystander, "wl", 0).leader == -1; }));
  for (const auto& entry : fs::directory_iterator(broker(leader).data_dir())) {
    fs::remove_all(entry.path());
  }
  broker(leader).restart();
  ASSERT_TRUE(eventually([&] { return cluster_state(port(bystander)).brokers.size() == 2; }));
  std::this_thread::sleep_for(2s);  // several controller passes
  const auto offline = partition(bystander, "wl", 0);
  EXPECT_EQ(offline.leader, -1);
  EXPECT_EQ(offline.isr, std::vector<int64_t>{leader});
  broker(leader).kill9();
  broker(leader).restart();
  ASSERT_TRUE(eventually([&] { return cluster_state(port(bystander)).brokers.size() == 2; }));
  std::this_thread::sleep_for(2s);
  const auto still = partition(bystander, "wl", 0);
  EXPECT_EQ(still.leader, -1);
  EXPECT_EQ(still.isr, std::vector<int64_t>{leader});
}

}  // namespace
}  // namespace sluice::testing
