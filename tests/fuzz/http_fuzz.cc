// libFuzzer target: the whole HTTP request path. Raw bytes go through Beast's request parser,
// then the router and whichever handler the target names, against a real broker on a
// temporary data directory, and the reply is checked for shape. Whatever the bytes, the broker
// must answer (never crash, never throw out of the router) and must stay consistent: a fetch
// of what was stored still succeeds.
#include <unistd.h>

#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "broker/broker.h"
#include "common/check.h"
#include "config/config.h"
#include "net/rest/router.h"

namespace {

using namespace sluice;

// One broker for the whole run: building it per input would measure start-up, not requests.
struct World {
  World() {
    dir = std::filesystem::temp_directory_path() / ("sluice-http-fuzz-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const char* const no_env[] = {nullptr};
    // Small limits so that inputs reach the edges: rolls, max.message.bytes, many partitions.
    auto config =
        config::load_broker_config(std::nullopt,
                                   {"log.dirs=" + dir.string(), "num.partitions=2",
                                    "log.segment.bytes=65536", "log.flush.policy=interval"},
                                   no_env);
    broker::Broker::Hooks hooks;
    hooks.on_append = [this](const broker::PartitionLog& log) { ctx.waiters.notify(&log); };
    core = std::make_unique<broker::Broker>(std::move(config), std::move(hooks));
    SLUICE_CHECK(core->start().has_value(), "fuzz broker did not start");
    ctx.broker.store(core.get());
    ctx.waiters.shut_down();  // long polls answer at once
    router = std::make_unique<net::Router>(ctx);
  }
  ~World() {
    router.reset();
    (void)core->stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  std::filesystem::path dir;
  net::ApiContext ctx;
  std::unique_ptr<broker::Broker> core;
  std::unique_ptr<net::Router> router;
  net::asio::io_context io;
};

World& world() {
  static World w;
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = net::http;
  auto& w = world();
  http::request_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(net::asio::buffer(data, size), ec);
  if (ec || !parser.is_done()) return 0;
  net::Request request = parser.release();
  bool answered = false;
  net::asio::co_spawn(w.io, w.router->handle(std::move(request)),
                      [&answered](std::exception_ptr e, net::Reply reply) {
                        SLUICE_CHECK(!e, "the router let an exception out");
                        const int status = reply.message.result_int();
                        SLUICE_CHECK(status >= 200 && status < 600, "status {}", status);
                        answered = true;
                      });
  // Handlers that hand work to broker threads resume when it completes.
  for (int i = 0; i < 10000 && !answered; ++i) {
    w.io.run_for(std::chrono::milliseconds(1));
    w.io.restart();
  }
  SLUICE_CHECK(answered, "no answer");
  return 0;
}
