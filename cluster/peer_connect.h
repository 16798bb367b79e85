#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <string>

namespace sluice::cluster {

// Connects `stream` to host:port within `timeout` for request/answer traffic with another
// process of the cluster (etcd, a broker), with Nagle off: each request is one small write that
// waits for its answer. The error of the resolve or the connect, if any.
boost::asio::awaitable<boost::beast::error_code> connect_peer(boost::beast::tcp_stream& stream,
                                                              const std::string& host,
                                                              const std::string& port,
                                                              std::chrono::milliseconds timeout);

}  // namespace sluice::cluster
