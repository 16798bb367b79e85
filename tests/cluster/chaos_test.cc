// Chaos (docs/RELIABILITY.md): three brokers and etcd under random faults while producers write
// unique values acks=all through random brokers and a consumer group reads; then everything
// heals and a checker reads it all back. It must find no acknowledged record lost or moved,
// no replica that differs, no duplicate but of a value whose send was not confirmed, and no
// consumer that skipped past a commit.
//
// CHAOS_SECONDS (default 60, 30 in sanitizer builds; `make chaos` runs an hour), CHAOS_SEED
// (default: from the clock, printed), CHAOS_REPORT (a file for the report, as well as the test's
// output) and CHAOS_LOGS (a directory for each broker's log).
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/acked_records.h"
#include "tests/cluster/cluster_state.h"
#include "tests/small_fs.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kPartitions = 6;
const std::string kTopic = "chaos";
const std::map<std::string, std::string> kJson = {{"Content-Type", "application/json"}};
const std::map<std::string, std::string> kV2 = {{"Content-Type", "application/vnd.kafka.v2+json"}};

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoll(v, nullptr, 10) : fallback;
}

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// p50, p99 and max of `values` (milliseconds), "-" when there are none.
std::string percentiles(std::vector<int64_t> values) {
  if (values.empty()) return "-";
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {
    return values[std::min(values.size() - 1, static_cast<size_t>(q * values.size()))];
  };
  std::ostringstream out;
  out << "p50 " << at(0.5) << " ms, p99 " << at(0.99) << " ms, max " << values.back() << " ms ("
      << values.size() << ")";
  return out.str();
}

// What the producers sent: each value's fate.
struct Sent {
  int64_t partition = -1;
  int64_t offset = -1;         // acknowledged here; -1 when never acknowledged
  bool indeterminate = false;  // some send of it got 50304 or no answer
};

class ChaosTest : public ClusterFixture {
 protected:
  enum Fault { kill9, pause, etcd_restart, wipe, clock_skew, disk_full, kFaults };
  static constexpr std::array<const char*, kFaults> kFaultNames = {
      "kill -9 + restart",          "SIGSTOP/SIGCONT",
      "etcd kill -9 + restart",     "wiped data directory",
      "wall clock skew (faketime)", "full disk"};

