#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/etcd_codec.h"
#include "common/http_url.h"
#include "common/result.h"

namespace boost::asio::ssl {
class context;
}

namespace sluice::cluster {

namespace asio = boost::asio;

// http://host:port, or https://host:port for an etcd that speaks TLS.
using EtcdEndpoint = HttpAddress;

// "http://host:port[,https://host:port...]" (etcd.endpoints) -> endpoints, or a message naming
// the entry that is not one.
boost::system::result<std::vector<EtcdEndpoint>, std::string> parse_etcd_endpoints(
    std::string_view list);

class EtcdWatch;

// A client of etcd's v3 JSON gateway over HTTP/1.1 (Beast): unary calls on keep-alive
// connections, and watches each on a connection of their own. Nothing here retries: a call
// that fails returns its error and the caller decides (a transaction may have been applied
// when its answer was lost, so only the caller knows whether repeating it is safe).
//
// Endpoints are tried in turn: a call that cannot connect moves to the next one, and the one
// that answered is used first from then on.
//
// Threading: every call must be made on `executor`, which must be a single thread (the
// cluster's own io_context). Lifetimes: the client outlives its calls and watches.
class EtcdClient {
 public:
  struct Options {
    std::vector<EtcdEndpoint> endpoints;
    std::chrono::milliseconds timeout{2000};  // connect, send and answer, per call
    // For https endpoints: the CAs etcd's certificate must chain to, and the client
    // certificate it may ask for (etcd.ssl.*).
    std::shared_ptr<asio::ssl::context> tls;
  };

  EtcdClient(asio::any_io_executor executor, Options options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  asio::awaitable<Result<RangeAnswer>> range(std::string key, std::string range_end = {},
                                             int64_t revision = 0);
  asio::awaitable<Result<EtcdHeader>> put(std::string key, std::string value, int64_t lease = 0);
  asio::awaitable<Result<EtcdHeader>> erase(std::string key, std::string range_end = {});
  asio::awaitable<Result<TxnAnswer>> txn(const Txn& txn);
  asio::awaitable<Result<LeaseAnswer>> grant(int64_t ttl_s);
  // ttl_s 0 in the answer: the lease is gone.
  asio::awaitable<Result<LeaseAnswer>> keepalive(int64_t id);
  asio::awaitable<Result<void>> revoke(int64_t id);

  // A watch of [key, range_end) from start_revision (0: from now); the first answer
  // (created) has arrived when this returns.
  asio::awaitable<Result<std::unique_ptr<EtcdWatch>>> watch(std::string key, std::string range_end,
                                                            int64_t start_revision);

  // Closes every idle connection (a broker stopping, or a test cutting etcd off).
  void close_idle();

  const asio::any_io_executor& executor() const { return executor_; }

 private:
  struct Connection;
  friend class EtcdWatch;
  // POSTs `body` to `path` and returns the answer's status and body.
  asio::awaitable<Result<std::pair<int, std::string>>> call(std::string_view path,
                                                            std::string body);
  asio::awaitable<Result<std::unique_ptr<Connection>>> connect();

  asio::any_io_executor executor_;
  Options options_;
  size_t preferred_ = 0;  // the endpoint that answered last
  std::vector<std::unique_ptr<Connection>> idle_;
};

// One watch stream. next() returns its answers in order, each line of the stream once; after
// an error the watch is dead (create another, from the revision after the last event seen).
class EtcdWatch {
 public:
  ~EtcdWatch();
  asio::awaitable<Result<WatchAnswer>> next();
  // Ends the stream: a next() in progress returns an error.
  void close();

 private:
  friend class EtcdClient;
  struct State;
  explicit EtcdWatch(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace sluice::cluster
