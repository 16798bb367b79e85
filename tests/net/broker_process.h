#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/temp_dir.h"

namespace sluice::testing {

// The real sluice binary, started on a free loopback port (or options.host) with its own data
// directory.
// Stopped (SIGTERM, then SIGKILL after a bounded wait) when destroyed; never outlives the test.
// Every exit of the broker (terminate, kill9, restart, destruction) fails the running test when
// its output holds a sanitizer report: under ASan, UBSan and TSan, its reports are the test's.
class BrokerProcess {
 public:
  struct Options {
    std::vector<std::string> sets;   // --set key=value, added to the defaults below
    std::filesystem::path data_dir;  // empty: a temporary directory owned by this object
    bool wait_ready = true;          // wait until /readyz answers 200
    // Where it listens (port 0: any), and what runs it: e.g. {"ip", "netns", "exec", "ns1"}
    // with the namespace's address as `host` (tests/cluster/netns.h). The readiness checks
    // then connect from the calling thread's network namespace.
    std::string host = "127.0.0.1";
    std::vector<std::string> command_prefix = {};
  };

  explicit BrokerProcess(Options options);
  BrokerProcess() : BrokerProcess(Options{}) {}
  ~BrokerProcess();
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  uint16_t port() const { return port_; }
  const std::string& host() const { return options_.host; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  // Everything the broker printed so far.
  std::string output() const;
  // Waits (up to `limit`) until the output holds `text`, as a log line written after the
  // answer it follows has been sent; false if it never came.
  bool wait_for_output(std::string_view text,
                       std::chrono::milliseconds limit = std::chrono::seconds(10));

  // SIGTERM and wait for the exit status (bounded).
  int terminate();
  // SIGKILL and reap.
  void kill9();
  // Starts the binary again on the same data directory (a new port).
  void restart();

 private:
  void start();
  void wait_for_port();
  void wait_for_ready();
  int reap(std::chrono::milliseconds timeout);
  void check_output();

  Options options_;
  std::unique_ptr<TempDir> owned_dir_;
  std::filesystem::path data_dir_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  uint16_t port_ = 0;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string output_;    // guarded by mu_
  bool checked_ = false;  // output_ was checked for a sanitizer report
};

// Runs `sluice <args>...` to completion (killed after `timeout`) and returns its exit code
// (-1 when killed) with everything it printed on stdout and stderr. A sanitizer report in that
// output fails the running test.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult run_sluice(const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace sluice::testing
