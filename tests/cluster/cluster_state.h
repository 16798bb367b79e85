#pragma once

// What a broker's GET /v1/cluster says, and a bounded wait, for the cluster tests.
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/cluster/etcd_process.h"
#include "tests/net/broker_process.h"
#include "tests/net/http_client.h"

namespace sluice::testing {

using namespace std::chrono_literals;

struct PartitionInfo {
  int64_t leader = -1;
  int64_t leader_epoch = 0;
  std::vector<int64_t> replicas;
  std::vector<int64_t> isr;
  int64_t high_watermark = -1;  // -1: null (not the leader)
};

struct ClusterState {
  std::string cluster_id;
  int64_t controller = -1;                 // -1: none
  std::map<int64_t, std::string> brokers;  // id -> url
  std::map<std::pair<std::string, int64_t>, PartitionInfo> partitions;
};

inline ClusterState cluster_state(const HttpTarget& via,
                                  const std::map<std::string, std::string>& headers = {}) {
  auto r = http_request(via, "GET", "/v1/cluster", {}, headers);
  if (r.status != 200) throw std::runtime_error("/v1/cluster: " + std::to_string(r.status));
  simdjson::dom::parser parser;
  auto doc = parser.parse(r.body);
  ClusterState s;
  s.cluster_id = std::string(doc["cluster_id"].get_string().value());
  auto controller = doc["controller"];
  if (controller.is_int64()) s.controller = controller.get_int64().value();
  for (auto b : doc["brokers"].get_array()) {
    s.brokers[b["id"].get_int64().value()] = std::string(b["url"].get_string().value());
  }
  for (auto p : doc["partitions"].get_array()) {
    PartitionInfo info;
    info.leader = p["leader"].get_int64().value();
    info.leader_epoch = p["leader_epoch"].get_int64().value();
    for (auto id : p["replicas"].get_array()) info.replicas.push_back(id.get_int64().value());
    for (auto id : p["isr"].get_array()) info.isr.push_back(id.get_int64().value());
    auto hw = p["high_watermark"];
    info.high_watermark = hw.is_int64() ? hw.get_int64().value() : -1;
    s.partitions[{std::string(p["topic"].get_string().value()),
                  p["partition"].get_int64().value()}] = info;
  }
  return s;
}

inline ClusterState cluster_state(uint16_t port) { return cluster_state(HttpTarget{.port = port}); }

// Polls until `done` holds (bounded: a broken cluster fails the test, never hangs it).
template <class F>
bool eventually(F done, std::chrono::milliseconds limit = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (done()) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// Stops `pid` (SIGSTOP) and waits until every one of its threads is stopped: kill(2) returns
// before the signal takes effect, and a thread still running could take a request sent after.
inline bool stop_process(pid_t pid, std::chrono::milliseconds limit = 2s) {
  if (::kill(pid, SIGSTOP) != 0) return false;
  const auto tasks = std::filesystem::path("/proc") / std::to_string(pid) / "task";
  return eventually(
      [&] {
        std::error_code ec;
        for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
          std::ifstream in(task.path() / "stat");
          std::string stat((std::istreambuf_iterator<char>(in)), {});
          const auto close = stat.rfind(')');
          if (close == std::string::npos || close + 2 >= stat.size()) return false;
          const char state = stat[close + 2];
          if (state != 'T' && state != 't') return false;
        }
        return !ec;
      },
      limit);
}

// An etcd, and brokers that join the cluster it holds (short session timeouts, so that a
// dead broker is seen within about two seconds).
class ClusterFixture : public ::testing::Test {
 protected:
  std::vector<std::string> sets(int id) const {
    return {"broker.id=" + std::to_string(id), "etcd.endpoints=" + etcd_.endpoint(),
            "broker.session.timeout.ms=2000", "broker.heartbeat.interval.ms=200"};
  }
  // Brokers 1..count with `extra` settings, once every one of them sees all of them.
  std::vector<std::unique_ptr<BrokerProcess>> start_brokers(int count,
                                                            const std::vector<std::string>& extra) {
    std::vector<std::unique_ptr<BrokerProcess>> brokers;
    for (int id = 1; id <= count; ++id) {
      BrokerProcess::Options o;
      o.sets = sets(id);
      o.sets.insert(o.sets.end(), extra.begin(), extra.end());
      brokers.push_back(std::make_unique<BrokerProcess>(o));
    }
    const bool joined = eventually([&] {
      for (auto& b : brokers) {
        if (cluster_state(HttpTarget{.port = b->port()}, state_headers_).brokers.size() !=
            static_cast<size_t>(count)) {
          return false;
        }
      }
      return true;
    });
    EXPECT_TRUE(joined) << "brokers did not all register";
    return brokers;
  }
  std::unique_ptr<BrokerProcess> start_broker(int id, std::filesystem::path dir = {}) {
    BrokerProcess::Options o;
    o.sets = sets(id);
    o.data_dir = std::move(dir);
    return std::make_unique<BrokerProcess>(o);
  }

  EtcdProcess etcd_;
  // Sent with start_brokers' /v1/cluster calls (credentials, where brokers ask for them).
  std::map<std::string, std::string> state_headers_;
};

}  // namespace sluice::testing
