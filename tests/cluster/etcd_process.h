#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "tests/temp_dir.h"

namespace sluice::testing {

// A single-member etcd (Debian's /usr/bin/etcd) on free loopback ports with a temporary data
// directory, healthy when the constructor returns. Stopped by its PID when destroyed.
class EtcdProcess {
 public:
  EtcdProcess();
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  uint16_t client_port() const { return client_port_; }
  // "http://127.0.0.1:<client port>", as etcd.endpoints takes it.
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }
  pid_t pid() const { return pid_; }

  // SIGKILL and reap; start() brings it back on the same ports and data.
  void kill9();
  // SIGTERM and reap (bounded, then SIGKILL).
  void stop();
  void start();
  // SIGSTOP / SIGCONT: an etcd that hangs without closing its connections.
  void pause();
  void resume();

 private:
  void wait_healthy();

  std::unique_ptr<TempDir> dir_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  pid_t pid_ = -1;
};

// A loopback port nothing listens on now (bound, then released).
uint16_t free_loopback_port();

}  // namespace sluice::testing
