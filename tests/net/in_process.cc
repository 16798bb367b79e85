#include "tests/net/in_process.h"

#include <stdexcept>

#include "config/config.h"

namespace sluice::testing {

InProcessBroker::InProcessBroker(Options options) : work_(io_.get_executor()) {
  std::vector<std::string> sets = {"log.dirs=" + dir_.path().string(), "num.partitions=1"};
  sets.insert(sets.end(), options.sets.begin(), options.sets.end());
  const char* const no_env[] = {nullptr};
  auto config = config::load_broker_config(std::nullopt, sets, no_env);
  auto hooks = std::move(options.hooks);
  auto chained = std::move(hooks.on_append);
  hooks.on_append = [this, chained](const broker::PartitionLog& log) {
    ctx_.waiters.notify(&log);
    if (chained) chained(log);
  };
  broker_ = std::make_unique<broker::Broker>(std::move(config), std::move(hooks));
  if (auto r = broker_->start(); !r) {
    throw std::runtime_error("broker start: " + r.error().message());
  }
  ctx_.broker.store(broker_.get());
  router_ = std::make_unique<net::Router>(ctx_);
  thread_ = std::thread([this] { io_.run(); });
}

InProcessBroker::~InProcessBroker() {
  ctx_.waiters.shut_down();
  work_.reset();
  thread_.join();
  ctx_.broker.store(nullptr);
  (void)broker_->stop();
}

std::future<net::Reply> InProcessBroker::start(net::http::verb method, const std::string& target,
                                               std::string body,
                                               const std::map<std::string, std::string>& headers) {
  net::Request request{method, target, 11};
  request.set(net::http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = std::move(body);
  request.prepare_payload();
  auto promise = std::make_shared<std::promise<net::Reply>>();
  auto future = promise->get_future();
  net::asio::co_spawn(io_, router_->handle(std::move(request)),
                      [promise](std::exception_ptr e, net::Reply reply) {
                        if (e) {
                          promise->set_exception(e);
                        } else {
                          promise->set_value(std::move(reply));
                        }
                      });
  return future;
}

}  // namespace sluice::testing
