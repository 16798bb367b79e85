#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/temp_dir.h"

namespace sluice::testing {

// A single-member etcd (Debian's /usr/bin/etcd) on free loopback ports (or options.host) with a
// temporary data directory, healthy when the constructor returns. Stopped by its PID when
// destroyed.
class EtcdProcess {
 public:
  struct Options {
    // Where it listens, and what runs it: e.g. {"ip", "netns", "exec", "ns1"} with the
    // namespace's address as `host` (tests/cluster/netns.h), where etcd's own ports 2379 and
    // 2380 are free. The health checks then connect from the calling thread's namespace.
    std::string host = "127.0.0.1";
    std::vector<std::string> command_prefix = {};
    // TLS on the client URL with this certificate and key (PEM); with `client_ca_file`, clients
    // must present a certificate that CA signed (--client-cert-auth). The health checks then
    // use a plain metrics URL on a port of its own.
    std::string cert_file;
    std::string key_file;
    std::string client_ca_file;
  };
  EtcdProcess() : EtcdProcess(Options{}) {}
  explicit EtcdProcess(Options options);
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  uint16_t client_port() const { return client_port_; }
  const std::string& host() const { return options_.host; }
  // "http[s]://<host>:<client port>", as etcd.endpoints takes it.
  std::string endpoint() const {
    return (options_.cert_file.empty() ? "http://" : "https://") + host() + ":" +
           std::to_string(client_port_);
  }
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

  Options options_;
  std::unique_ptr<TempDir> dir_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  uint16_t metrics_port_ = 0;  // TLS only
  pid_t pid_ = -1;
};

// A loopback port nothing listens on now (bound, then released).
uint16_t free_loopback_port();

}  // namespace sluice::testing
