#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <string>

namespace sluice::cluster {

// Connects `stream` to host:port within `timeout`, the name lookup included (an address needs
// none), for request/answer traffic with another process of the cluster (etcd, a broker), with
// Nagle off: each request is one small write that waits for its answer. The error of the
// lookup or the connect, if any (asio::error::timed_out for a lookup that took too long).
boost::asio::awaitable<boost::beast::error_code> connect_peer(boost::beast::tcp_stream& stream,
                                                              const std::string& host,
                                                              const std::string& port,
                                                              std::chrono::milliseconds timeout);

}  // namespace sluice::cluster
