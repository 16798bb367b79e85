#pragma once

#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "broker/broker.h"
#include "net/rest/router.h"
#include "tests/temp_dir.h"

namespace sluice::testing {

// The serving half in this process, for handler tests that take milliseconds: a real Broker on
// a temporary directory, and the router with every handler on one io_context run by one
// thread, as one of the server's I/O threads. Requests go to the router directly, without a
// socket; everything else (appends, flushes, the worker) is the real broker's.
class InProcessBroker {
 public:
  struct Options {
    std::vector<std::string> sets;  // --set key=value, over the test defaults
    broker::Broker::Hooks hooks;    // on_append is chained after the front end's own
  };
  explicit InProcessBroker(Options options);
  InProcessBroker() : InProcessBroker(Options{}) {}
  ~InProcessBroker();
  InProcessBroker(const InProcessBroker&) = delete;
  InProcessBroker& operator=(const InProcessBroker&) = delete;

  // Starts a request on the I/O thread; the future holds its reply.
  std::future<net::Reply> start(net::http::verb method, const std::string& target,
                                std::string body = {},
                                const std::map<std::string, std::string>& headers = {});
  net::Reply call(net::http::verb method, const std::string& target, std::string body = {},
                  const std::map<std::string, std::string>& headers = {}) {
    return start(method, target, std::move(body), headers).get();
  }

  broker::Broker& broker() { return *broker_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  net::ApiContext ctx_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<net::Router> router_;
  net::asio::io_context io_;
  net::asio::executor_work_guard<net::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace sluice::testing