  void SetUp() override {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    seconds_ = env_int("CHAOS_SECONDS", 30);  // the same checks on slower brokers
#else
    seconds_ = env_int("CHAOS_SECONDS", 60);
#endif
    seed_ = static_cast<uint64_t>(env_int(
        "CHAOS_SEED", std::chrono::system_clock::now().time_since_epoch().count() % 1000000));
    rng_.seed(seed_);
    std::cout << "chaos: " << seconds_ << " s, CHAOS_SEED=" << seed_ << std::endl;
    for (const char* lib : {"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                            "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"}) {
      if (fs::exists(lib)) faketime_ = lib;
    }
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // A sanitizer's runtime must come first among the libraries: no LD_PRELOAD under it.
    faketime_.clear();
#endif
    // Broker 3 keeps its data on a small file system of its own, which the full-disk fault
    // fills.
    small_fs_ = std::make_unique<SmallFs>("1g");
    std::cout << "clock skew: "
              << (faketime_.empty() ? "off (no libfaketime, or a sanitizer build)" : faketime_)
              << "; full disk: "
              << (small_fs_->mounted() ? "on" : "off (" + small_fs_->why_not() + ")") << std::endl;
    for (int id = 1; id <= 3; ++id) {
      BrokerProcess::Options o;
      o.sets = sets(id);
      o.sets.push_back("replica.lag.time.max.ms=3000");
      if (id == 3 && small_fs_->mounted()) {
        o.data_dir = small_fs_->path() / "broker-3";
        fs::create_directories(o.data_dir);
      }
      brokers_.push_back(std::make_unique<BrokerProcess>(o));
      ports_[static_cast<size_t>(id - 1)] = brokers_.back()->port();
    }
    ASSERT_TRUE(eventually([&] { return cluster_state(port(1)).brokers.size() == 3; }));
    const auto cluster = cluster_state(port(1)).cluster_id;
    auto created = http_request(port(1), "POST", "/v3/clusters/" + cluster + "/topics",
                                R"({"topic_name":")" + kTopic + R"(","partitions_count":)" +
                                    std::to_string(kPartitions) + R"(,"replication_factor":3})",
                                kJson);
    ASSERT_EQ(created.status, 201) << created.body;
    ASSERT_TRUE(eventually([&] { return healthy(3); }, std::chrono::seconds(30)));
  }

  void TearDown() override {
    for (auto& b : brokers_) {
      if (b->pid() > 0) ::kill(b->pid(), SIGCONT);
    }
    if (const char* dir = std::getenv("CHAOS_LOGS"); dir && *dir) {
      for (size_t i = 0; i < brokers_.size(); ++i) {
        std::ofstream(fs::path(dir) / ("broker-" + std::to_string(i + 1) + ".log"))
            << history_[i] << brokers_[i]->output();
      }
    }
    if (HasFailure()) {
      for (size_t i = 0; i < brokers_.size(); ++i) {
        const auto out = brokers_[i]->output();
        std::cerr << "===== broker " << i + 1 << " (last 4000 bytes)\n"
                  << out.substr(out.size() > 4000 ? out.size() - 4000 : 0);
      }
    }
  }

  uint16_t port(int64_t id) const { return ports_[static_cast<size_t>(id - 1)].load(); }
  BrokerProcess& broker(int64_t id) { return *brokers_[static_cast<size_t>(id - 1)]; }
  int64_t pick(int64_t from, int64_t to) {
    std::lock_guard lock(rng_mu_);
    return std::uniform_int_distribution<int64_t>(from, to)(rng_);
  }

  // Every partition led by a live broker, with at least `isr` in-sync replicas, as the first
  // broker that answers says.
  // The brokers that are the only in-sync replica of some partition (any live broker's view).
  std::set<int64_t> sole_in_sync_replicas() {
    std::set<int64_t> out;
    for (int id = 1; id <= 3; ++id) {
      try {
        for (const auto& [tp, info] : cluster_state(port(id)).partitions) {
          if (info.isr.size() == 1) out.insert(info.isr.front());
        }
      } catch (const std::exception&) {
      }
    }
    return out;
  }

  bool healthy(size_t isr) {
    for (int id = 1; id <= 3; ++id) {
      if (broker(id).pid() <= 0) continue;
      auto s = cluster_state(port(id));
      for (int p = 0; p < kPartitions; ++p) {
        auto it = s.partitions.find({kTopic, p});
        if (it == s.partitions.end() || it->second.leader < 0 ||
            !s.brokers.contains(it->second.leader) || it->second.isr.size() < isr) {
          return false;
        }
      }
      return true;
    }
    return false;
  }

  // One producer: unique values acks=all to random partitions through random brokers; a send
  // without a clear answer is retried with the same value (as a client would), a refusal is not.
  void produce_loop(int thread) {
    Clock::time_point failing_since{};
    for (int64_t n = 0; !stop_ && n < 10'000'000; ++n) {
      const std::string value = "t" + std::to_string(thread) + "-" + std::to_string(n);
      const int64_t partition = pick(0, kPartitions - 1);
      for (int attempt = 0; attempt < 5 && !stop_; ++attempt) {
        auto r = produce_one(port(pick(1, 3)), kTopic, partition, value);
        std::lock_guard lock(mu_);
        auto& s = sent_[value];
        s.partition = partition;
        ++sends_;
        if (r.offset >= 0) {
          s.offset = r.offset;
          if (failing_since != Clock::time_point{}) {
            outages_.push_back(ms_since(failing_since));
            failing_since = {};
          }
          break;
        }
        if (failing_since == Clock::time_point{}) failing_since = Clock::now();
        // A broker that is down refuses the connection: nothing was sent.
        if (r.status == 0 && r.body.find("refused") != std::string::npos) {
          ++refused_;
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        // Indeterminate: no answer, 50304, or an error another broker passed on without one.
        if (r.status == 0 || r.error_code == 50304 || r.error_code == 50002) {
          s.indeterminate = true;
          ++indeterminate_;
          ++unconfirmed_by_[r.status == 0 ? "no answer" : std::to_string(r.error_code)];
          continue;
        }
        ++refused_;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        break;  // refused: nothing was appended (50302, 50303, ...)
      }
    }
  }

  // A consumer group member reading every partition through random brokers and committing
  // what it read (explicit offsets) now and then. Within a partition it must get offsets
  // without a gap: a record past the next offset is a skip (its position went past what was
  // delivered, or, after a rebuild, past the commit). After a failed call, whose answer may
  // have been lost with the positions already moved, it seeks back to what it has first.
  void consume_loop() {
    std::map<int64_t, int64_t> next;       // partition -> next offset expected
    std::map<int64_t, int64_t> committed;  // as the last acknowledged commit stored it
    std::string name;
    const auto began = Clock::now();
    std::vector<std::string> events;
    auto call = [&](const std::string& method, const std::string& path, const std::string& body,
                    const std::map<std::string, std::string>& headers) {
      const int64_t id = pick(1, 3);
      HttpResponse r;
      try {
        r = http_request(port(id), method, "/consumers/cg" + path, body, headers);
      } catch (const std::exception&) {
      }
      events.push_back(std::to_string(ms_since(began)) + " " + method + " " + path + " via " +
                       std::to_string(id) + ": " + std::to_string(r.status) + " [" +
                       r.header("x-sluice-leader") + "] " + r.body.substr(0, 100));
      if (events.size() > 200) events.erase(events.begin(), events.begin() + 100);
      return r;
    };
    bool have = false;
    bool uncertain = false;
    for (int poll = 0; !stop_ && poll < 10'000'000; ++poll) {
      if (!have) {
        // Created (or there already: a create whose answer was lost), then subscribed; each
        // call retried on the same name, so that no abandoned member holds partitions.
        name = "m" + std::to_string(++instances_);
        int created = 0;
        for (int attempt = 0; attempt < 50 && !stop_ && created != 200 && created != 409;
             ++attempt) {
          created =
              call("POST", "",
                   R"({"name":")" + name + R"(","format":"json","auto.offset.reset":"earliest"})",
                   kV2)
                  .status;
          if (created != 200 && created != 409)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        int subscribed = 0;
        for (int attempt = 0; attempt < 50 && !stop_ && subscribed != 204 && subscribed != 404 &&
                              (created == 200 || created == 409);
             ++attempt) {
          subscribed = call("POST", "/instances/" + name + "/subscription",
                            R"({"topics":[")" + kTopic + R"("]})", kV2)
                           .status;
          if (subscribed != 204) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        have = subscribed == 204;
        // A new member starts where the group committed.
        next = committed;
        uncertain = false;
        continue;
      }
      // After a failed call the answer may have been lost with the positions already moved:
      // seek every partition back to what this member has, as a careful client does.
      if (uncertain && !next.empty()) {
        std::string body = R"({"offsets":[)";
        for (const auto& [p, o] : next) {
          if (body.back() != '[') body += ',';
          body += R"({"topic":")" + kTopic + R"(","partition":)" + std::to_string(p) +
                  R"(,"offset":)" + std::to_string(o) + "}";
        }
        auto sought = call("POST", "/instances/" + name + "/positions", body + "]}", kV2);
        if (sought.status == 404) {
          ++lost_instances_;
          have = false;
          continue;
        }
        if (sought.status != 204) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        ++rewinds_;
        uncertain = false;
      }
      auto r = call("GET", "/instances/" + name + "/records?timeout=200", {}, kAcceptJson);
      if (r.status == 404) {
        std::cout << "member " << name << " lost; its last calls:\n";
        for (size_t i = events.size() > 40 ? events.size() - 40 : 0; i < events.size(); ++i) {
          if (events[i].find("/records") == std::string::npos ||
              events[i].find(": 200") == std::string::npos)
            std::cout << "  " << events[i] << "\n";
        }
        ++lost_instances_;
        have = false;
        continue;
      }
      simdjson::dom::parser parser;
      simdjson::dom::array records;
      if (r.status != 200 || parser.parse(r.body).get(records)) {
        uncertain = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      for (auto record : records) {
        const int64_t p = record["partition"].get_int64().value();
        const int64_t o = record["offset"].get_int64().value();
        auto expected = next.find(p);
        if (expected != next.end() && o > expected->second) {
          std::lock_guard lock(mu_);
          skips_.push_back(kTopic + "-" + std::to_string(p) + ": expected offset " +
                           std::to_string(expected->second) + ", got " + std::to_string(o));
          if (skips_.size() <= 3) {  // what led to it, for the first few
            std::cout << "consumer skip in " << kTopic << "-" << p
                      << "; the member's last calls:\n";
            for (size_t i = events.size() > 12 ? events.size() - 12 : 0; i < events.size(); ++i) {
              std::cout << "  " << events[i] << "\n";
            }
          }
        }
        next[p] = o + 1;
        ++consumed_;
      }
      if (poll % 5 == 4 && !next.empty()) {
        std::string body = R"({"offsets":[)";
        for (const auto& [p, o] : next) {
          if (body.back() != '[') body += ',';
          body += R"({"topic":")" + kTopic + R"(","partition":)" + std::to_string(p) +
                  R"(,"offset":)" + std::to_string(o - 1) + "}";
        }
        auto c = call("POST", "/instances/" + name + "/offsets", body + "]}", kV2);
        if (c.status == 200) committed = next;
        if (c.status == 404) {
          ++lost_instances_;
          have = false;
        }
      }
    }
  }

  // Until `victim` leads no partition, as a survivor sees it (bounded): the failover time.
  void time_failover(int64_t victim, Clock::time_point since) {
    const int64_t survivor = victim % 3 + 1;
    const bool moved = eventually(
        [&] {
          auto s = cluster_state(port(survivor));
          for (int p = 0; p < kPartitions; ++p) {
            if (s.partitions.at({kTopic, p}).leader == victim) return false;
          }
          return true;
        },
        std::chrono::seconds(15));
    if (moved) failovers_.push_back(ms_since(since));
  }

  void restart(int64_t id) {
    history_[static_cast<size_t>(id - 1)] += broker(id).output();
    broker(id).restart();
    ports_[static_cast<size_t>(id - 1)] = broker(id).port();
  }

  void fault_round() {
    auto fault = static_cast<Fault>(pick(0, kFaults - 1));
    if (fault == clock_skew && faketime_.empty()) fault = kill9;
    if (fault == disk_full && !small_fs_->mounted()) fault = pause;
    int64_t victim = fault == disk_full ? 3 : pick(1, 3);
    // A wiped disk on the only in-sync replica of a partition leaves it offline for good with
    // unclean election off (by design: no other replica may lead it), and the checker could
    // then read nothing back: that double fault is left out.
    if (fault == wipe) {
      const auto alone = sole_in_sync_replicas();
      if (alone.contains(victim)) {
        victim = -1;
        for (int64_t id = 1; id <= 3 && victim < 0; ++id) {
          if (!alone.contains(id)) victim = id;
        }
        if (victim < 0) {
          fault = kill9;
          victim = pick(1, 3);
        }
      }
    }
    const auto hold = std::chrono::milliseconds(pick(500, 3000));
    const auto start = Clock::now();
    ++faults_[fault];
    switch (fault) {
      case kill9:
        broker(victim).kill9();
        time_failover(victim, start);
        std::this_thread::sleep_until(start + hold);
        restart(victim);
        break;
      case pause:
        ::kill(broker(victim).pid(), SIGSTOP);
        // Past the session timeout now and then, so that the paused broker is deposed.
        std::this_thread::sleep_until(start + hold);
        ::kill(broker(victim).pid(), SIGCONT);
        break;
      case etcd_restart:
        etcd_.kill9();
        std::this_thread::sleep_until(start + hold);
        etcd_.start();
        break;
      case wipe:
        broker(victim).kill9();
        time_failover(victim, start);
        for (const auto& entry : fs::directory_iterator(broker(victim).data_dir())) {
          fs::remove_all(entry.path());
        }
        restart(victim);
        break;
      case clock_skew: {
        // Its wall clock an hour ahead or behind; its monotonic clock untouched.
        broker(victim).kill9();
        ::setenv("LD_PRELOAD", faketime_.c_str(), 1);
        ::setenv("FAKETIME", pick(0, 1) ? "+1h" : "-1h", 1);
        ::setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
        restart(victim);
        ::unsetenv("LD_PRELOAD");
        ::unsetenv("FAKETIME");
        ::unsetenv("FAKETIME_DONT_FAKE_MONOTONIC");
        std::this_thread::sleep_until(start + hold);
        skewed_ = victim;
        break;
      }
      case disk_full:
        small_fs_->fill();
        std::this_thread::sleep_until(start + hold);
        fs::remove(small_fs_->path() / "filler");
        // A log that failed to sync is offline until the broker restarts, as an operator
        // would restart it.
        broker(victim).kill9();
        restart(victim);
        break;
      case kFaults:
        break;
    }
    // The next fault comes once the cluster has a leader for every partition again (or after
    // a bounded wait: faults may also pile up).
    (void)eventually([&] { return healthy(2); }, std::chrono::seconds(20));
  }

  // Each live broker's view of the topic's partitions, for a failure message.
  std::string describe_cluster() {
    std::ostringstream out;
    for (int id = 1; id <= 3; ++id) {
      out << "broker " << id << " (pid " << broker(id).pid() << "):";
      try {
        auto s = cluster_state(port(id));
        for (const auto& [tp, info] : s.partitions) {
          out << " " << tp.first << "-" << tp.second << " leader " << info.leader << " epoch "
              << info.leader_epoch << " isr " << info.isr.size() << " hw " << info.high_watermark
              << ";";
        }
      } catch (const std::exception& e) {
        out << " " << e.what();
      }
      out << "\n";
    }
    return out.str();
  }

  std::string report() const {
    std::ostringstream out;
    out << "seed " << seed_ << ", " << ran_s_ << " s of chaos (of " << seconds_ << " asked), "
        << rounds_ << " rounds\n";
    out << "faults:";
    for (int f = 0; f < kFaults; ++f) out << " " << kFaultNames[f] << " " << faults_[f] << ";";
    out << "\nsends " << sends_ << ", acknowledged " << acknowledged_ << ", refused " << refused_
        << ", indeterminate " << indeterminate_ << " (";
    for (const auto& [why, n] : unconfirmed_by_) out << why << ": " << n << "; ";
    out << ")\n";
    out << "checked " << acknowledged_ << " acknowledged records: lost " << lost_
        << ", at another offset " << moved_ << ", duplicates " << duplicates_
        << " (of unconfirmed sends), unexpected duplicates " << bad_duplicates_ << "\n";
    out << "replicas differing " << differing_ << ", consumer skips " << skips_.size()
        << ", consumed " << consumed_ << ", instances lost " << lost_instances_
        << ", seeks back after a failed call " << rewinds_ << "\n";
    out << "unavailability windows (a producer's first failure to its next success): "
        << percentiles(outages_) << "\n";
    out << "failover (fault to no partition led by the victim): " << percentiles(failovers_)
        << "\n";
    return out.str();
  }

  int64_t seconds_ = 60;
  uint64_t seed_ = 0;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
  std::string faketime_;
  std::unique_ptr<SmallFs> small_fs_;
  std::vector<std::unique_ptr<BrokerProcess>> brokers_;
  std::array<std::string, 3> history_;  // what each broker printed before its last restart
  std::array<std::atomic<uint16_t>, 3> ports_{};
  std::atomic<bool> stop_{false};
  int64_t skewed_ = -1;

  std::mutex mu_;
  std::map<std::string, Sent> sent_;                     // guarded by mu_
  std::map<std::string, int64_t> unconfirmed_by_;        // guarded by mu_: cause -> sends
  std::vector<int64_t> outages_;                         // guarded by mu_
  std::vector<std::string> skips_;                       // guarded by mu_
  int64_t sends_ = 0, refused_ = 0, indeterminate_ = 0;  // guarded by mu_
  std::atomic<int64_t> consumed_{0}, lost_instances_{0}, instances_{0}, rewinds_{0};
  std::vector<int64_t> failovers_;
  std::array<int64_t, kFaults> faults_{};
  int64_t rounds_ = 0;
  int64_t ran_s_ = 0;  // how long the faults went on
  int64_t acknowledged_ = 0, lost_ = 0, moved_ = 0, duplicates_ = 0, bad_duplicates_ = 0,
          differing_ = 0;
};

TEST_F(ChaosTest, RandomFaultsLoseNoAcknowledgedRecord) {
  if (HasFatalFailure()) return;
  std::vector<std::thread> workers;
  workers.emplace_back([this] { produce_loop(0); });
  workers.emplace_back([this] { produce_loop(1); });
  workers.emplace_back([this] { consume_loop(); });
  // The workers stop and are joined however this test ends.
  struct Guard {
    std::function<void()> done;
    ~Guard() { done(); }
  } joiner{[&] {
    stop_ = true;
    for (auto& w : workers) {
      if (w.joinable()) w.join();
    }
  }};
  // A broker that does not come back (restart() throws) is a finding: it is reported, and
  // started again at the heal.
  std::vector<std::string> fault_errors;
  std::set<int64_t> down;
  const auto began = Clock::now();
  const auto deadline = began + std::chrono::seconds(seconds_);
  while (Clock::now() < deadline && fault_errors.size() < 3) {
    try {
      fault_round();
    } catch (const std::exception& e) {
      const std::string what = e.what();
      fault_errors.push_back("round " + std::to_string(rounds_) + ": " +
                             what.substr(what.size() > 3000 ? what.size() - 3000 : 0));
      std::cout << "a fault went wrong: " << fault_errors.back() << std::endl;
      for (int64_t id = 1; id <= 3; ++id) down.insert(id);
    }
    ++rounds_;
    ran_s_ = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - began).count();
  }
  joiner.done();

  // Heal: a skewed clock goes back to true time (and a broker that failed to start is started
  // again), then every partition gets all three replicas in sync.
  if (skewed_ > 0) down.insert(skewed_);
  for (int64_t id : down) {
    broker(id).kill9();
    restart(id);
  }
  ASSERT_TRUE(eventually([&] { return healthy(3); }, std::chrono::seconds(120)))
      << report() << describe_cluster();

  // Read everything back through one broker (its reads go to each partition's leader).
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> found;  // value -> places
  for (int p = 0; p < kPartitions; ++p) {
    std::map<int64_t, std::string> records;
    std::string error;
    ASSERT_TRUE(eventually([&] {
      try {
        records = read_all(port(1), kTopic, p);
        return true;
      } catch (const std::exception& e) {
        error = e.what();
        return false;
      }
    })) << error
        << "\n"
        << describe_cluster();
    for (const auto& [offset, value] : records) found[value].push_back({p, offset});
  }
  std::vector<std::string> problems;
  for (const auto& [value, s] : sent_) {
    auto places = found.find(value);
    const size_t copies = places == found.end() ? 0 : places->second.size();
    if (copies > 1) {
      if (s.indeterminate) {
        duplicates_ += static_cast<int64_t>(copies - 1);
      } else {
        ++bad_duplicates_;
        problems.push_back(value + " stored " + std::to_string(copies) + " times");
      }
    }
    if (s.offset < 0) continue;
    ++acknowledged_;
    if (copies == 0) {
      ++lost_;
      problems.push_back(value + " acknowledged at " + std::to_string(s.partition) + "-" +
                         std::to_string(s.offset) + " is lost");
    } else if (std::find(places->second.begin(), places->second.end(),
                         std::make_pair(s.partition, s.offset)) == places->second.end()) {
      ++moved_;
      problems.push_back(value + " acknowledged at " + std::to_string(s.partition) + "-" +
                         std::to_string(s.offset) + " is elsewhere");
    }
  }
  for (const auto& [value, places] : found) {
    if (!sent_.contains(value)) problems.push_back("a value nobody sent: " + value);
  }

  // Every replica holds the same bytes: compared after a clean stop, with `sluice dump`.
  for (auto& b : brokers_) EXPECT_EQ(b->terminate(), 0);
  for (int p = 0; p < kPartitions; ++p) {
    const std::string dir = kTopic + "-" + std::to_string(p);
    const auto reference = dump(broker(1).data_dir(), dir);
    for (int id = 2; id <= 3; ++id) {
      if (dump(broker(id).data_dir(), dir) != reference) {
        ++differing_;
        problems.push_back("broker " + std::to_string(id) + "'s " + dir +
                           " differs from broker 1's");
      }
    }
  }
  for (const auto& skip : skips_) problems.push_back("consumer skipped: " + skip);
  for (const auto& error : fault_errors) problems.push_back("a fault went wrong: " + error);
  // A member whose subscription was acknowledged is in the offsets topic: no coordinator may
  // forget it.
  if (lost_instances_ > 0) {
    problems.push_back(std::to_string(lost_instances_.load()) + " acknowledged members lost");
  }

  if (lost_instances_ > 0) {
    for (size_t i = 0; i < brokers_.size(); ++i) {
      std::istringstream lines(brokers_[i]->output());
      for (std::string line; std::getline(lines, line);) {
        if (line.find("coordinating") != std::string::npos ||
            line.find("expired") != std::string::npos ||
            line.find("__consumer_offsets") != std::string::npos)
          std::cout << "broker " << i + 1 << ": " << line << "\n";
      }
    }
  }
  const std::string text = report();
  std::cout << text;
  if (const char* path = std::getenv("CHAOS_REPORT"); path && *path) std::ofstream(path) << text;
  for (size_t i = 0; i < problems.size() && i < 20; ++i) ADD_FAILURE() << problems[i];
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems\n" << text;
  EXPECT_GT(acknowledged_, 0);
}

}  // namespace
}  // namespace sluice::testing
